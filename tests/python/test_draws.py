"""Which background rows the value engine draws: windows, the tile, adaptive draws, strata."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from engine_helpers import compute, data, probs_fn

from intershap_widget.engine import ValueEngine
from intershap_widget.engine.draws import FIRST_ROUND
from intershap_widget.models import softmax

# --------------------------------------------------------------------------------------------
# Draw windows and the tile


def test_draws_of_one_sample_are_distinct_rows_and_coalition_windows_disjoint() -> None:
    n_bg, draws = 50, 20
    # a present modality carries its sample's number (-1 - i); background rows their own index
    ids = -1.0 - np.arange(6)[:, None]
    x = {"a": ids, "b": ids}
    bg = {
        "a": np.arange(n_bg, dtype=float)[:, None],
        "b": 1000 + np.arange(n_bg, dtype=float)[:, None],
    }
    seen: list[tuple[np.ndarray, np.ndarray]] = []

    def f(batch: dict[str, np.ndarray]) -> np.ndarray:
        seen.append((batch["a"][:, 0].copy(), batch["b"][:, 0].copy()))
        return batch["a"][:, 0] + batch["b"][:, 0]

    res = compute(f, x, bg, draws=draws, target="output")
    a = np.concatenate([s[0] for s in seen])
    b = np.concatenate([s[1] for s in seen])
    coalition_a = (a < 0) & (b >= 1000)  # coalition {a}: b drawn
    coalition_b = (b < 0) & (a >= 0)  # coalition {b}: a drawn
    assert coalition_a.sum() == coalition_b.sum() == 6 * draws
    for i in range(6):
        rows_a = b[coalition_a & (a == -1 - i)] - 1000
        rows_b = a[coalition_b & (b == -1 - i)]
        assert len(set(rows_a)) == len(set(rows_b)) == draws  # without replacement
        assert not set(rows_a) & set(rows_b)  # disjoint windows: independent errors
        # the SE carries the finite-population factor (1 - R/n) of sampling without replacement
        expected = rows_b.std(ddof=1) / np.sqrt(draws) * np.sqrt(1 - draws / n_bg)
        np.testing.assert_allclose(res.se[i, 2], expected, rtol=1e-12)


@pytest.mark.parametrize("path", ["gathered", "no reordered copy"])
def test_block_copies_and_gathers_give_identical_values(
    path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import intershap_widget.engine.draws as draws_module

    x, bg = data(9, 70, dims=(3, 4, 2))

    def early_probs(z: np.ndarray) -> np.ndarray:
        return probs_fn({"m0": z[:, :3], "m1": z[:, 3:7], "m2": z[:, 7:]})

    def both() -> tuple[Any, Any]:
        # windows of 150 draws ≥ MIN_BLOCK_DRAWS: copied as blocks unless patched below
        return (
            compute(probs_fn, x, bg, draws=150, seed=5),
            compute(early_probs, x, bg, draws=150, seed=5, fusion="early"),
        )

    ref, ref_early = both()
    if path == "gathered":
        monkeypatch.setattr(draws_module, "MIN_BLOCK_DRAWS", 10_000)
    else:
        monkeypatch.setattr(draws_module, "POOL_LIMIT_BYTES", 0)
    got, early = both()
    np.testing.assert_array_equal(got.values, ref.values)
    np.testing.assert_array_equal(got.se, ref.se)
    np.testing.assert_array_equal(early.values, ref_early.values)
    np.testing.assert_allclose(early.values, ref.values, rtol=0, atol=1e-12)


@pytest.mark.parametrize("fusion", ["dict", "early"])
@pytest.mark.parametrize(
    ("batch_rows", "chunk_samples"),
    [
        (100_000, 25),  # several blocks per call; chunks start inside blocks
        (250, 256),  # a block (2 coalitions x 12 slots x 100 draws) split over 12 calls
        (120, 24),  # one window per call
    ],
)
def test_tile_and_batches_built_from_scratch_give_identical_values(
    fusion: str, batch_rows: int, chunk_samples: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import intershap_widget.engine.plan as plan_module

    x, bg = data(60, 30, dims=(2, 3))  # 100 draws from 30 rows: G = 4 * ceil(30 / 10) = 12 slots

    def model(batch: Any) -> np.ndarray:
        if fusion == "early":
            batch = {"m0": batch[:, :2], "m1": batch[:, 2:]}
        return probs_fn(batch)

    def run() -> tuple[Any, ValueEngine]:
        eng = ValueEngine(model, x, bg, draws=100, seed=2, batch_rows=batch_rows, fusion=fusion)
        return eng.compute_all(chunk_samples=chunk_samples), eng

    tiled, eng = run()
    assert eng._tile is not None and eng._tile.buffers is not None  # the tile was used
    monkeypatch.setattr(plan_module, "TILE_LIMIT_BYTES", 0)
    scratch, eng = run()
    assert eng._tile is None
    np.testing.assert_array_equal(tiled.values, scratch.values)
    np.testing.assert_array_equal(tiled.se, scratch.se)
    assert tiled.model_rows == scratch.model_rows


def test_fixed_draws_spread_evenly_over_the_background() -> None:
    # slots: the windows of a coalition start every R/4 rows round the background, so over many
    # samples every row is drawn equally often, and the samples of one block take every slot once
    n_bg, draws, n = 60, 20, 300  # G = 4 * 60 / 20 = 12 slots, 5 rows apart; 25 blocks
    x = {"a": -1.0 - np.arange(n)[:, None], "b": -np.ones((n, 1))}
    bg = {"a": np.zeros((n_bg, 1)), "b": np.arange(n_bg, dtype=float)[:, None]}
    drawn: dict[int, list[float]] = {}

    def f(batch: dict[str, np.ndarray]) -> np.ndarray:
        a, b = batch["a"][:, 0], batch["b"][:, 0]
        for sample, row in zip(-a[(a < 0) & (b >= 0)] - 1, b[(a < 0) & (b >= 0)], strict=True):
            drawn.setdefault(int(sample), []).append(row)  # in draw order
        return a + b

    eng = ValueEngine(f, x, bg, draws=draws, target="output")
    eng.compute_all()
    counts = np.bincount(np.concatenate([drawn[i] for i in range(n)]).astype(int), minlength=n_bg)
    assert counts.min() == counts.max() == n * draws // n_bg
    # a window is consecutive rows of the background's seeded order: where does each one start?
    assert eng._windows is not None
    position = np.argsort(eng._windows.order)
    starts = position[np.array([drawn[i][0] for i in range(n)], dtype=int)].reshape(25, 12)
    for block in starts:
        assert sorted(block) == list(range(0, n_bg, 5))
    # which slot a position in the block gets is a seeded rotation, not a fixed assignment
    assert len(set(starts[:, 0])) > 3


def test_common_draws_share_rows_across_coalitions() -> None:
    n_bg = 50
    x = {"a": np.zeros((5, 1)), "b": np.zeros((5, 1))}
    bg = {"a": np.arange(n_bg, dtype=float)[:, None], "b": np.arange(n_bg, dtype=float)[:, None]}

    def f(batch: dict[str, np.ndarray]) -> np.ndarray:
        return batch["a"][:, 0] + 1000.0 * batch["b"][:, 0]

    shared = compute(f, x, bg, draws=32, target="output", common_draws=True)
    # coalition {a}: mean over draws of 1000*i_r ; coalition {b}: mean of i_r
    np.testing.assert_allclose(shared.values[:, 1] / 1000.0, shared.values[:, 2], rtol=1e-12)
    indep = compute(f, x, bg, draws=32, target="output")
    assert not np.allclose(indep.values[:, 1] / 1000.0, indep.values[:, 2])


# --------------------------------------------------------------------------------------------
# Adaptive draws


def test_adaptive_draws_use_fewer_rows_on_an_easy_model() -> None:
    # 1000 background rows: draws are capped at the background's size
    x, bg = data(20, 1000)

    def easy(batch: dict[str, np.ndarray]) -> np.ndarray:
        # depends on the modalities so weakly that every SE is tiny after the first round
        a, b = batch["m0"][:, 0], batch["m1"][:, 0]
        z = np.stack([0.3 + 1e-3 * np.tanh(a * b + a), np.zeros_like(a)], axis=1)
        return softmax(z)

    fixed = compute(easy, x, bg, draws=1000, stratify=False)
    auto = compute(easy, x, bg, draws="auto", stratify=False)
    np.testing.assert_array_equal(auto.draws, FIRST_ROUND)
    # a pilot of 32 draws per coalition, then 32 more for the values: 64 of 1000. Both also run
    # the probe, v(∅) and the full samples.
    overhead = fixed.model_rows - 20 * 2 * 1000
    assert auto.model_rows - overhead == 20 * 2 * (FIRST_ROUND + FIRST_ROUND)
    assert auto.model_rows - overhead < (fixed.model_rows - overhead) / 15
    np.testing.assert_allclose(auto.values, fixed.values, atol=1e-4)
    assert np.all(auto.se < 0.01)


def test_adaptive_draws_keep_drawing_on_a_hard_model() -> None:
    x, bg = data(20, 50)
    auto = ValueEngine(probs_fn, x, bg, draws="auto", tolerance=0.02, max_draws=600).compute_all()
    assert auto.draws.max() > FIRST_ROUND
    capped = auto.draws == 600
    assert np.all(auto.se[~capped][:, 1:3] < 0.02)
    assert set(np.unique(auto.draws)) <= {32, 48, 72, 108, 162, 243, 365, 548, 600}
    again = ValueEngine(
        probs_fn, x, bg, draws="auto", tolerance=0.02, max_draws=600, batch_rows=100
    )
    np.testing.assert_allclose(again.compute_all(chunk_samples=7).values, auto.values, atol=1e-12)


def test_adaptive_draws_are_unbiased_when_first_draws_agree_by_chance() -> None:
    # v({m0}) of every sample is 0.01 + 0.98·(share of background rows with flag 1) = 0.892: one
    # sample in 30 sees 32 flags of 1 in a row. Judged on its own draws, such a sample would stop
    # at once with 0.99; the separate pilot keeps the values unbiased.
    n, n_bg = 400, 500
    flags = (np.arange(n_bg) < 450).astype(float)[:, None]
    x = {"m0": np.zeros((n, 1)), "m1": np.ones((n, 1))}
    bg = {"m0": np.zeros((n_bg, 1)), "m1": flags}

    def f(batch: dict[str, np.ndarray]) -> np.ndarray:
        p0 = 0.01 + 0.98 * batch["m1"][:, 0]
        return np.stack([p0, 1 - p0], axis=1)

    # unstratified: strata would put 45 flags of 1 in every 50 draws, and no sample would be lucky
    eng = ValueEngine(f, x, bg, draws="auto", tolerance=0.03, stratify=False)
    res = eng.compute_all()
    exact = 0.01 + 0.98 * 0.9
    spread = res.values[:, 1].std(ddof=1) / np.sqrt(n)
    assert abs(res.values[:, 1].mean() - exact) < 3.5 * spread
    # the samples whose pilot agreed got the fewest draws, yet their values come from fresh ones
    lucky = res.draws == FIRST_ROUND
    assert lucky.sum() >= 5
    lucky_values = res.values[lucky, 1]
    assert abs(lucky_values.mean() - exact) < 4 * 0.29 / np.sqrt(FIRST_ROUND * lucky.sum())
    assert res.draws.max() > FIRST_ROUND
    # model rows: the background once for v(∅), the full samples, and per sample and coalition
    # the pilot plus the drawn rows
    assert res.model_rows == 4 + n_bg + n + 2 * int(np.sum(FIRST_ROUND + res.draws))


def test_stratified_order_spreads_each_stratum_over_every_window() -> None:
    from intershap_widget.engine.draws import BackgroundWindows

    n = 100
    strata = np.repeat([7, 3, 5], [50, 30, 20])  # any int labels, sizes 50/30/20
    rows = [np.arange(n, dtype=float)[:, None]]
    windows = BackgroundWindows(rows, np.array([11], dtype=np.uint64), stride=10)
    windows.stratify(strata)
    assert sorted(windows.order.tolist()) == list(range(n))
    np.testing.assert_array_equal(windows.pool[0][:, 0], windows.order)  # the copy follows it
    ring = np.concatenate([strata[windows.order]] * 2)
    for start in range(n):  # every window of 10 draws, wrapping, holds 5/3/2 of them, ± 1
        window = ring[start : start + 10]
        for label, share in ((7, 5), (3, 3), (5, 2)):
            assert abs(int(np.sum(window == label)) - share) <= 1
    again = BackgroundWindows(rows, np.array([11], dtype=np.uint64), stride=10)
    again.stratify(strata)
    np.testing.assert_array_equal(again.order, windows.order)  # seeded


def _hidden_bit_xor(n: int, seed: int) -> tuple[dict, Callable[[dict], np.ndarray]]:
    """Rows whose modalities each carry one hidden bit (the sign of feature 0) in noise.

    The model predicts class 1 with 0.9 when the bits differ (HD-XOR in miniature).
    """
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2, size=(n, 2))
    rows = {
        f"m{m}": np.c_[(2 * bits[:, m] - 1) * (1 + rng.random(n)), rng.normal(size=(n, 2))]
        for m in range(2)
    }

    def model(batch: dict) -> np.ndarray:
        differ = (batch["m0"][:, 0] > 0) != (batch["m1"][:, 0] > 0)
        p1 = np.where(differ, 0.9, 0.1)
        return np.stack([1 - p1, p1], axis=1)

    return rows, model


def test_stratified_windows_cut_the_monte_carlo_error_and_stay_unbiased() -> None:
    x, model = _hidden_bit_xor(400, seed=1)
    bg, _ = _hidden_bit_xor(400, seed=2)  # its 2 × 400 rows to stratify: 5% of 400 × 2 × 20
    exact = compute(model, x, bg, draws=400).values  # every background row once
    errors, rows = {}, {}
    for stratify in (True, False):
        results = [
            compute(model, x, bg, draws=20, seed=seed, stratify=stratify) for seed in range(5)
        ]
        runs = [r.values - exact for r in results]
        errors[stratify] = np.sqrt(np.mean(np.square(runs)))
        rows[stratify] = results[0].model_rows
        assert abs(np.mean(runs)) < 0.01  # no bias either way
    # one reference row splits each modality's bit, so each window holds about as many rows
    # with each bit as the background
    assert errors[True] < 0.35 * errors[False]  # measured: 0.23
    assert rows[True] - rows[False] == 2 * 400  # each modality swapped in from every row
    # with 2 draws the 800 rows would be half the job's (over 5%): not stratified
    cheap = [compute(model, x, bg, draws=2, stratify=s) for s in (True, False)]
    np.testing.assert_array_equal(cheap[0].values, cheap[1].values)
    assert cheap[0].model_rows == cheap[1].model_rows
