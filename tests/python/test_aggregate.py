"""Tests of intershap_widget.decompose over sets of samples: undefined scores, aggregates, bootstrap (SPEC §3, §4)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intershap_widget.decompose import (
    Aggregate,
    Decomposition,
    aggregate,
    bootstrap_global,
    decompose,
    sii,
)


def _random_values(m: int, seed: int, n: int = 3) -> np.ndarray:
    # the same helper as in test_decompose.py
    return np.random.default_rng(seed).normal(size=(n, 1 << m))


# ---------------------------------------------------------------------------------------------
# Undefined local scores and aggregation
# ---------------------------------------------------------------------------------------------


def test_undefined_local_is_nan_and_left_out() -> None:
    values = _random_values(3, 11, n=5)
    values[[1, 3]] = 0.25  # a constant game: every Φ entry exactly 0
    dec = decompose(values)
    assert np.isnan(dec.local[[1, 3]]).all()
    assert np.isfinite(dec.local[[0, 2, 4]]).all()
    assert dec.n_undefined == 2
    agg = aggregate(dec)
    assert agg.n_undefined == 2
    assert agg.local_mean == pytest.approx(dec.local[[0, 2, 4]].mean())
    only_undefined = aggregate(dec, [1, 3])
    assert only_undefined.n == 2 and only_undefined.n_undefined == 2
    assert math.isnan(only_undefined.local_mean)
    assert math.isnan(only_undefined.global_intershap)
    assert np.isnan(only_undefined.modality_contributions).all()
    np.testing.assert_array_equal(only_undefined.mean_matrix, 0)


@settings(max_examples=30, deadline=None)
@given(
    m=st.integers(2, 12),
    c=st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
)
def test_constant_table_is_exactly_zero_and_undefined(m: int, c: float) -> None:
    # A model that ignores every modality: Φ must be exactly 0, not rounding noise.
    values = np.full((2, 1 << m), c)
    dec = decompose(values)
    assert np.all(dec.matrices == 0) and np.all(dec.shapley == 0)
    assert np.all(dec.order_mass == 0)
    assert np.isnan(dec.local).all()
    assert np.all(sii(values, (1 << m) - 1) == 0)


@settings(max_examples=20, deadline=None)
@given(m=st.integers(2, 10), seed=st.integers(0, 2**32 - 1))
def test_adding_a_constant_changes_nothing(m: int, seed: int) -> None:
    values = _random_values(m, seed)
    shift = np.random.default_rng(seed).normal(size=(values.shape[0], 1)) * 10
    a, b = decompose(values), decompose(values + shift)
    np.testing.assert_allclose(a.matrices, b.matrices, atol=1e-9)
    np.testing.assert_allclose(a.local, b.local, atol=1e-9)
    np.testing.assert_allclose(a.order_mass, b.order_mass, atol=1e-8)


@settings(max_examples=30, deadline=None)
@given(m=st.integers(2, 6), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_subset_aggregate_equals_aggregate_of_copied_subset(
    m: int, seed: int, data: st.DataObject
) -> None:
    n = 12
    values = _random_values(m, seed, n=n)
    values[seed % n] = 1.0  # one undefined sample somewhere
    dec = decompose(values)
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    if not mask.any():
        mask[0] = True
    idx = np.flatnonzero(mask)
    got = aggregate(dec, mask)
    want = aggregate(decompose(values[idx].copy()))
    by_index = aggregate(dec, idx)
    for agg in (got, by_index):
        assert agg.n == want.n == idx.size
        assert agg.n_undefined == want.n_undefined
        np.testing.assert_allclose(agg.mean_matrix, want.mean_matrix, atol=1e-12)
        np.testing.assert_allclose(agg.mean_shapley, want.mean_shapley, atol=1e-12)
        np.testing.assert_allclose(agg.order_mass, want.order_mass, atol=1e-12)
        np.testing.assert_allclose(
            agg.modality_contributions, want.modality_contributions, atol=1e-12, equal_nan=True
        )
        for name in ("global_intershap", "local_mean", "interaction_share"):
            a, b = getattr(agg, name), getattr(want, name)
            assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, abs=1e-12), name


def test_global_is_abs_of_signed_mean_not_mean_of_abs() -> None:
    # Two samples with opposite interactions cancel in the signed mean.
    values = np.array([[0, 0, 0, 1.0], [0, 0, 0, -1.0], [0, 1.0, 1.0, 2.0]])
    dec = decompose(values)
    agg = aggregate(dec, [0, 1])
    np.testing.assert_allclose(agg.mean_matrix, 0, atol=1e-15)
    assert math.isnan(agg.global_intershap)
    agg = aggregate(dec, [0, 1, 2])
    # mean Φ̄: off-diagonals cancel, diagonals 1/3 each -> InterSHAP 0
    assert agg.global_intershap == pytest.approx(0.0, abs=1e-15)
    np.testing.assert_allclose(agg.modality_contributions, [0.5, 0.5])
    assert agg.local_mean == pytest.approx((1 + 1 + 0) / 3)


def test_repeated_indices_count_twice() -> None:
    values = _random_values(3, 5, n=4)
    dec = decompose(values)
    got = aggregate(dec, [0, 0, 2])
    want = aggregate(decompose(values[[0, 0, 2]]))
    np.testing.assert_allclose(got.mean_matrix, want.mean_matrix)
    assert got.n == 3


@pytest.mark.parametrize("subset", [[], np.array([], dtype=int), np.zeros(6, dtype=bool)])
def test_empty_subset_is_nan_without_warnings(subset: object) -> None:
    dec = decompose(_random_values(3, 1, n=6))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        agg = aggregate(dec, subset)
        interval = bootstrap_global(dec, subset)
    assert isinstance(agg, Aggregate)
    assert agg.n == 0 and agg.n_undefined == 0 and agg.M == 3
    assert math.isnan(agg.global_intershap) and math.isnan(agg.local_mean)
    assert math.isnan(agg.interaction_share)
    for arr, shape in [
        (agg.mean_matrix, (3, 3)),
        (agg.modality_contributions, (3,)),
        (agg.order_mass, (3,)),
        (agg.mean_shapley, (3,)),
    ]:
        assert arr.shape == shape and np.isnan(arr).all()
    assert all(math.isnan(x) for x in interval)


def test_no_warnings_on_degenerate_inputs() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dec = decompose(np.zeros((4, 8)))
        agg = aggregate(dec)
        interval = bootstrap_global(dec, reps=20)
    assert np.isnan(dec.local).all() and agg.n_undefined == 4
    assert math.isnan(agg.global_intershap)
    assert all(math.isnan(x) for x in interval)


def test_results_are_read_only() -> None:
    dec = decompose(_random_values(2, 0))
    assert isinstance(dec, Decomposition)
    for arr in (dec.shapley, dec.matrices, dec.local, dec.order_mass):
        with pytest.raises(ValueError):
            arr[...] = 0


@pytest.mark.parametrize(
    ("subset", "match"),
    [
        (np.ones(5, dtype=bool), "boolean mask of length N = 6, got length 5"),
        ([0, 6], r"indices in 0\.\.5, got indices in 0\.\.6"),
        ([-1], r"indices in 0\.\.5"),
        (np.array([0.5]), "integer sample indices, got dtype float64"),
        (np.zeros((2, 3), dtype=int), "1-D"),
    ],
)
def test_bad_subset(subset: object, match: str) -> None:
    dec = decompose(_random_values(2, 0, n=6))
    with pytest.raises(ValueError, match="subset: .*" + match):
        aggregate(dec, subset)


# ---------------------------------------------------------------------------------------------
# Bootstrap
# ---------------------------------------------------------------------------------------------


def test_bootstrap_interval() -> None:
    rng = np.random.default_rng(2)
    values = rng.normal(size=(300, 8)) * 0.1
    values[:, -1] += 1.0  # a strong 3-way effect plus noise
    dec = decompose(values)
    g = aggregate(dec).global_intershap
    lo, hi = bootstrap_global(dec, reps=400, seed=1)
    assert lo < g < hi
    assert hi - lo < 0.2
    assert bootstrap_global(dec, reps=400, seed=1) == (lo, hi)
    assert bootstrap_global(dec, reps=400, seed=2) != (lo, hi)
    lo90, hi90 = bootstrap_global(dec, reps=400, seed=1, level=0.9)
    assert lo <= lo90 <= hi90 <= hi
    # A subset with identical samples has no spread.
    same = decompose(np.repeat(values[:1], 5, axis=0))
    lo1, hi1 = bootstrap_global(same, reps=50)
    g1 = aggregate(same).global_intershap
    assert lo1 == pytest.approx(g1, abs=1e-12)
    assert hi1 == pytest.approx(g1, abs=1e-12)


def test_bootstrap_matches_naive_resampling_distribution() -> None:
    values = _random_values(2, 9, n=40)
    dec = decompose(values)
    lo, hi = bootstrap_global(dec, reps=3000, seed=0)
    rng = np.random.default_rng(123)
    naive = [aggregate(dec, rng.integers(0, 40, size=40)).global_intershap for _ in range(3000)]
    nlo, nhi = np.quantile(naive, [0.025, 0.975])
    assert lo == pytest.approx(nlo, abs=0.04)
    assert hi == pytest.approx(nhi, abs=0.04)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"reps": 0}, "reps: expected a positive integer"), ({"level": 1.0}, "level: expected")],
)
def test_bootstrap_bad_arguments(kwargs: dict, match: str) -> None:
    dec = decompose(_random_values(2, 0))
    with pytest.raises(ValueError, match=match):
        bootstrap_global(dec, **kwargs)


def test_bootstrap_of_random_groups_matches_the_sample_level_bootstrap(monkeypatch):
    """Above the sample limit the interval resamples random groups: the same interval, to MC noise."""
    from intershap_widget.decompose import over_samples

    rng = np.random.default_rng(7)
    n, m = 60_000, 3
    # Skewed per-sample tables, so the bootstrap distribution is not a textbook normal.
    values = rng.normal(size=(n, 2**m)) + rng.exponential(1.0, size=(n, 1)) * np.arange(2**m) / 4
    dec = decompose(values)
    monkeypatch.setattr(over_samples, "_BOOTSTRAP_GROUPS", 2_000)
    monkeypatch.setattr(over_samples, "_BOOTSTRAP_SAMPLE_LIMIT", n)
    samples = bootstrap_global(dec, reps=2000, seed=1)
    monkeypatch.setattr(over_samples, "_BOOTSTRAP_SAMPLE_LIMIT", n - 1)
    groups = bootstrap_global(dec, reps=2000, seed=1)
    width = samples[1] - samples[0]
    assert width > 0
    # With 2,000 resamples each bound's Monte-Carlo error is a few percent of the width.
    assert abs((groups[1] - groups[0]) - width) < 0.1 * width
    assert abs((groups[0] + groups[1]) / 2 - (samples[0] + samples[1]) / 2) < 0.1 * width
    # Seeded: the same interval again.
    assert bootstrap_global(dec, reps=2000, seed=1) == groups
