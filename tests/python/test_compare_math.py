"""Tests of intershap_widget.decompose.compare: two models on the same samples, paired bootstrap."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from intershap_widget.decompose import (
    Decomposition,
    PairedInterval,
    aggregate,
    decompose,
    mulberry32_uniform,
    paired_bootstrap,
    paired_delta,
    unpaired_bootstrap,
)
from intershap_widget.decompose import compare as compare_module
from intershap_widget.decompose.over_samples import _global_from_mean

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "compare" / "paired.json"

N = 40
SUBSET = [3, 3, 0, 39, 17, 17, 17, 25, 8, 30]


def _pair(m: int, seed: int, n: int = N) -> tuple[Decomposition, Decomposition]:
    rng = np.random.default_rng(seed)
    shared = rng.normal(size=(n, 1 << m))
    other = shared + 0.2 * rng.normal(size=shared.shape)
    other[:, -1] += 0.4
    return decompose(shared), decompose(other)


def _all_nan(x: np.ndarray) -> bool:
    return bool(np.isnan(x).all())


# ---------------------------------------------------------------------------------------------
# Deltas
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("m", [2, 3, 4])
def test_paired_delta_is_the_difference_of_the_aggregates(m: int) -> None:
    reference, other = _pair(m, 10 + m)
    mask = np.zeros(N, dtype=bool)
    mask[[1, 4, 9, 33]] = True
    for subset in (None, SUBSET, np.array(SUBSET), mask):
        ref, oth = aggregate(reference, subset), aggregate(other, subset)
        delta = paired_delta(reference, other, subset)
        assert delta.n == ref.n
        assert delta.global_reference == ref.global_intershap
        assert delta.global_other == oth.global_intershap
        assert delta.global_delta == oth.global_intershap - ref.global_intershap
        np.testing.assert_array_equal(delta.matrix_delta, oth.mean_matrix - ref.mean_matrix)
        np.testing.assert_array_equal(
            delta.contribution_delta, oth.modality_contributions - ref.modality_contributions
        )
        assert delta.local_delta.shape == (ref.n,)


def test_local_delta_follows_the_subset_and_is_nan_where_either_is_undefined() -> None:
    rng = np.random.default_rng(3)
    values_ref = rng.normal(size=(N, 8))
    values_other = values_ref + 0.1
    values_ref[5] = 0.0  # the reference ignores every modality on sample 5
    values_other[17] = 0.0  # the other model on sample 17
    reference, other = decompose(values_ref), decompose(values_other)
    local = paired_delta(reference, other, SUBSET).local_delta
    for r, a in enumerate(SUBSET):
        if a in (5, 17):
            assert math.isnan(local[r])
        else:
            assert local[r] == other.local[a] - reference.local[a]
    assert np.isnan(paired_delta(reference, other).local_delta[[5, 17]]).all()


def test_identical_models_give_zero_deltas_and_zero_width_intervals() -> None:
    reference, _ = _pair(3, 1)
    delta = paired_delta(reference, reference, SUBSET)
    assert delta.global_delta == 0.0
    assert not delta.matrix_delta.any() and not delta.contribution_delta.any()
    interval = paired_bootstrap(reference, reference, SUBSET, reps=300, seed=4)
    assert interval.global_delta == (0.0, 0.0)
    assert not interval.contribution_delta.any() and not interval.matrix_delta.any()
    assert interval.undefined_reps == 0


def _shifted(reference: Decomposition, shift: np.ndarray) -> Decomposition:
    """The reference's decomposition with ``shift`` added to every sample's matrix."""
    mats = reference.matrices + shift
    return Decomposition(
        M=reference.M,
        shapley=mats.sum(axis=2),
        matrices=mats,
        local=reference.local,
        order_mass=reference.order_mass,
    )


def test_a_constant_shift_of_every_sample_is_recovered_exactly_by_the_paired_bootstrap() -> None:
    # Paired resamples draw the same samples for both models, so a shift that is the same on
    # every sample is every resample's matrix delta: a zero-width interval. Unpaired, the
    # samples' own spread shows up as uncertainty.
    reference, _ = _pair(3, 2)
    shift = np.arange(9.0).reshape(3, 3) / 10
    other = _shifted(reference, shift)
    paired = paired_bootstrap(reference, other, reps=200)
    np.testing.assert_allclose(paired.matrix_delta[..., 0], shift, atol=1e-12)
    np.testing.assert_allclose(paired.matrix_delta[..., 1], shift, atol=1e-12)
    unpaired = unpaired_bootstrap(reference, other, reps=200)
    assert (unpaired.matrix_delta[..., 1] - unpaired.matrix_delta[..., 0] > 0.1).all()


def test_an_empty_subset_gives_nan_everywhere() -> None:
    reference, other = _pair(3, 5)
    delta = paired_delta(reference, other, [])
    assert delta.n == 0 and math.isnan(delta.global_delta)
    assert _all_nan(delta.matrix_delta) and _all_nan(delta.contribution_delta)
    assert delta.local_delta.shape == (0,)
    for bootstrap in (paired_bootstrap, unpaired_bootstrap):
        interval = bootstrap(reference, other, [], reps=50)
        assert isinstance(interval, PairedInterval)
        assert all(math.isnan(b) for b in interval.global_delta)
        assert interval.contribution_delta.shape == (3, 2)
        assert interval.matrix_delta.shape == (3, 3, 2)
        assert _all_nan(interval.contribution_delta) and _all_nan(interval.matrix_delta)
        assert interval.undefined_reps == 50


def test_resamples_where_either_model_is_undefined_are_left_out() -> None:
    rng = np.random.default_rng(8)
    values = rng.normal(size=(6, 8))
    values_ref, values_other = values.copy(), values + 0.3
    values_ref[[0, 1]] = 0.0
    values_other[[0, 2]] = 0.0
    reference, other = decompose(values_ref), decompose(values_other)
    # Both defined only when a resample of [0, 1, 2] draws sample 2 (reference) and sample 1
    # (other); we count those resamples from the same draws.
    reps, seed, subset = 400, 11, [0, 1, 2]
    u = mulberry32_uniform(seed, 0, reps * 3).reshape(reps, 3)
    drawn = np.array(subset)[np.floor(u * 3).astype(int)]
    both = ((drawn == 1).any(axis=1) & (drawn == 2).any(axis=1)).sum()
    interval = paired_bootstrap(reference, other, subset, reps=reps, seed=seed)
    assert interval.undefined_reps == reps - both
    assert np.isfinite(interval.matrix_delta).all()


# ---------------------------------------------------------------------------------------------
# mulberry32 and the blocks
# ---------------------------------------------------------------------------------------------


def _sequential_mulberry32(seed: int):
    """src/core/random.ts line by line, in Python integers."""

    def imul(a: int, b: int) -> int:
        return (a * b) & 0xFFFFFFFF

    state = seed & 0xFFFFFFFF
    while True:
        state = (state + 0x6D2B79F5) & 0xFFFFFFFF
        t = state
        t = imul(t ^ (t >> 15), t | 1)
        t ^= (t + imul(t ^ (t >> 7), t | 61)) & 0xFFFFFFFF
        yield ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296


@pytest.mark.parametrize("seed", [0, 1, 2024, 0x6D2B79F5, 4294967295])
def test_mulberry32_uniform_equals_the_sequential_generator(seed: int) -> None:
    expected = list(itertools.islice(_sequential_mulberry32(seed), 1200))
    np.testing.assert_array_equal(mulberry32_uniform(seed, 0, 1000), expected[:1000])
    for start, count in ((0, 1), (1, 5), (317, 100), (999, 201), (1200, 0)):
        np.testing.assert_array_equal(
            mulberry32_uniform(seed, start, count), expected[start : start + count]
        )


def test_mulberry32_uniform_matches_javascript_far_out() -> None:
    # node: r = mulberry32(2024) from src/core/random.ts; its first three outputs.
    np.testing.assert_array_equal(
        mulberry32_uniform(2024, 0, 3), [0.811762373894453, 0.7108214949257672, 0.6505258858669549]
    )
    # A far offset (the 32-bit state has wrapped round ~100,000 times) agrees with stepping.
    far = next(itertools.islice(_sequential_mulberry32(5), 250_000, None))
    assert mulberry32_uniform(5, 250_000, 1)[0] == far


def test_mulberry32_uniform_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match=r"seed: expected an integer from 0 to 2\*\*32 - 1"):
        mulberry32_uniform(-1, 0, 1)
    with pytest.raises(ValueError, match="start: expected a non-negative integer, got -2"):
        mulberry32_uniform(0, -2, 1)
    with pytest.raises(ValueError, match="count: expected a non-negative integer, got 1.5"):
        mulberry32_uniform(0, 0, 1.5)


@pytest.mark.parametrize("bootstrap", [paired_bootstrap, unpaired_bootstrap])
def test_block_boundaries_do_not_change_the_result(monkeypatch, bootstrap) -> None:
    reference, other = _pair(3, 6)
    expected = bootstrap(reference, other, SUBSET, reps=97, seed=3)
    for elements in (1, 7, len(SUBSET) * 5 + 3, 10**9):
        monkeypatch.setattr(compare_module, "_BLOCK_ELEMENTS", elements)
        got = bootstrap(reference, other, SUBSET, reps=97, seed=3)
        # The draws are identical (integers); only the matrix product's rounding may differ.
        np.testing.assert_allclose(got.global_delta, expected.global_delta, rtol=0, atol=1e-14)
        np.testing.assert_allclose(got.matrix_delta, expected.matrix_delta, rtol=0, atol=1e-14)
        np.testing.assert_allclose(
            got.contribution_delta, expected.contribution_delta, rtol=0, atol=1e-14
        )
        assert got.undefined_reps == expected.undefined_reps


def test_resample_counts_are_the_same_in_any_blocks() -> None:
    one = compare_module._resample_counts(9, 0, 50, 13)
    pieces = [
        compare_module._resample_counts(9, first, c, 13) for first, c in ((0, 1), (1, 20), (21, 29))
    ]
    np.testing.assert_array_equal(np.vstack(pieces), one)
    assert (one.sum(axis=1) == 13).all()


def test_memory_stays_bounded(monkeypatch) -> None:
    # 20,000 samples x 1000 resamples = 2e7 draws; no block may hold more than _BLOCK_ELEMENTS.
    seen = _spy_draws(monkeypatch)
    monkeypatch.setattr(compare_module, "_BLOCK_ELEMENTS", 200_000)
    mats = np.random.default_rng(0).normal(size=(20_000, 2, 2))
    dec = Decomposition(
        M=2,
        shapley=mats.sum(axis=2),
        matrices=mats,
        local=np.zeros(20_000),
        order_mass=np.zeros((20_000, 2)),
    )
    paired_bootstrap(dec, dec, reps=1000)
    assert max(seen) <= 200_000 and sum(seen) == 20_000 * 1000


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


def test_models_that_differ_in_n_or_m_are_refused_with_both_shapes() -> None:
    reference, _ = _pair(3, 1, n=200)
    fewer, _ = _pair(3, 2, n=150)
    wider, _ = _pair(4, 3, n=200)
    text = (
        "other: expected the same 200 samples and M = 3 as the reference, got 150 samples and M = 3"
    )
    for call in (paired_delta, paired_bootstrap, unpaired_bootstrap):
        with pytest.raises(ValueError, match=text):
            call(reference, fewer)
        with pytest.raises(ValueError, match="got 200 samples and M = 4"):
            call(reference, wider)
    with pytest.raises(TypeError, match="other: expected a Decomposition"):
        paired_delta(reference, reference.matrices)
    with pytest.raises(TypeError, match="reference: expected a Decomposition"):
        paired_bootstrap(None, reference)


def test_bootstrap_options_are_checked() -> None:
    reference, other = _pair(2, 1)
    with pytest.raises(ValueError, match="reps: expected a positive integer, got 0"):
        paired_bootstrap(reference, other, reps=0)
    with pytest.raises(ValueError, match="reps: expected a positive integer, got True"):
        paired_bootstrap(reference, other, reps=True)
    with pytest.raises(ValueError, match="seed: expected an integer from 0 to 2"):
        paired_bootstrap(reference, other, seed=2**32)
    with pytest.raises(ValueError, match="level: expected a number strictly between 0 and 1"):
        unpaired_bootstrap(reference, other, level=1.0)
    with pytest.raises(ValueError, match="subset: expected sample indices"):
        paired_bootstrap(reference, other, [N])
    # The largest seed is allowed; the unpaired other model's seed then wraps to 0.
    unpaired_bootstrap(reference, other, reps=5, seed=2**32 - 1)


# ---------------------------------------------------------------------------------------------
# The fixture that src/core is checked against
# ---------------------------------------------------------------------------------------------


def _nan(x) -> np.ndarray:
    return np.array(x, dtype=np.float64)  # None → nan


def test_the_cross_implementation_fixture_still_matches_numpy() -> None:
    # If this fails after a deliberate change, regenerate with
    # `.venv/bin/python -m scripts.make_compare_fixture` (tests/ts/core/compare.test.ts reads it).
    fixture = json.loads(FIXTURE.read_text())
    for stream in fixture["mulberry32"]:
        got = mulberry32_uniform(stream["seed"], stream["start"], len(stream["values"]))
        np.testing.assert_array_equal(got, stream["values"])
    assert len(fixture["cases"]) >= 4
    for case in fixture["cases"]:
        reference, other = decompose(case["reference"]), decompose(case["other"])
        assert reference.M == other.M == case["M"]
        delta = paired_delta(reference, other, case["subset"])
        expected = case["delta"]
        assert delta.n == expected["n"]
        for key in ("global_reference", "global_other", "global_delta", "matrix_delta"):
            np.testing.assert_allclose(getattr(delta, key), _nan(expected[key]), atol=1e-12)
        for key in ("contribution_delta", "local_delta"):
            np.testing.assert_allclose(getattr(delta, key), _nan(expected[key]), atol=1e-12)
        interval = paired_bootstrap(
            reference, other, case["subset"], case["reps"], case["seed"], case["level"]
        )
        bounds = case["bootstrap"]
        assert interval.undefined_reps == bounds["undefined_reps"]
        for key in ("global_delta", "contribution_delta", "matrix_delta"):
            np.testing.assert_allclose(getattr(interval, key), _nan(bounds[key]), atol=1e-12)


# ---------------------------------------------------------------------------------------------
# Coverage: the interval means what it says
# ---------------------------------------------------------------------------------------------

# Population mean matrices of two models: the other one has more interaction. Every entry is far
# from 0 (compared with the standard error of a 300-sample mean), so |Φ̄| is smooth there and the
# percentile interval is well calibrated.
MU_REFERENCE = np.array([[1.0, 0.35, 0.30], [0.35, 0.8, 0.40], [0.30, 0.40, 0.6]])
MU_OTHER = np.array([[0.9, 0.45, 0.30], [0.45, 0.8, 0.50], [0.30, 0.50, 0.5]])
SIM_N = 300
SHARED_SD = 0.5  # per-sample variation both models see (how each sample itself differs)
OWN_SD = 0.15  # each model's own per-sample error


def _symmetric_noise(rng: np.random.Generator, n: int, sd: float) -> np.ndarray:
    z = rng.normal(scale=sd, size=(n, 3, 3))
    return np.triu(z) + np.swapaxes(np.triu(z, 1), 1, 2)


def _decomposition(mats: np.ndarray) -> Decomposition:
    """A Decomposition consistent with its matrices (as for a game with pairwise terms only)."""
    absolute = np.abs(mats)
    total = absolute.sum(axis=(1, 2))
    off = total - np.trace(absolute, axis1=1, axis2=2)
    trace = np.trace(mats, axis1=1, axis2=2)
    order_mass = np.stack([trace, mats.sum(axis=(1, 2)) - trace, np.zeros(len(mats))], axis=1)
    return Decomposition(
        M=3,
        shapley=mats.sum(axis=2),
        matrices=mats,
        local=np.where(total == 0, np.nan, off / np.where(total == 0, 1.0, total)),
        order_mass=order_mass,
    )


def _simulated_pair(seed: int) -> tuple[Decomposition, Decomposition]:
    rng = np.random.default_rng(seed)
    shared = _symmetric_noise(rng, SIM_N, SHARED_SD)
    reference = MU_REFERENCE + shared + _symmetric_noise(rng, SIM_N, OWN_SD)
    other = MU_OTHER + shared + _symmetric_noise(rng, SIM_N, OWN_SD)
    return _decomposition(reference), _decomposition(other)


def test_paired_interval_covers_the_true_delta_at_its_level_and_beats_unpaired() -> None:
    runs, unpaired_runs = 400, 100
    truth = _global_from_mean(MU_OTHER)[0] - _global_from_mean(MU_REFERENCE)[0]
    covered = 0
    paired_widths, unpaired_widths = [], []
    for k in range(runs):
        reference, other = _simulated_pair(k)
        low, high = paired_bootstrap(reference, other, reps=1000, seed=k).global_delta
        covered += low <= truth <= high
        paired_widths.append(high - low)
        if k < unpaired_runs:
            u_low, u_high = unpaired_bootstrap(reference, other, reps=1000, seed=k).global_delta
            unpaired_widths.append(u_high - u_low)
    coverage = covered / runs
    report = (
        f"true delta {truth:.4f}: coverage {coverage:.4f} over {runs} runs; mean width paired "
        f"{np.mean(paired_widths):.4f}, unpaired {np.mean(unpaired_widths):.4f}"
    )
    print(report)
    assert 0.93 <= coverage <= 0.97, report
    assert np.mean(paired_widths[:unpaired_runs]) < np.mean(unpaired_widths), report


# ---------------------------------------------------------------------------------------------
# Above _BOOTSTRAP_SAMPLE_LIMIT samples: the paired bootstrap of random groups (SPEC §4)
# ---------------------------------------------------------------------------------------------

GROUPED_FIXTURE = REPO / "tests" / "fixtures" / "compare" / "paired_grouped.json"


def _full_game(m: int) -> np.ndarray:
    """v(S) = |S|/2 + [S = full]: a common signal with synergy, so that Φ̄ is far from 0."""
    sizes = np.array([s.bit_count() for s in range(1 << m)], dtype=np.float64)
    return sizes / 2 + (np.arange(1 << m) == (1 << m) - 1)


def grouped_tables(m: int, n: int, seeds: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Two models' value tables made from mulberry32 streams, as compare.test.ts makes them.

    Shared per-sample noise, each model's own noise and a common game; the other model leans more
    on the full coalition. Every operation is exact in float64 (the streams are multiples of
    2^-32), so both sides start from the very same tables without a 30 MB fixture.
    """
    size = n * (1 << m)
    shared = mulberry32_uniform(seeds["shared"], 0, size).reshape(n, 1 << m)
    own_ref = mulberry32_uniform(seeds["reference"], 0, size).reshape(n, 1 << m)
    own_other = mulberry32_uniform(seeds["other"], 0, size).reshape(n, 1 << m)
    game = _full_game(m)
    reference = shared + 0.25 * (own_ref - 0.5) + game
    other = shared + 0.25 * (own_other - 0.5) + (game + 0.5 * (np.arange(1 << m) == (1 << m) - 1))
    return reference, other


