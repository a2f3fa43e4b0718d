"""The numpy fill backend: masked rows built on the host, in reused numpy buffers.

Any model goes this way (a callable, scikit-learn, ONNX, and a torch module on the CPU). Each
batch of the plan (``plan.py``) is written into one set of host buffers (``host.py``): present
modalities broadcast from the sample, absent ones copied from the draw windows (``draws.py``),
or, for the tile, only the present modalities, the absent ones having been written once.

The backend's side of the interface the chunk loop calls (``chunks.py``, ``pipeline.py``) is
:class:`NumpyFill`: :meth:`~NumpyFill.prepare` builds a batch's input into a buffer slot (it may
run on the pipeline's helper thread, and touches nothing but that slot's buffers), and
:meth:`~NumpyFill.sums` calls the model on it and sums the explained values (on the engine's
thread).

:class:`NumpyFillMixin` is one part of :class:`intershap_widget.engine.ValueEngine`.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ..value_tables import _ChunkState
from .plan import _Batch, _Tile


class NumpyFillMixin:
    """Writing masked rows into host buffers, and the tile (see the module text)."""

    def _fill_batch(
        self,
        samples: np.ndarray,
        cells: np.ndarray,
        r0: int,
        k: int,
        buffers: list[np.ndarray],
        lo: int = 0,
        absent: bool = True,
        present: bool = True,
    ) -> int:
        """Writes the masked rows of ``cells × samples × draws[r0:r0+k]``; returns their number.

        The rows go into rows ``lo ..`` of ``buffers``.

        Layout ``(coalition, sample, draw)``. Present modalities are broadcast from the sample;
        absent ones come from the background rows of the draws (see ``draws.py``). ``absent`` /
        ``present`` False skip that part (the tile writes each part at a different time).
        """
        n_s = len(samples)
        per_cell = n_s * k
        rows = len(cells) * per_cell
        views = self._views(rows, buffers, lo)
        xs: list[np.ndarray] = []
        if present:
            contiguous = n_s > 0 and samples[-1] - samples[0] == n_s - 1
            xs = [x[samples[0] : samples[0] + n_s] if contiguous else x[samples] for x in self._x]
        for j, cell in enumerate(cells.tolist()):
            start, stop = j * per_cell, (j + 1) * per_cell
            is_present = [(cell >> m) & 1 == 1 for m in range(self.M)]
            if absent and self._windows is None:
                for m, view in enumerate(views):
                    if not is_present[m]:
                        view[start:stop] = self._rows[m][0]
            elif absent:
                coalition = 0 if self.common_draws else cell - 1
                whole = buffers[0][lo : lo + rows] if self._early else None
                self._fill_absent(views, whole, is_present, start, samples, coalition, r0, k)
            for m, view in enumerate(views if present else []):
                if is_present[m]:
                    view[start:stop].reshape(n_s, k, -1)[...] = xs[m][:, None, :]
        return rows

    def _fill_absent(
        self,
        views: list[np.ndarray],
        whole: np.ndarray | None,
        present: list[bool],
        lo: int,
        samples: np.ndarray,
        coalition: int,
        r0: int,
        k: int,
    ) -> None:
        """Absent modalities of one coalition's rows ``lo ..`` of ``views``, from the draw windows.

        ``whole``: the full-width rows behind ``views`` (early fusion).
        """
        windows = self._windows
        assert windows is not None
        absent = [m for m in range(self.M) if not present[m]]
        if windows.copies_blocks(k):
            starts = windows.starts(samples, coalition).tolist()
            for i, start in enumerate(starts):
                base = lo + i * k
                for src_lo, src_hi, offset in windows.blocks(start, r0, k):
                    dst = slice(base + offset, base + offset + src_hi - src_lo)
                    for m in absent:
                        views[m][dst] = windows.pool[m][src_lo:src_hi]
            return
        idx = windows.row_indices(samples, coalition, r0, k)
        hi = lo + len(idx)
        if windows.concat is not None:
            # One contiguous gather of whole rows, then the present blocks are overwritten: cheaper
            # than gathering into strided column blocks once the absent part is about half the row.
            absent_dims = sum(self._dims[m] for m in absent)
            if 2 * absent_dims >= self._D - absent_dims:
                assert whole is not None
                np.take(windows.concat, idx, axis=0, out=whole[lo:hi], mode="clip")
                return
            for m in absent:
                views[m][lo:hi] = windows.pool[m][idx]
            return
        for m in absent:
            np.take(windows.pool[m], idx, axis=0, out=views[m][lo:hi], mode="clip")

    def _tile_buffers(self, tile: _Tile, slot: int = 0) -> list[np.ndarray]:
        """The tile's buffers of buffer slot ``slot``, with the absent modalities of every copy written (once)."""
        if tile.buffers is None:
            tile.buffers = []
        while len(tile.buffers) <= slot:
            assert self._windows is not None
            g, k = tile.slots, tile.draws
            block_rows = len(self._cells) * g * k
            buffers = self._allocate(tile.copies * block_rows)
            # a sample of each slot, in slot order: only their slots matter for the windows
            by_slot = np.argsort(self._windows.slot_of(np.arange(g)))
            for copy in range(tile.copies):
                self._fill_batch(
                    by_slot, self._cells, 0, k, buffers, copy * block_rows, present=False
                )
            tile.buffers.append(buffers)
        return tile.buffers[slot]

    def _fill_tile(
        self, state: _ChunkState, batch: _Batch, slot: int
    ) -> tuple[list[np.ndarray], int, int]:
        """Writes the present modalities of a tile batch's regions; returns (buffers, first row, rows).

        Consecutive regions of one coalition are consecutive slots of one block: one broadcast
        each. (Adjacent runs always differ in coalition: there are at least 2 coalitions.)
        """
        tile = self._tile
        assert tile is not None
        k = tile.draws
        buffers = self._tile_buffers(tile, slot)
        positions = batch.positions
        bounds = [
            0,
            *(np.flatnonzero(positions[1:] != positions[:-1]) + 1).tolist(),
            len(positions),
        ]
        for r0, r1 in itertools.pairwise(bounds):
            self._fill_batch(
                state.samples[batch.local[r0:r1]],
                self._cells[positions[r0] : positions[r0] + 1],
                0,
                k,
                buffers,
                (batch.tile_from + r0) * k,
                absent=False,
            )
        return buffers, batch.tile_from * k, len(positions) * k


