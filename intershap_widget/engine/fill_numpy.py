"""The numpy fill backend: masked rows built on the host in reused numpy buffers.

The buffers, the tile and the plan of model calls are ``batching.py``'s
(:class:`~intershap_widget.batching.BatchingMixin`); this module is the backend's side of the
interface the chunk loop calls (see ``engine/__init__.py``). Any model goes this way (a callable,
scikit-learn, ONNX, and a torch module with ``fill="numpy"``).
"""

from __future__ import annotations

from typing import Any

import numpy as np


class NumpyFill:
    """Builds each batch with numpy on the host and calls the model adapter on it."""

    name = "numpy"

    def sums(
        self,
        engine: Any,
        state: Any,
        batch: Any,
        first: int,
        k: int,
        classes: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Sums over the draws of each region of ``batch`` of ``y`` and ``y²``, y = value − shift.

        Args:
            engine: the value engine.
            state: the chunk's ``_ChunkState``.
            batch: the ``_Batch`` to evaluate.
            first: window position of the batch's first draw.
            k: draws per region.
            classes: each region's predicted class (``target="predicted"``), else None.

        Returns:
            Two arrays ``(regions,)`` (``(regions, K)`` for ``target="all"``).
        """
        if batch.cells is None:
            out = engine._call_tile(state, batch)
        else:
            samples = state.samples[batch.samples]
            rows = engine._fill_batch(samples, batch.cells, first, k)
            out = engine._call_coalitions(rows)
        y = engine._targets(out, classes, len(batch.local), k)
        y = y - state.shift[batch.local][:, None]
        return y.sum(axis=1), (y * y).sum(axis=1)
