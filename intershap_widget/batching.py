"""Former home of the batching part of the engine; re-exports its names from ``engine/``.

What it held is now ``engine/plan.py`` (which rows go into which model call, the tile),
``engine/host.py`` (the host buffers and model calls) and ``engine/fill_numpy.py`` (writing the
masked rows). :class:`BatchingMixin` is those three parts together, as before.
"""

from __future__ import annotations

from .engine.fill_numpy import NumpyFillMixin
from .engine.host import HostMixin
from .engine.plan import TILE_LIMIT_BYTES, PlanMixin, _Batch, _Tile

__all__ = ["TILE_LIMIT_BYTES", "BatchingMixin", "_Batch", "_Tile"]


class BatchingMixin(NumpyFillMixin, HostMixin, PlanMixin):
    """Buffers, filling masked rows, the tile and the plan of model calls (``engine/``)."""
