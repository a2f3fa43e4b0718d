"""Which background rows fill the absent modalities of each masked row (``masking="random"``).

The background is put in a seeded order once: random, or *stratified* (below). The draws of one
(sample, coalition) are a *window* of consecutive rows of that order: draw ``r`` is row
``(start + r) mod n``. Coalition ``c`` of a sample starts ``c * stride`` rows after its coalition
0, so the values of a sample do not depend on chunk or batch size, and a window continues where
it stopped when more draws are added (``draws="auto"``).

Where a window starts:

- **Fixed draws** (``draws=R``): the sample's *slot*. ``G = 4 * ceil(n / (R mod n))`` slots (one
  when R is a multiple of n; at most n) start ``n / G`` rows apart, at most R/4, so every row is
  drawn by about as many slots as any other. Consecutive blocks of ``G`` samples hold one sample
  per slot, in a seeded rotation per block. Two samples in different blocks share a slot with
  probability 1/G, and then their whole window; otherwise they share the rows where their windows
  overlap. How many rows two samples share, and how often, is then close to independent random
  starts, and so is the Monte-Carlo error of statistics over many samples; one slot per window
  length (windows that partition the background) would make samples share all of their draws or
  none, and a larger error. What slots buy: the absent part of a masked row depends only on the
  slot, so the engine writes it once into a reusable input buffer and then writes only the
  present modalities for each block of samples (the tile: ``plan.py``, ``fill_numpy.py``).
- **Adaptive draws** (``draws="auto"``): a seeded hash of the sample index, since samples stop at
  different numbers of draws and no buffer can be reused.

Why windows rather than R independent rows drawn with replacement: a window is a contiguous block
of the reordered background, so filling the model's input is a block copy instead of a row-by-row
gather.

Stratified order (``BackgroundWindows.stratify``, used by the engine unless ``stratify=False``).
The engine labels each background row with a stratum (``targets.py``, ``_stratify_background``:
per modality, whether swapping that modality into a reference row moves the model's output above
its median) and the order then spreads every stratum evenly: any window holds each stratum in
proportion to its size. The values stay unbiased: with a uniformly random start every row lies in
a window of R draws with probability R/n whatever the order, and the slots, the seeded order
within each stratum and its seeded phase give the same for fixed draws. The Monte-Carlo error
shrinks to the part of the per-draw variance *within* strata. The standard errors below are still
those of a random order, which are at least the stratified ones (up to O(1/n)): with strata they
overstate the error, so error bars are cautious and ``draws="auto"`` stops no earlier than before.

What each of these choices measured (slots against random starts, block copies against gathers,
stratified against random order): docs/BENCHMARKS.md, "Python value engine".

Statistics. Under a uniformly random order, a window of R ≤ n rows is a simple random sample
*without* replacement, so each value is unbiased and its variance is (1 − R/n)·S²/R, smaller than
with replacement. A window longer than n wraps: it covers every row ⌊R/n⌋ times plus R mod n
rows once, and only those add variance. :meth:`BackgroundWindows.standard_error` applies exactly
this finite-population correction (with R a multiple of n the value is the exact background mean,
and its SE is 0). The coalitions of one sample start ``stride`` rows apart, so their windows are
disjoint whenever (2**M − 2)·stride ≤ n and their errors then are (up to the O(1/n) covariance of
sampling without replacement) independent; with more coalitions than that, windows share rows and
error bars formed in quadrature are approximate. ``common_draws=True`` gives every coalition of a
sample the same window.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)

#: Windows at least this long are copied as blocks; shorter ones are gathered by index in one
#: vectorised call (a Python-level copy per window costs more than it saves there).
MIN_BLOCK_DRAWS = 64
#: Slots per window length (fixed draws): starts at most R/4 apart, so that two samples share about
#: as many rows, and as often, as with independent random starts (see the module text).
SLOTS_PER_WINDOW = 4
#: A reordered copy of the background is kept when it needs at most this many bytes; beyond, rows
#: are gathered through the permutation (same rows, same values, no copy).
POOL_LIMIT_BYTES = 512 * 2**20
#: Draws of the pilot round of ``draws="auto"``, and the first total a sample may stop at.
FIRST_ROUND = 32
#: each adaptive round adds half the draws so far: overshoots the needed draws by at most 1.5×
ROUND_GROWTH = 1.5


def auto_rounds(max_draws: int) -> list[int]:
    """Cumulative draws after each adaptive round: 32, 48, 72, ... then ``max_draws``."""
    rounds, total = [], FIRST_ROUND
    while total < max_draws:
        rounds.append(total)
        total = int(np.ceil(total * ROUND_GROWTH))
    return [*rounds, max_draws]


def mix64(z: np.ndarray) -> np.ndarray:
    """SplitMix64's output function, in place on a uint64 array (wrapping arithmetic)."""
    z ^= z >> np.uint64(30)
    z *= _MIX1
    z ^= z >> np.uint64(27)
    z *= _MIX2
    z ^= z >> np.uint64(31)
    return z


