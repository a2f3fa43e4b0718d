"""Aggregates over any set of samples (SPEC §3), and the bootstrap interval of SPEC §4."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .result_types import Aggregate, Decomposition
from .validation import resolve_subset

# Bootstrap resampling works in blocks so that the (reps x n) count matrix stays small.
_BOOTSTRAP_BLOCK_ELEMENTS = 4_000_000
#: Up to this many samples the bootstrap resamples samples; above it, random groups of samples.
_BOOTSTRAP_SAMPLE_LIMIT = 200_000
#: How many random groups a large set of samples is split into for the bootstrap.
_BOOTSTRAP_GROUPS = 20_000


def _global_from_mean(mean_matrix: np.ndarray) -> tuple[float, np.ndarray]:
    """``(global InterSHAP, contributions)`` of one signed mean matrix; NaN if denominator 0."""
    m = mean_matrix.shape[0]
    a = np.abs(mean_matrix)
    den = float(a.sum())
    if den == 0.0:
        return math.nan, np.full(m, np.nan)
    diag = np.diagonal(a).copy()
    off = den - float(diag.sum())
    return off / den, diag / den


def aggregate(dec: Decomposition, subset: Any = None) -> Aggregate:
    """Aggregate a decomposition over all samples or over ``subset`` (SPEC §3).

    Args:
        dec: result of :func:`decompose`.
        subset: ``None`` (all samples), a boolean mask of length N, or an array of sample
            indices (repeats allowed: an index listed twice counts twice).
    """
    m = dec.M
    idx = resolve_subset(subset, dec.n)
    mats = dec.matrices[idx]
    n = int(mats.shape[0])
    if n == 0:
        return Aggregate(
            n=0,
            M=m,
            mean_matrix=np.full((m, m), np.nan),
            global_intershap=math.nan,
            local_mean=math.nan,
            n_undefined=0,
            modality_contributions=np.full(m, np.nan),
            interaction_share=math.nan,
            order_mass=np.full(m, np.nan),
            mean_shapley=np.full(m, np.nan),
        )
    mean_matrix = mats.mean(axis=0)
    g, contrib = _global_from_mean(mean_matrix)
    local = dec.local[idx]
    defined = ~np.isnan(local)
    n_def = int(defined.sum())
    local_mean = float(local[defined].mean()) if n_def else math.nan
    return Aggregate(
        n=n,
        M=m,
        mean_matrix=mean_matrix,
        global_intershap=g,
        local_mean=local_mean,
        n_undefined=n - n_def,
        modality_contributions=contrib,
        interaction_share=g,
        order_mass=dec.order_mass[idx].mean(axis=0),
        mean_shapley=dec.shapley[idx].mean(axis=0),
    )


def bootstrap_global(
    dec: Decomposition,
    subset: Any = None,
    reps: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the global InterSHAP score over samples.

    Resamples the (selected) samples with replacement ``reps`` times, recomputes the global score
    from each resample's signed mean matrix, and returns the ``(1−level)/2`` and ``(1+level)/2``
    quantiles. Resamples whose mean matrix is all zeros (score undefined) are left out. Returns
    ``(nan, nan)`` for an empty subset or when no resample is defined. Above
    ``_BOOTSTRAP_SAMPLE_LIMIT`` samples, the units resampled are the sums of random groups of
    samples (see ``_random_group_sums``): the same distribution of the mean to CLT accuracy, in a
    fraction of the time.
    """
    if isinstance(reps, (bool, np.bool_)) or not isinstance(reps, (int, np.integer)) or reps < 1:
        raise ValueError(f"reps: expected a positive integer, got {reps!r}")
    if not isinstance(level, (int, float, np.floating)) or not 0.0 < float(level) < 1.0:
        raise ValueError(f"level: expected a number strictly between 0 and 1, got {level!r}")
    m = dec.M
    idx = resolve_subset(subset, dec.n)
    # Every sample (idx is then a slice): a view of the matrices, not a copy of them.
    flat = dec.matrices.reshape(dec.n, m * m)[idx]
    n = flat.shape[0]
    if n == 0:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    units = flat if n <= _BOOTSTRAP_SAMPLE_LIMIT else _random_group_sums(flat, rng)
    scores = _resampled_scores(units, int(reps), rng, m)
    finite = scores[np.isfinite(scores)]
    if finite.size == 0:
        return math.nan, math.nan
    alpha = (1.0 - float(level)) / 2.0
    lo, hi = np.quantile(finite, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def _random_group_sums(flat: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The rows summed over ``_BOOTSTRAP_GROUPS`` random groups of (nearly) equal size.

    Why: resampling a million samples a thousand times draws a billion indices, 14 s here. The
    global score depends on the samples only through their mean matrix, and a random group's
    sum is a sum of iid samples, so resampling the groups' sums (the score is the same for a sum
    as for a mean) gives the bootstrap distribution of the mean matrix to the accuracy of the
    central limit theorem at 50+ samples a group, in 0.1 s. ``tests/python/test_aggregate.py``
    checks it against the sample-level bootstrap.
    """
    n = flat.shape[0]
    return _group_sums(flat, rng.permutation(n), min(_BOOTSTRAP_GROUPS, n))


def _group_sums(flat: np.ndarray, order: np.ndarray, groups: int) -> np.ndarray:
    """``(groups, width)``: the rows summed by group, row ``order[q]`` in group ``q mod groups``.

    Shared with the paired bootstrap (``compare.py``), which orders the rows by mulberry32 keys
    instead of numpy's shuffle so that the browser forms the very same groups.
    """
    n, width = flat.shape
    group_of = np.empty(n, dtype=np.intp)
    group_of[order] = np.arange(n) % groups
    sums = np.empty((groups, width))
    for k in range(width):
        sums[:, k] = np.bincount(group_of, weights=flat[:, k], minlength=groups)
    return sums


def _resampled_scores(units: np.ndarray, reps: int, rng: np.random.Generator, m: int) -> np.ndarray:
    """The global score of ``reps`` resamples (with replacement) of the rows of ``units``."""
    n = units.shape[0]
    block = max(1, min(reps, _BOOTSTRAP_BLOCK_ELEMENTS // n))
    diag_cols = np.arange(m) * (m + 1)
    scores = np.empty(reps, dtype=np.float64)
    done = 0
    while done < reps:
        c = min(block, reps - done)
        draws = rng.integers(0, n, size=(c, n))
        draws += (np.arange(c) * n)[:, None]
        counts = np.bincount(draws.ravel(), minlength=c * n).reshape(c, n)
        # Sums, not means: the score is a ratio, the same for both.
        a = np.abs(counts @ units)
        den = a.sum(axis=1)
        off = den - a[:, diag_cols].sum(axis=1)
        out = np.full(c, np.nan)
        np.divide(off, den, out=out, where=den != 0)
        scores[done : done + c] = out
        done += c
    return scores
