"""The plan: which masked rows go into which model call.

A round of draws (``chunks.py``) is cut into batches of at most ``batch_rows`` model rows. A
batch is a set of *regions*, (sample, coalition) pairs each with the same run of draws; within a
batch the rows are laid out ``(coalition, sample, draw)`` and the model sees one call per batch.

With fixed draws and random masking, whole blocks of G samples (one per slot of ``draws.py``) go
through the *tile* instead (:class:`_Tile`): a reusable model input whose absent modalities are
written once, so that each block of samples then writes only its present modalities
(``fill_numpy.py``). What the tile saves: docs/BENCHMARKS.md, "Python value engine".

The plan depends only on the chunk, the round and the engine's sizes, never on the model's
outputs: so a batch can be built while the model runs the one before (``pipeline.py``).

:class:`PlanMixin` is one part of :class:`intershap_widget.engine.ValueEngine`; it uses the
attributes the engine's constructor sets (``_windows``, ``_cells``, ``batch_rows``, ``_tile`` ...).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..value_tables import _ChunkState

#: The tile (reused input rows for fixed draws, see ``_Tile``) is used when one block of it needs
#: at most this many bytes; beyond that every batch is built from scratch (same values).
TILE_LIMIT_BYTES = 64 * 2**20


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
    are that slot's window, whichever sample sits in it, so they are written once and each block
    of samples then writes only its present modalities. That skips more than half of the bytes and
    every read of the background, whose rows are no longer in the CPU cache after a model call.

    ``buffers``: one set of buffers per buffer slot of ``pipeline.py`` (two when a batch is built
    while the model runs the previous one), each made and its absent part written on first use;
    None until then.
    """

    slots: int
    draws: int
    copies: int
    buffers: list[list[np.ndarray]] | None = None


class PlanMixin:
    """The plan of model calls of the value engine (see the module text)."""

    def _tile_layout(self, row_bytes: int) -> _Tile | None:
        """The tile for fixed draws with random masking, or None where it does not apply.

        It applies when a draw window fits one model call and one block of G samples (all
        coalitions) fits ``TILE_LIMIT_BYTES``.
        """
        windows = self._windows
        if windows is None or windows.slots is None or self.fill != "numpy":
            return None
        k = self._rounds[-1]
        block_rows = len(self._cells) * windows.slots * k
        if k > self.batch_rows or block_rows * row_bytes > TILE_LIMIT_BYTES:
            return None
        return _Tile(slots=windows.slots, draws=k, copies=max(1, self.batch_rows // block_rows))

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