def grouped_subset(recipe: dict[str, int] | None, n: int) -> np.ndarray | None:
    """``floor(u · n)`` for the first ``count`` outputs ``u`` of mulberry32(seed): repeats."""
    if recipe is None:
        return None
    return np.floor(mulberry32_uniform(recipe["seed"], 0, recipe["count"]) * n).astype(np.intp)


GROUPED_CASES: list[dict[str, Any]] = [
    {"name": "M=2, all 240,000 samples (12 a group)", "M": 2, "n": 240_000,
     "tables": {"shared": 1, "reference": 2, "other": 3}, "subset": None,
     "reps": 200, "seed": 0, "level": 0.95},
    {"name": "M=3, 230,000 random indices of 220,000 samples (groups of 11 and 12)", "M": 3,
     "n": 220_000, "tables": {"shared": 4, "reference": 5, "other": 6},
     "subset": {"seed": 7, "count": 230_000}, "reps": 200, "seed": 4294967295, "level": 0.9},
]  # fmt: skip


def _grouped_pair(case: dict[str, Any]) -> tuple[Decomposition, Decomposition, Any]:
    reference, other = grouped_tables(case["M"], case["n"], case["tables"])
    return decompose(reference), decompose(other), grouped_subset(case["subset"], case["n"])


def _bounds_record(interval: PairedInterval) -> dict[str, Any]:
    return {
        "global_delta": list(interval.global_delta),
        "contribution_delta": interval.contribution_delta.tolist(),
        "matrix_delta": interval.matrix_delta.tolist(),
        "undefined_reps": interval.undefined_reps,
    }


