"""Former path of ``intershap_widget/engine/draws.py`` (the draw windows); re-exports its names."""

from __future__ import annotations

from .engine.draws import (
    FIRST_ROUND,
    MIN_BLOCK_DRAWS,
    POOL_LIMIT_BYTES,
    ROUND_GROWTH,
    SLOTS_PER_WINDOW,
    BackgroundWindows,
    auto_rounds,
    mix64,
    sample_variance,
)

__all__ = [
    "FIRST_ROUND",
    "MIN_BLOCK_DRAWS",
    "POOL_LIMIT_BYTES",
    "ROUND_GROWTH",
    "SLOTS_PER_WINDOW",
    "BackgroundWindows",
    "auto_rounds",
    "mix64",
    "sample_variance",
]
