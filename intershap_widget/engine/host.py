"""Model calls on rows built on the host: the buffers, and the calls of every backend's host path.

Rows are written with vectorised numpy indexing into preallocated buffers (the concatenated
``(rows, D)`` features for an early-fusion model, one buffer per modality otherwise), in batches
of about ``memory_mb`` MiB of input (why a few MiB: docs/BENCHMARKS.md, "Python value engine").
There is one set of buffers per buffer slot (``pipeline.py``): the batch the model reads stays
untouched while the next one is written into the other set.

The probe, v(∅), the strata and the full samples go this way whatever the fill backend (a few
rows per sample and per background row); so do the coalition batches of the numpy backend
(``fill_numpy.py``).

:class:`HostMixin` is one part of :class:`intershap_widget.engine.ValueEngine`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


class HostMixin:
    """Host buffers and model calls of the value engine (see the module text)."""

    def _get_buffers(self, slot: int = 0) -> list[np.ndarray]:
        """The regular buffers of buffer slot ``slot`` (0 or 1), made on first use."""
        if self._buffers is None:
            self._buffers = []
        while len(self._buffers) <= slot:
            self._buffers.append(self._allocate(self._host_rows))
        return self._buffers[slot]

    def _allocate(self, rows: int) -> list[np.ndarray]:
        if self._early:
            return [np.empty((rows, self._D), dtype=self._dtypes[0])]
        return [
            np.empty((rows, d), dtype=dt) for d, dt in zip(self._dims, self._dtypes, strict=True)
        ]

    def largest_batch_input(self) -> np.ndarray:
        """A copy of the input of the largest coalition batch evaluated so far (benchmarks).

        Returns:
            ``(rows, D)`` concatenated features for an early-fusion model, else the first
            modality's rows.

        Raises:
            RuntimeError: no coalition batch has been evaluated yet.
        """
        if self.fill == "torch":
            if self._filler is None or not self._filler.largest:
                raise RuntimeError("no coalition batch evaluated yet: call compute_all() first")
            return self._filler.largest_input()
        if self._largest is None:
            raise RuntimeError("no coalition batch evaluated yet: call compute_all() first")
        buffers, lo, rows = self._largest
        return buffers[0][lo : lo + rows].copy()

    def _views(
        self, rows: int, buffers: list[np.ndarray] | None = None, lo: int = 0
    ) -> list[np.ndarray]:
        """Per-modality ``(rows, d_m)`` views of rows ``lo ..`` of ``buffers`` (default: the regular ones)."""
        buffers = self._get_buffers() if buffers is None else buffers
        if self._early:
            return [buffers[0][lo : lo + rows, cols] for cols in self._cols]
        return [b[lo : lo + rows] for b in buffers]

    def _call(self, rows: int, buffers: list[np.ndarray] | None = None, lo: int = 0) -> np.ndarray:
        buffers = self._get_buffers() if buffers is None else buffers
        if self._early:
            return self._adapter.run_early(buffers[0][lo : lo + rows])
        shapes = self._modalities.shapes
        arrays = [
            b[lo : lo + rows].reshape((rows, *shapes[n]))
            for b, n in zip(buffers, self.names, strict=True)
        ]
        return self._adapter.run_modalities(arrays)

    def _call_coalitions(self, rows: int, buffers: list[np.ndarray], lo: int = 0) -> np.ndarray:
        """``_call`` on a coalition batch, remembering the largest one (``largest_batch_input``)."""
        if self._largest is None or rows >= self._largest[2]:
            self._largest = (buffers, lo, rows)
        return self._call(rows, buffers, lo)

    def _run_rows(self, fill: Callable[[np.ndarray, int, int], Any], rows: int) -> np.ndarray:
        """Fills ``rows`` (≤ the host batch, else split) per modality with ``fill(view, m, rows)`` and calls the model."""
        if rows > self._host_rows:
            raise AssertionError("internal: batch larger than the buffers")
        for m, view in enumerate(self._views(rows)):
            fill(view, m, rows)
        return self._call(rows)

    def _outputs_in_batches(
        self, n: int, fill: Callable[[np.ndarray, int, np.ndarray], Any]
    ) -> np.ndarray:
        """Model outputs ``(n, K)`` of ``n`` rows built on the host, a host batch at a time.

        ``fill(view, m, rows)`` writes modality m of the rows ``rows`` (indices in ``0 .. n-1``).
        """
        outs = []
        for lo in range(0, n, self._host_rows):
            rows = np.arange(lo, min(lo + self._host_rows, n))
            outs.append(
                self._run_rows(lambda view, m, _, rows=rows: fill(view, m, rows), len(rows))
            )
        return np.concatenate(outs, axis=0)

    def _full_outputs(self, s_idx: np.ndarray) -> np.ndarray:
        return self._outputs_in_batches(
            len(s_idx), lambda view, m, rows: np.take(self._x[m], s_idx[rows], axis=0, out=view)
        )
