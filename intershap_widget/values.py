"""Former home of the value engine, kept so that ``intershap_widget.values`` still imports.

The engine is the package ``intershap_widget/engine/`` (``engine/__init__.py`` maps its modules);
this module re-exports the names it held.
"""

from __future__ import annotations

from .engine.draws import FIRST_ROUND, ROUND_GROWTH, BackgroundWindows, auto_rounds
from .engine.engine import DEFAULT_CHUNK_SAMPLES, DEFAULT_DRAWS, ValueEngine, compute_values
from .engine.plan import TILE_LIMIT_BYTES
from .engine.targets import DEFAULT_TOLERANCE, STRATA_ROW_SHARE
from .value_tables import ValueChunk, ValueResult

__all__ = [
    "DEFAULT_CHUNK_SAMPLES",
    "DEFAULT_DRAWS",
    "DEFAULT_TOLERANCE",
    "FIRST_ROUND",
    "ROUND_GROWTH",
    "STRATA_ROW_SHARE",
    "TILE_LIMIT_BYTES",
    "BackgroundWindows",
    "ValueChunk",
    "ValueEngine",
    "ValueResult",
    "auto_rounds",
    "compute_values",
]