def grouped_fixture() -> dict[str, Any]:
    """The recipes of GROUPED_CASES and numpy's grouped paired bounds for each."""
    cases = []
    for case in GROUPED_CASES:
        reference, other, subset = _grouped_pair(case)
        interval = paired_bootstrap(
            reference, other, subset, case["reps"], case["seed"], case["level"]
        )
        cases.append({**case, "bootstrap": _bounds_record(interval)})
    return {
        "about": (
            "Made by `PYTHONPATH=. .venv/bin/python tests/python/test_compare_math.py` (numpy "
            "twin): the paired bootstrap above 200,000 samples; src/core must agree."
        ),
        "cases": cases,
    }


def test_the_grouped_cross_implementation_fixture_still_matches_numpy() -> None:
    # If this fails after a deliberate change, regenerate with the command in the fixture's
    # "about" (tests/ts/core/compare.test.ts reads it).
    fixture = json.loads(GROUPED_FIXTURE.read_text())
    assert [{k: c[k] for k in GROUPED_CASES[0]} for c in fixture["cases"]] == GROUPED_CASES
    for stored, made in zip(fixture["cases"], grouped_fixture()["cases"]):
        expected, got = stored["bootstrap"], made["bootstrap"]
        assert got["undefined_reps"] == expected["undefined_reps"]
        for key in ("global_delta", "contribution_delta", "matrix_delta"):
            np.testing.assert_allclose(got[key], expected[key], rtol=0, atol=1e-12)