class BackgroundWindows:
    """The seeded order of the background and the window of every (sample, coalition).

    ``rows``: per-modality background arrays ``(n, d_m)``. ``concat``: for an early-fusion model,
    the column blocks of one ``(n, D)`` array (``cols``), which is then always reordered (it is a
    copy anyway). ``stride``: rows between the windows of two coalitions of one sample (the most
    draws any window will hold).
    """

    def __init__(
        self,
        rows: list[np.ndarray],
        key: np.ndarray,
        stride: int,
        early_cols: list[slice] | None = None,
        fixed_draws: int | None = None,
    ) -> None:
        self.n = int(rows[0].shape[0])
        self.stride = int(stride)
        self._key = key.astype(np.uint64)
        self._rows = rows
        self._early_cols = early_cols
        self._use_order(np.random.default_rng(self._key).permutation(self.n))
        #: G, the number of slots (fixed draws), or None: a hashed start per sample (adaptive draws)
        self.slots: int | None = None
        if fixed_draws is not None:
            part = int(fixed_draws) % self.n
            self.slots = min(self.n, SLOTS_PER_WINDOW * -(-self.n // part)) if part else 1

    def _use_order(self, order: np.ndarray) -> None:
        """Puts the background in ``order``: a reordered copy (``pool``) where it is affordable."""
        self.order = order
        self.concat: np.ndarray | None = None
        rows = self._rows
        if self._early_cols is not None:
            self.concat = np.concatenate(rows, axis=1)[order]
            self.pool: list[np.ndarray] = [self.concat[:, c] for c in self._early_cols]
            self.reordered = True
        elif sum(r.nbytes for r in rows) <= POOL_LIMIT_BYTES:
            self.pool = [r[order] for r in rows]
            self.reordered = True
        else:
            self.pool = rows
            self.reordered = False

    def stratify(self, strata: np.ndarray) -> None:
        """Reorders the background so that every window holds each stratum's rows in proportion.

        ``strata``: ``(n,)`` int labels of the background rows. Within a stratum the rows keep a
        seeded random order; stratum s's i-th row gets the position key (i + u_s) / n_s, u_s a
        seeded phase in [0, 1), and the rows are sorted by key. So each stratum is spread evenly
        over the whole order and any R consecutive rows hold about R·n_s/n of it (see the module
        text). Must be called before any window is read.
        """
        rng = np.random.default_rng(self._key)
        shuffled = rng.permutation(self.n)
        labels = np.unique(np.asarray(strata), return_inverse=True)[1].reshape(-1)[shuffled]
        by_stratum = np.argsort(labels, kind="stable")
        counts = np.bincount(labels)
        first = np.concatenate([[0], np.cumsum(counts)[:-1]])
        rank = np.empty(self.n, dtype=np.int64)
        rank[by_stratum] = np.arange(self.n) - first[labels[by_stratum]]
        phase = rng.random(len(counts))
        keys = (rank + phase[labels]) / counts[labels]
        self._use_order(shuffled[np.argsort(keys, kind="stable")])

    def _hash_below(self, values: np.ndarray, bound: int) -> np.ndarray:
        """A seeded hash of each non-negative int in ``values``, scaled to ``0 .. bound-1``."""
        z = values.astype(np.uint64) * _GOLDEN
        z += self._key
        mix64(z)
        z >>= np.uint64(32)
        z *= np.uint64(bound)
        z >>= np.uint64(32)
        return z.astype(np.int64)

    def slot_of(self, samples: np.ndarray) -> np.ndarray:
        """The slot of each sample (fixed draws).

        Block ``i // G`` holds every slot once, rotated by a seeded amount per block.
        """
        assert self.slots is not None
        g = self.slots
        return (samples + self._hash_below(samples // g, g)) % g

    def starts(self, samples: np.ndarray, coalition: int) -> np.ndarray:
        """Position in the reordered background of draw 0 of each sample's window, ``(n_s,)``."""
        if self.slots is None:
            first = self._hash_below(samples, self.n)
        else:
            first = self.slot_of(samples) * self.n // self.slots
        return (first + coalition * self.stride) % self.n

    def row_indices(self, samples: np.ndarray, coalition: int, r0: int, k: int) -> np.ndarray:
        """Indices into ``pool`` of draws ``r0 .. r0+k-1``, flattened ``(n_s * k,)``."""
        positions = self.starts(samples, coalition)[:, None] + np.arange(r0, r0 + k)
        positions %= self.n
        flat = positions.reshape(-1)
        return flat if self.reordered else self.order[flat]

    def copies_blocks(self, k: int) -> bool:
        """Whether windows of ``k`` draws are copied as blocks (else gathered by index)."""
        return self.reordered and k >= MIN_BLOCK_DRAWS

    def blocks(self, start: int, r0: int, k: int) -> list[tuple[int, int, int]]:
        """``(src_lo, src_hi, dst_offset)`` pieces of one window of draws ``r0 .. r0+k-1``."""
        pieces = []
        src, done = (start + r0) % self.n, 0
        while done < k:
            size = min(k - done, self.n - src)
            pieces.append((src, src + size, done))
            done += size
            src = 0
        return pieces

    def standard_error(self, s1: np.ndarray, s2: np.ndarray, draws: Any) -> np.ndarray:
        """SE of the window means from the sums ``s1``/``s2`` of ``draws`` draws (broadcastable).

        One draw from more than one row gives NaN.
        """
        return self.standard_error_of(sample_variance(s1, s2, draws), draws)

    def standard_error_of(self, variance: np.ndarray, draws: Any) -> np.ndarray:
        """SE of a window mean of ``draws`` draws, for a per-draw ``variance``.

        The variance times the finite-population factor rem·(n − rem)/(n·R²), rem = R mod n (see
        the module text).
        """
        r = np.asarray(draws, dtype=np.float64)
        rem = np.mod(r, self.n)
        factor = rem * (self.n - rem) / (self.n * r * r)
        se = np.sqrt(np.maximum(variance, 0.0) * factor)
        return np.where(np.broadcast_to(factor == 0, se.shape), 0.0, se)


def sample_variance(s1: np.ndarray, s2: np.ndarray, draws: Any) -> np.ndarray:
    """Per-draw sample variance (ddof=1) from the sum and the sum of squares of ``draws`` draws."""
    r = np.asarray(draws, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (s2 - s1 * s1 / r) / (r - 1)
