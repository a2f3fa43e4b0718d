"""Former path of ``intershap_widget/engine/targets.py`` (probe, v(∅), targets, strata); re-exports its names."""

from __future__ import annotations

from .engine.targets import DEFAULT_TOLERANCE, STRATA_ROW_SHARE, TargetsMixin

__all__ = ["DEFAULT_TOLERANCE", "STRATA_ROW_SHARE", "TargetsMixin"]