def _spy_draws(monkeypatch) -> list[int]:
    """Records how many mulberry32 outputs each call of ``_mulberry32_bits`` computes."""
    seen: list[int] = []
    real = compare_module._mulberry32_bits

    def spy(seed: int, start: int, count: int) -> np.ndarray:
        seen.append(count)
        return real(seed, start, count)

    monkeypatch.setattr(compare_module, "_mulberry32_bits", spy)
    return seen


def _small_groups(monkeypatch, limit: int, groups: int) -> None:
    """A lower sample limit and fewer groups, so that tests reach the grouped path quickly."""
    from intershap_widget.decompose import over_samples

    monkeypatch.setattr(over_samples, "_BOOTSTRAP_SAMPLE_LIMIT", limit)
    monkeypatch.setattr(over_samples, "_BOOTSTRAP_GROUPS", groups)


def test_above_the_limit_a_resample_draws_groups_not_samples(monkeypatch) -> None:
    # The behaviour that makes it fast: the keys once (one per sample), then G draws a resample.
    reference, other, subset = _grouped_pair(GROUPED_CASES[1])
    seen = _spy_draws(monkeypatch)
    paired_bootstrap(reference, other, subset, reps=120)
    assert sum(seen) == 230_000 + 120 * 20_000
    seen.clear()
    unpaired_bootstrap(reference, other, subset, reps=120)
    assert sum(seen) == 2 * (230_000 + 120 * 20_000)
    # At the limit itself, samples are still resampled one by one.
    seen.clear()
    paired_bootstrap(reference, other, subset[:200_000], reps=2)
    assert sum(seen) == 2 * 200_000


