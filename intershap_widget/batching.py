"""How masked rows reach the model: buffers, filling, the tile, and the plan of model calls.

Masked inputs are written with vectorised numpy indexing into preallocated buffers (the
concatenated ``(rows, D)`` features for early-fusion models, one buffer per modality otherwise),
in batches of about ``memory_mb`` MiB of input. Within a batch the rows are laid out
``(coalition, sample, draw)``; the model sees one call per batch. With fixed draws and random
masking, whole blocks of G samples go through the *tile* instead (:class:`_Tile`), whose absent
modalities are written once. Why a few MiB, and what the tile saves: docs/BENCHMARKS.md, "Python
value engine".

:class:`BatchingMixin` is one part of :class:`intershap_widget.values.ValueEngine`; it uses the
attributes the engine's constructor sets (``_x``, ``_rows``, ``_windows``, ``_cells``,
``batch_rows``, ``_tile`` ...).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .value_tables import _ChunkState


@dataclass
class _Batch:
    """One model call: ``regions`` (sample, coalition) pairs, each with draws ``d0 .. d1-1``.

    ``local``/``positions``: each region's local sample index and coalition position, in row
    order. ``done``: leading active samples whose draws are all made after this call. A regular
    batch (``cells`` set) is built from scratch in the regular buffer, layout (coalition, sample,
    draw) over ``samples`` × ``cells``; a tile batch is regions ``tile_from ..`` of the tile.
    """

    local: np.ndarray
    positions: np.ndarray
    d0: int
    d1: int
    done: int
    samples: np.ndarray | None = None
    cells: np.ndarray | None = None
    tile_from: int = 0


@dataclass
class _Tile:
    """Reusable model input for fixed draws with random masking (the slots of ``draws.py``).

    Layout (copy, coalition, slot, draw): ``copies`` blocks of G = ``slots`` samples, each block
    with every coalition of its G slots. The absent modalities of region (copy, coalition, slot)
    are that slot's window, whichever sample sits in it, so they are written once (``buffers`` is
    filled lazily) and each block of samples then writes only its present modalities. That skips
    more than half of the bytes and every read of the background, whose rows are no longer in the
    CPU cache after a model call (measured: docs/BENCHMARKS.md).
    """

    slots: int
    draws: int
    copies: int
    buffers: list[np.ndarray] | None = None


class BatchingMixin:
    """Buffers, model calls and batch plans of the value engine (see the module text)."""

    def _get_buffers(self) -> list[np.ndarray]:
        if self._buffers is None:
            self._buffers = self._allocate(self._host_rows)
        return self._buffers

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

    def _fill_batch(
        self,
        samples: np.ndarray,
        cells: np.ndarray,
        r0: int,
        k: int,
        buffers: list[np.ndarray] | None = None,
        lo: int = 0,
        absent: bool = True,
        present: bool = True,
    ) -> int:
        """Writes the masked rows of ``cells × samples × draws[r0:r0+k]``; returns their number.

        The rows go into rows ``lo ..`` of ``buffers`` (default: the regular ones).

        Layout ``(coalition, sample, draw)``. Present modalities are broadcast from the sample;
        absent ones come from the background rows of the draws (see ``draws.py``). ``absent`` /
        ``present`` False skip that part (the tile writes each part at a different time).
        """
        buffers = self._get_buffers() if buffers is None else buffers
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

    def _tile_buffers(self, tile: _Tile) -> list[np.ndarray]:
        """The tile's buffers, with the absent modalities of every copy written (once)."""
        if tile.buffers is None:
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
            tile.buffers = buffers
        return tile.buffers

    def _tile_batches(self, by_slot: np.ndarray, a: int, b: int) -> Iterator[_Batch]:
        """The tile's batches for the local samples ``a .. b-1``.

        ``by_slot`` holds them as ``(blocks, G)``, each block's samples in slot order. The batches
        cover every coalition of every sample, in regions of ``draws`` rows, a block's regions in
        the order (coalition, slot).

        When a block fits one call, each call takes up to ``copies`` blocks. Otherwise each call
        takes the same run of a block's regions for one block after another, so that the tile rows
        it writes were read by the model in the call before and are still in the CPU cache.
        """
        tile = self._tile
        assert tile is not None
        k, g, n_cells = tile.draws, tile.slots, len(self._cells)
        per_block = n_cells * g
        region_slot = np.tile(np.arange(g), n_cells)
        region_positions = np.repeat(np.arange(n_cells), g)
        per_call = self.batch_rows // k
        blocks = by_slot.shape[0]
        if per_block <= per_call:
            for i in range(0, blocks, tile.copies):
                group = by_slot[i : i + tile.copies]
                yield _Batch(
                    local=group[:, region_slot].reshape(-1),
                    positions=np.tile(region_positions, len(group)),
                    d0=0,
                    d1=k,
                    done=a + (i + len(group)) * g,
                )
            return
        for q0 in range(0, per_block, per_call):
            q1 = min(q0 + per_call, per_block)
            for i in range(blocks):
                yield _Batch(
                    local=by_slot[i, region_slot[q0:q1]],
                    positions=region_positions[q0:q1],
                    d0=0,
                    d1=k,
                    done=b if q1 == per_block and i == blocks - 1 else a,
                    tile_from=q0,
                )

    def _call_tile(self, state: _ChunkState, batch: _Batch) -> np.ndarray:
        """Writes the present modalities of a tile batch's regions, then calls the model on them.

        Consecutive regions of one coalition are consecutive slots of one block: one broadcast
        each. (Adjacent runs always differ in coalition: there are at least 2 coalitions.)
        """
        tile = self._tile
        assert tile is not None
        k = tile.draws
        buffers = self._tile_buffers(tile)
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
        return self._call_coalitions(len(positions) * k, buffers, batch.tile_from * k)

    def _call_coalitions(
        self, rows: int, buffers: list[np.ndarray] | None = None, lo: int = 0
    ) -> np.ndarray:
        """``_call`` on a coalition batch, remembering the largest one (``largest_batch_input``)."""
        buffers = self._get_buffers() if buffers is None else buffers
        if self._largest is None or rows >= self._largest[2]:
            self._largest = (buffers, lo, rows)
        return self._call(rows, buffers, lo)

    def _batches(self, state: _ChunkState, active: np.ndarray, r0: int, k: int) -> Iterator[_Batch]:
        """The batches of one round: the tile's where it applies, regular ones for the rest.

        The tile applies to whole blocks of samples when all of a chunk's samples draw the fixed
        draws.
        """
        tile = self._tile
        n = len(state.samples)
        if tile is None or r0 != 0 or k != tile.draws or len(active) != n:
            yield from self._plan(active, k)
            return
        assert self._windows is not None
        g = tile.slots
        first = min(n, -state.start % g)  # blocks of G samples start at multiples of G
        last = first + (n - first) // g * g
        yield from self._plan(active[:first], k)
        local = np.arange(first, last).reshape(-1, g)
        by_slot = np.empty_like(local)
        np.put_along_axis(by_slot, self._windows.slot_of(state.samples[local]), local, axis=1)
        yield from self._tile_batches(by_slot, first, last)
        for batch in self._plan(active[last:], k):
            batch.done += last
            yield batch

    def _plan(self, active: np.ndarray, k: int) -> Iterator[_Batch]:
        """Regular batches of one round over the ``active`` local samples, draws ``0 .. k-1``."""
        n_cells = len(self._cells)
        positions = np.arange(n_cells)
        per_sample = n_cells * k
        br = self.batch_rows
        if per_sample <= br:
            step = br // per_sample
            for i in range(0, len(active), step):
                yield self._regular(
                    active[i : i + step], positions, 0, k, min(i + step, len(active))
                )
        elif k <= br:
            step = br // k
            for i in range(len(active)):
                for j in range(0, n_cells, step):
                    done = i + 1 if j + step >= n_cells else i
                    yield self._regular(active[i : i + 1], positions[j : j + step], 0, k, done)
        else:
            for i in range(len(active)):
                for j in range(n_cells):
                    for d in range(0, k, br):
                        d1 = min(d + br, k)
                        done = i + 1 if (j == n_cells - 1 and d1 == k) else i
                        yield self._regular(active[i : i + 1], positions[j : j + 1], d, d1, done)

    def _regular(
        self, samples: np.ndarray, positions: np.ndarray, d0: int, d1: int, done: int
    ) -> _Batch:
        """A regular batch of ``samples`` × the coalitions at ``positions``, layout (coalition, sample)."""
        return _Batch(
            local=np.tile(samples, len(positions)),
            positions=np.repeat(positions, len(samples)),
            d0=d0,
            d1=d1,
            done=done,
            samples=samples,
            cells=self._cells[positions],
        )
