"""Former path of ``intershap_widget/engine/chunks.py`` (one chunk of samples); re-exports its names."""

from __future__ import annotations

from .engine.chunks import ChunksMixin, _Cancelled

__all__ = ["ChunksMixin", "_Cancelled"]