def test_group_sums_partition_the_samples_in_key_order(monkeypatch) -> None:
    _small_groups(monkeypatch, limit=10, groups=4)
    rng = np.random.default_rng(0)
    flat = rng.normal(size=(11, 3))
    units = compare_module._units([flat, 2 * flat], seed=5)
    order = compare_module._key_order(5, 11)
    keys = compare_module._mulberry32_bits(5, 0, 11)
    # Sorted by key, ties by position; every sample in exactly one group.
    assert (np.diff(keys[order].astype(np.int64)) >= 0).all()
    assert sorted(order) == list(range(11))
    np.testing.assert_array_equal(units.sizes, [3, 3, 3, 2])
    expected = [flat[order[g::4]].sum(axis=0) for g in range(4)]
    np.testing.assert_allclose(units.rows[:, :3], expected, rtol=0, atol=1e-14)
    np.testing.assert_allclose(units.rows[:, 3:], 2 * np.array(expected), rtol=0, atol=1e-14)
    # The draws start after the keys.
    assert units.offset == 11


def test_grouped_draws_are_paired_a_constant_shift_is_recovered_exactly(monkeypatch) -> None:
    # Both models' group sums come from the same groups and every resample draws the same
    # groups for both: a shift common to every sample is then every resample's matrix delta.
    _small_groups(monkeypatch, limit=1_000, groups=200)
    reference, _ = _pair(3, 2, n=3_001)
    shift = np.arange(9.0).reshape(3, 3) / 10
    other = _shifted(reference, shift)
    paired = paired_bootstrap(reference, other, reps=200)
    np.testing.assert_allclose(paired.matrix_delta[..., 0], shift, atol=1e-12)
    np.testing.assert_allclose(paired.matrix_delta[..., 1], shift, atol=1e-12)
    # Identical models: zero, to the rounding of the one product that gives both models' means.
    same = paired_bootstrap(reference, reference, reps=50)
    np.testing.assert_allclose(same.global_delta, 0.0, atol=1e-14)
    np.testing.assert_allclose(same.matrix_delta, 0.0, atol=1e-14)
    unpaired = unpaired_bootstrap(reference, other, reps=200)
    assert (unpaired.matrix_delta[..., 1] - unpaired.matrix_delta[..., 0] > 0.02).all()


