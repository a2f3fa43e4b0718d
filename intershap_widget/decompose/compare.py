"""Two models on the same samples: their differences, and a paired bootstrap interval of them.

The numpy twin of ``src/core/compare.ts``. Differences are ``other − reference``. The bootstrap
draws its resamples from mulberry32, the browser's generator, reproduced here without a loop: both
sides draw the very same samples for the same seed, so their intervals agree to rounding, not only
in distribution (``tests/fixtures/compare/paired.json`` holds both to 1e-12). Above
``_BOOTSTRAP_SAMPLE_LIMIT`` samples both sides resample the sums of random groups of samples, as
the single-model bootstrap does, and form the groups from mulberry32 too
(``tests/fixtures/compare/paired_grouped.json``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import over_samples
from .over_samples import _group_sums, aggregate
from .result_types import Decomposition
from .validation import resolve_subset

# Each block of resamples holds at most this many draws, so memory stays bounded (a few arrays of
# this many 8-byte numbers) whatever the number of samples times resamples.
_BLOCK_ELEMENTS = 1_000_000

_MASK32 = np.uint64(0xFFFFFFFF)
_GOLDEN_GAMMA = np.uint64(0x6D2B79F5)
_TWO_TO_32 = 4294967296.0


@dataclass(frozen=True)
class _Units:
    """What one stream of resamples draws from (SPEC §4).

    Attributes:
        rows: ``(units, width)``: the samples' flattened matrices or, above
            ``_BOOTSTRAP_SAMPLE_LIMIT`` samples, the sums of random groups of them; the models that
            share the stream stand side by side.
        sizes: ``(units,)`` samples in each unit; ``None`` when each unit is one sample.
        offset: the mulberry32 output where resample 0's draws begin (the group keys come first).
    """

    rows: np.ndarray
    sizes: np.ndarray | None
    offset: int


@dataclass(frozen=True, eq=False)
class PairedDelta:
    """The differences ``other − reference`` of two models' aggregates over the same samples.

    Attributes:
        n: number of samples compared (the subset's size, repeats included).
        global_reference: global InterSHAP of the reference model (SPEC §3).
        global_other: global InterSHAP of the other model.
        global_delta: ``global_other − global_reference``.
        matrix_delta: ``(M, M)`` difference of the signed mean matrices Φ̄.
        contribution_delta: ``(M,)`` difference of the modality contributions.
        local_delta: ``(n,)`` difference of the local scores, per sample in subset order; NaN where
            either is undefined.
    """

    n: int
    global_reference: float
    global_other: float
    global_delta: float
    matrix_delta: np.ndarray
    contribution_delta: np.ndarray
    local_delta: np.ndarray


@dataclass(frozen=True, eq=False)
class PairedInterval:
    """Percentile bootstrap bounds of the differences of :class:`PairedDelta`.

    Every bound is NaN for an empty subset or when no resample is defined.

    Attributes:
        global_delta: ``(low, high)`` of the global score's difference.
        contribution_delta: ``(M, 2)``; row ``i`` holds ``(low, high)`` of modality ``i``.
        matrix_delta: ``(M, M, 2)``; ``[i, j]`` holds ``(low, high)`` of ``Φ̄_ij``'s difference.
        undefined_reps: resamples left out because either model's global score was undefined.
    """

    global_delta: tuple[float, float]
    contribution_delta: np.ndarray
    matrix_delta: np.ndarray
    undefined_reps: int


def mulberry32_uniform(seed: int, start: int, count: int) -> np.ndarray:
    """Outputs ``start … start + count − 1`` (0-based) of mulberry32 seeded with ``seed``.

    The same numbers as ``mulberry32(seed)`` of ``src/core/random.ts`` called ``start + count``
    times, keeping the last ``count``. Its state after ``j`` calls is ``seed + j·0x6D2B79F5``
    (mod 2^32) and each output is a function of the state alone, so any stretch is computed at
    once.

    Args:
        seed: 32-bit seed, 0 … 2^32 − 1.
        start: index of the first output wanted (>= 0).
        count: number of outputs (>= 0).

    Returns:
        ``(count,)`` float64 in [0, 1), multiples of 2^-32.

    Raises:
        ValueError: if an argument is out of range.
    """
    _check_seed(seed)
    for name, value in (("start", start), ("count", count)):
        if not _is_int(value) or value < 0:
            raise ValueError(f"{name}: expected a non-negative integer, got {value!r}")
    return _mulberry32_bits(int(seed), int(start), int(count)).astype(np.float64) / _TWO_TO_32


def paired_delta(reference: Decomposition, other: Decomposition, subset: Any = None) -> PairedDelta:
    """Differences ``other − reference`` of the aggregates over the same samples (SPEC §3).

    Args:
        reference: decomposition of the reference model.
        other: decomposition of the other model, on the same samples and modalities.
        subset: ``None`` (all samples), a boolean mask of length N, or sample indices (repeats
            count again), as in :func:`aggregate`.

    Returns:
        The differences; NaN throughout (with ``n == 0``) for an empty subset.

    Raises:
        TypeError: if ``reference`` or ``other`` is not a :class:`Decomposition`.
        ValueError: if the two decompositions differ in N or M, or the subset is invalid.
    """
    _check_pair(reference, other)
    ref = aggregate(reference, subset)
    oth = aggregate(other, subset)
    idx = resolve_subset(subset, reference.n)
    return PairedDelta(
        n=ref.n,
        global_reference=ref.global_intershap,
        global_other=oth.global_intershap,
        global_delta=oth.global_intershap - ref.global_intershap,
        matrix_delta=oth.mean_matrix - ref.mean_matrix,
        contribution_delta=oth.modality_contributions - ref.modality_contributions,
        local_delta=other.local[idx] - reference.local[idx],
    )


def paired_bootstrap(
    reference: Decomposition,
    other: Decomposition,
    subset: Any = None,
    reps: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> PairedInterval:
    """Paired percentile bootstrap of the differences ``other − reference``.

    Each resample draws the selected samples with replacement and uses the same draws for both
    models, so what the models share (the samples' own variation) cancels out of the differences.
    Resample ``k`` draws, at position ``r``, ``subset[floor(u · count)]`` with ``u`` the output
    ``k · count + r`` of mulberry32(seed): exactly the draws of ``PairedBootstrapResampler`` in
    ``src/core/compare.ts``. Above ``_BOOTSTRAP_SAMPLE_LIMIT`` samples it resamples the same
    ``_BOOTSTRAP_GROUPS`` random groups of samples for both models instead (see ``_units``;
    SPEC §4): also exactly the browser's.

    Args:
        reference: decomposition of the reference model.
        other: decomposition of the other model, on the same samples and modalities.
        subset: as in :func:`paired_delta`.
        reps: number of resamples.
        seed: 32-bit seed of mulberry32.
        level: coverage of the two-sided interval, strictly between 0 and 1.

    Returns:
        The ``(1 − level)/2`` and ``(1 + level)/2`` type-7 quantiles of each difference over the
        resamples where both global scores are defined.

    Raises:
        TypeError: if ``reference`` or ``other`` is not a :class:`Decomposition`.
        ValueError: if the decompositions differ in N or M, or an argument is out of range.
    """
    return _bootstrap(reference, other, subset, reps, seed, level, paired=True)


def unpaired_bootstrap(
    reference: Decomposition,
    other: Decomposition,
    subset: Any = None,
    reps: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> PairedInterval:
    """Like :func:`paired_bootstrap`, but each model is resampled independently.

    The reference draws from mulberry32(seed), the other model from mulberry32(seed + 1) (mod
    2^32); above ``_BOOTSTRAP_SAMPLE_LIMIT`` samples each model's groups come from its own stream
    too. This ignores that the two models saw the same samples; it exists to show, in tests and
    docs, how much wider the interval is then when the models' errors are correlated.

    Args:
        reference: decomposition of the reference model.
        other: decomposition of the other model, on the same samples and modalities.
        subset: as in :func:`paired_delta`.
        reps: number of resamples.
        seed: 32-bit seed of mulberry32.
        level: coverage of the two-sided interval, strictly between 0 and 1.

    Returns:
        The interval, of the same shape as :func:`paired_bootstrap`'s.

    Raises:
        TypeError: if ``reference`` or ``other`` is not a :class:`Decomposition`.
        ValueError: if the decompositions differ in N or M, or an argument is out of range.
    """
    return _bootstrap(reference, other, subset, reps, seed, level, paired=False)


def _bootstrap(
    reference: Decomposition,
    other: Decomposition,
    subset: Any,
    reps: int,
    seed: int,
    level: float,
    *,
    paired: bool,
) -> PairedInterval:
    _check_pair(reference, other)
    _check_options(reps, seed, level)
    m = reference.M
    idx = resolve_subset(subset, reference.n)
    flat_ref = reference.matrices[idx].reshape(-1, m * m)
    flat_other = other.matrices[idx].reshape(-1, m * m)
    count = flat_ref.shape[0]
    reps, seed = int(reps), int(seed)
    if count == 0:
        return _interval(np.full((2, 1 + m + m * m), np.nan), m, reps)
    if paired:
        # One stream for both models: the same groups and the same draws, and one product gives
        # both models' means from the same counts.
        streams = [(_units([flat_ref, flat_other], seed), seed)]
    else:
        other_seed = (seed + 1) & 0xFFFFFFFF
        streams = [(_units([flat_ref], seed), seed), (_units([flat_other], other_seed), other_seed)]
    values = np.empty((reps, 1 + m + m * m))
    block = max(1, min(reps, _BLOCK_ELEMENTS // streams[0][0].rows.shape[0]))
    for first in range(0, reps, block):
        c = min(block, reps - first)
        means = np.hstack([_block_means(units, s, first, c) for units, s in streams])
        values[first : first + c] = _differences(means[:, : m * m], means[:, m * m :], m)
    defined = values[~np.isnan(values[:, 0])]
    bounds = _percentile_bounds(defined, float(level))
    return _interval(bounds, m, reps - defined.shape[0])


def _units(flats: list[np.ndarray], seed: int) -> _Units:
    """What the resamples of mulberry32(seed) draw from, for the models ``flats`` (side by side).

    Up to ``_BOOTSTRAP_SAMPLE_LIMIT`` samples, the samples. Above it, the sums of
    ``_BOOTSTRAP_GROUPS`` random groups, for the reason the single-model bootstrap gives
    (``over_samples._random_group_sums``): a million samples a thousand times is a billion draws,
    and every quantity depends on a resample only through its mean matrices. The groups are every
    model's, so the draws stay paired. Sample ``order[q]`` (``_key_order``) joins group
    ``q mod groups``: groups ``g < count mod groups`` hold one sample more than the others.
    """
    count = flats[0].shape[0]
    if count <= over_samples._BOOTSTRAP_SAMPLE_LIMIT:
        return _Units(flats[0] if len(flats) == 1 else np.hstack(flats), None, 0)
    groups = over_samples._BOOTSTRAP_GROUPS
    order = _key_order(seed, count)
    sums = np.hstack([_group_sums(flat, order, groups) for flat in flats])
    sizes = (count - 1 - np.arange(groups)) // groups + 1
    return _Units(sums, sizes, count)


def _key_order(seed: int, count: int) -> np.ndarray:
    """Positions ``0 … count − 1`` sorted by outputs ``0 … count − 1`` of mulberry32(seed).

    Ties (equal 32-bit outputs) keep position order. A random order that both sides compute alike:
    the browser sorts the same keys (``keyOrder`` in ``src/core/compare.ts``), whereas a
    Fisher–Yates shuffle would take a Python loop here.
    """
    return np.argsort(_mulberry32_bits(seed, 0, count), kind="stable")


def _block_means(units: _Units, seed: int, first: int, c: int) -> np.ndarray:
    """``(c, width)``: the mean rows of resamples ``first … first + c − 1``."""
    n_units = units.rows.shape[0]
    counts = _resample_counts(seed, first, c, n_units, units.offset)
    if units.sizes is None:
        return (counts @ units.rows) / n_units
    # The mean over the samples of the groups drawn: a resample's group sizes differ by up to one.
    return (counts @ units.rows) / (counts @ units.sizes)[:, None]


def _resample_counts(seed: int, first: int, c: int, count: int, offset: int = 0) -> np.ndarray:
    """``(c, count)``: how often each unit is drawn in resamples ``first … first + c − 1``."""
    # Resample k uses outputs offset + k·count … offset + (k + 1)·count − 1: a block is one
    # contiguous stretch.
    u = _mulberry32_bits(seed, offset + first * count, c * count).astype(np.float64) / _TWO_TO_32
    picks = np.floor(u * count).astype(np.intp).reshape(c, count)
    picks += (np.arange(c, dtype=np.intp) * count)[:, None]
    return np.bincount(picks.ravel(), minlength=c * count).reshape(c, count)


def _mulberry32_bits(seed: int, start: int, count: int) -> np.ndarray:
    """Raw 32-bit outputs ``start … start + count − 1``, held in uint64.

    uint64 products of two 32-bit numbers never overflow, and wrapping mod 2^64 would keep the
    low 32 bits anyway; masking after each step gives JavaScript's 32-bit arithmetic.
    """
    # Output j comes from the state after j + 1 calls.
    calls = np.arange(start + 1, start + count + 1, dtype=np.uint64) & _MASK32
    t = (np.uint64(seed) + calls * _GOLDEN_GAMMA) & _MASK32
    t = ((t ^ (t >> np.uint64(15))) * (t | np.uint64(1))) & _MASK32
    t ^= (t + (((t ^ (t >> np.uint64(7))) * (t | np.uint64(61))) & _MASK32)) & _MASK32
    return t ^ (t >> np.uint64(14))


def _differences(means_ref: np.ndarray, means_other: np.ndarray, m: int) -> np.ndarray:
    """``(c, 1 + M + M²)``: global, contribution and matrix differences per resample.

    A row is all NaN where either model's global score is undefined (Σ|Φ̄| = 0).
    """
    g_ref, contrib_ref = _shares(means_ref, m)
    g_other, contrib_other = _shares(means_other, m)
    out = np.hstack(
        [(g_other - g_ref)[:, None], contrib_other - contrib_ref, means_other - means_ref]
    )
    out[np.isnan(g_ref) | np.isnan(g_other)] = np.nan
    return out


def _shares(means: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Global score and contributions of each row's mean matrix; NaN where Σ|Φ̄| = 0."""
    a = np.abs(means)
    den = a.sum(axis=1)
    diag = a[:, np.arange(m) * (m + 1)]
    safe = np.where(den == 0, np.nan, den)
    return (den - diag.sum(axis=1)) / safe, diag / safe[:, None]


def _percentile_bounds(defined: np.ndarray, level: float) -> np.ndarray:
    """``(2, Q)`` type-7 quantiles at (1 ∓ level)/2 of each column, as ``quantile`` in TS.

    Written out rather than ``np.quantile`` so that both sides interpolate with the same
    arithmetic and agree to the last bit on the same sorted numbers.
    """
    k, q = defined.shape
    if k == 0:
        return np.full((2, q), np.nan)
    ordered = np.sort(defined, axis=0)
    tail = (1.0 - level) / 2.0
    rows = []
    for p in (tail, 1.0 - tail):
        position = p * (k - 1)
        below = math.floor(position)
        above = min(below + 1, k - 1)
        rows.append(ordered[below] + (position - below) * (ordered[above] - ordered[below]))
    return np.vstack(rows)


def _interval(bounds: np.ndarray, m: int, undefined_reps: int) -> PairedInterval:
    pairs = bounds.T  # (Q, 2): (low, high) per quantity
    return PairedInterval(
        global_delta=(float(pairs[0, 0]), float(pairs[0, 1])),
        contribution_delta=pairs[1 : 1 + m].copy(),
        matrix_delta=pairs[1 + m :].reshape(m, m, 2).copy(),
        undefined_reps=int(undefined_reps),
    )


def _check_pair(reference: Any, other: Any) -> None:
    for name, dec in (("reference", reference), ("other", other)):
        if not isinstance(dec, Decomposition):
            raise TypeError(
                f"{name}: expected a Decomposition (from decompose), got a {type(dec).__name__}"
            )
    if other.n != reference.n or other.M != reference.M:
        raise ValueError(
            f"other: expected the same {reference.n} samples and M = {reference.M} as the "
            f"reference, got {other.n} samples and M = {other.M}"
        )


def _check_options(reps: Any, seed: Any, level: Any) -> None:
    if not _is_int(reps) or reps < 1:
        raise ValueError(f"reps: expected a positive integer, got {reps!r}")
    _check_seed(seed)
    if not isinstance(level, (int, float, np.floating)) or not 0.0 < float(level) < 1.0:
        raise ValueError(f"level: expected a number strictly between 0 and 1, got {level!r}")


def _check_seed(seed: Any) -> None:
    if not _is_int(seed) or not 0 <= seed <= 0xFFFFFFFF:
        raise ValueError(f"seed: expected an integer from 0 to 2**32 - 1, got {seed!r}")


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))