class NumpyFill:
    """Builds each batch with numpy on the host and calls the model adapter on it."""

    name = "numpy"
    #: whether :meth:`prepare` does the building, so that it pays to run it ahead (``pipeline.py``)
    builds_ahead = True

    def prepare(
        self, engine: Any, state: _ChunkState, batch: _Batch, first: int, k: int, slot: int
    ) -> tuple[list[np.ndarray], int, int]:
        """Writes the input rows of ``batch`` into the buffers of buffer slot ``slot``.

        May run on the pipeline's helper thread while the model runs the batch of the other slot.

        Args:
            engine: the value engine.
            state: the chunk's ``_ChunkState`` (only its samples are read).
            batch: the ``_Batch`` to build.
            first: window position of the batch's first draw.
            k: draws per region.
            slot: the buffer slot (0 or 1).

        Returns:
            ``(buffers, first row, rows)``: where the batch's input lies.
        """
        if batch.cells is None:
            return engine._fill_tile(state, batch, slot)
        buffers = engine._get_buffers(slot)
        rows = engine._fill_batch(state.samples[batch.samples], batch.cells, first, k, buffers)
        return buffers, 0, rows

    def sums(
        self,
        engine: Any,
        state: _ChunkState,
        batch: _Batch,
        ready: tuple[list[np.ndarray], int, int],
        first: int,
        k: int,
        classes: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Sums over the draws of each region of ``batch`` of ``y`` and ``y²``, y = value − shift.

        Args:
            engine: the value engine.
            state: the chunk's ``_ChunkState``.
            batch: the ``_Batch`` to evaluate.
            ready: what :meth:`prepare` returned for it.
            first: window position of the batch's first draw.
            k: draws per region.
            classes: each region's predicted class (``target="predicted"``), else None.

        Returns:
            Two arrays ``(regions,)`` (``(regions, K)`` for ``target="all"``).
        """
        buffers, lo, rows = ready
        out = engine._call_coalitions(rows, buffers, lo)
        y = engine._targets(out, classes, len(batch.local), k)
        y = y - state.shift[batch.local][:, None]
        return y.sum(axis=1), (y * y).sum(axis=1)