def test_grouped_interval_is_the_sample_level_interval_to_monte_carlo_noise(monkeypatch) -> None:
    # The simulated pair of the coverage test, scaled up, with the true delta known: the grouped
    # interval must match the sample-level one (what was computed before) and cover the truth.
    _small_groups(monkeypatch, limit=50_000, groups=2_000)
    rng = np.random.default_rng(3)
    n = 60_000
    shared = _symmetric_noise(rng, n, SHARED_SD)
    reference = _decomposition(MU_REFERENCE + shared + _symmetric_noise(rng, n, OWN_SD))
    other = _decomposition(MU_OTHER + shared + _symmetric_noise(rng, n, OWN_SD))
    truth = _global_from_mean(MU_OTHER)[0] - _global_from_mean(MU_REFERENCE)[0]
    grouped = paired_bootstrap(reference, other, reps=2000, seed=1)
    from intershap_widget.decompose import over_samples

    monkeypatch.setattr(over_samples, "_BOOTSTRAP_SAMPLE_LIMIT", n)
    samples = paired_bootstrap(reference, other, reps=2000, seed=1)
    for got, want in (
        (grouped.global_delta, samples.global_delta),
        *zip(grouped.contribution_delta, samples.contribution_delta),
        *zip(grouped.matrix_delta.reshape(-1, 2), samples.matrix_delta.reshape(-1, 2)),
    ):
        width = want[1] - want[0]
        assert width > 0
        # With 2,000 resamples each bound's Monte-Carlo error is a few percent of the width.
        assert abs((got[1] - got[0]) - width) < 0.1 * width
        assert abs((got[0] + got[1]) / 2 - (want[0] + want[1]) / 2) < 0.1 * width
    assert grouped.global_delta[0] <= truth <= grouped.global_delta[1]


if __name__ == "__main__":
    GROUPED_FIXTURE.write_text(json.dumps(grouped_fixture(), separators=(",", ":")) + "\n")
    print(f"wrote {GROUPED_FIXTURE}")
