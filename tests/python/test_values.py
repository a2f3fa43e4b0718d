"""The value engine (intershap_widget.values) and the model adapters (intershap_widget.models)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from intershap_widget.models import ModelError, ModelOutputError, adapt_model, softmax
from intershap_widget.values import FIRST_ROUND, ValueEngine

RNG = np.random.default_rng(1234)


def data(n: int, n_bg: int, dims: tuple[int, ...] = (2, 3), seed: int = 0) -> tuple[dict, dict]:
    rng = np.random.default_rng(seed)
    names = [f"m{i}" for i in range(len(dims))]
    x = {name: rng.normal(size=(n, d)) for name, d in zip(names, dims, strict=True)}
    bg = {name: rng.normal(size=(n_bg, d)) for name, d in zip(names, dims, strict=True)}
    return x, bg


def logits_fn(batch: dict[str, np.ndarray]) -> np.ndarray:
    """A small nonlinear 3-class model of two modalities m0 (2,) and m1 (3,)."""
    a, b = batch["m0"], batch["m1"]
    z0 = np.tanh(a[:, 0] * b[:, 1]) + 0.5 * a[:, 1]
    z1 = np.sin(a.sum(axis=1)) * b[:, 0] - b[:, 2] ** 2 * 0.3
    z2 = 0.2 * a[:, 0] * b.sum(axis=1)
    return 2.0 * np.stack([z0, z1, z2], axis=1)


def probs_fn(batch: dict[str, np.ndarray]) -> np.ndarray:
    return softmax(logits_fn(batch))


def coalition_batch(x: dict, z: dict, mask: int, names: list[str]) -> dict[str, np.ndarray]:
    """x_S with the absent modalities taken from z (broadcast when z has one row)."""
    n = len(next(iter(x.values())))
    out = {}
    for m, name in enumerate(names):
        src = x[name] if (mask >> m) & 1 else np.broadcast_to(z[name], (n, *x[name].shape[1:]))
        out[name] = np.array(src, dtype=np.float64)
    return out


def compute(model: Any, x: dict, bg: dict | None, **kw: Any):
    return ValueEngine(model, x, bg, **kw).compute_all()


# --------------------------------------------------------------------------------------------
# Exactness


def test_one_row_background_gives_exact_values_m3_any_shapes() -> None:
    rng = np.random.default_rng(5)
    x = {
        "img": rng.normal(size=(7, 2, 2)),
        "txt": rng.normal(size=(7, 3)),
        "tab": rng.normal(size=(7,)),
    }
    z = {
        "img": rng.normal(size=(1, 2, 2)),
        "txt": rng.normal(size=(1, 3)),
        "tab": rng.normal(size=(1,)),
    }
    names = ["img", "txt", "tab"]

    def f(batch: dict[str, np.ndarray]) -> np.ndarray:
        img, txt, tab = batch["img"], batch["txt"], batch["tab"]
        return (
            np.tanh(img.reshape(len(img), -1).sum(1)) * np.sin(txt[:, 0] + tab) + tab**2 * txt[:, 2]
        )

    res = compute(f, x, z, draws=9, target="output")
    assert res.values.shape == (7, 8)
    for mask in range(8):
        expected = f(coalition_batch(x, z, mask, names))
        np.testing.assert_allclose(
            res.values[:, mask], expected, rtol=0, atol=1e-12, err_msg=f"coalition {mask}"
        )
    assert np.all(res.se == 0)
    assert res.predicted_class is None
    np.testing.assert_array_equal(res.prediction, f(x))


def test_one_row_background_predicted_class_probability() -> None:
    x, _ = data(9, 1)
    z = {k: RNG.normal(size=(1, v.shape[1])) for k, v in x.items()}
    res = compute(probs_fn, x, z, draws=4)
    full = probs_fn(x)
    cls = full.argmax(1)
    np.testing.assert_array_equal(res.predicted_class, cls)
    for mask in range(4):
        p = probs_fn(coalition_batch(x, z, mask, ["m0", "m1"]))
        np.testing.assert_allclose(res.values[:, mask], p[np.arange(9), cls], rtol=0, atol=1e-12)


def test_twelve_modalities_bitmask_order() -> None:
    rng = np.random.default_rng(3)
    names = [f"m{i}" for i in range(12)]
    x = {n: rng.normal(size=(2, 1)) for n in names}
    z = {n: rng.normal(size=(1, 1)) for n in names}
    w = rng.normal(size=12)

    def f(batch: dict[str, np.ndarray]) -> np.ndarray:
        s = np.stack([batch[n][:, 0] for n in names], axis=1)
        return np.tanh(s @ w) + s[:, 0] * s[:, 11]

    res = compute(f, x, z, draws=2, target="output")
    assert res.values.shape == (2, 4096)
    for mask in [0, 1, 2, 5, 2048, 2049, 3000, 4094, 4095]:
        np.testing.assert_allclose(
            res.values[:, mask], f(coalition_batch(x, z, mask, names)), atol=1e-12
        )


def test_random_masking_lands_within_4_se_of_exact_expectation() -> None:
    x, bg = data(40, 16)
    res = compute(probs_fn, x, bg, draws=300, seed=7)
    cls = res.predicted_class
    z_scores = []
    for mask in (1, 2):
        # the exact expectation over the (uniformly drawn) background rows
        exact = np.zeros(40)
        for r in range(16):
            row = {k: v[r : r + 1] for k, v in bg.items()}
            exact += probs_fn(coalition_batch(x, row, mask, ["m0", "m1"]))[np.arange(40), cls]
        exact /= 16
        z_scores.append((res.values[:, mask] - exact) / res.se[:, mask])
    zs = np.concatenate(z_scores)
    assert np.all(np.abs(zs) < 4), zs
    assert 0.5 < np.mean(zs**2) < 1.6  # the SEs are calibrated, not merely large
    # v(∅) is the exact mean over the background
    empty = probs_fn(bg).mean(axis=0)
    np.testing.assert_allclose(res.values[:, 0], empty[cls], atol=1e-12)
    np.testing.assert_allclose(res.values[:, 3], probs_fn(x)[np.arange(40), cls], atol=1e-12)
    se_empty = probs_fn(bg).std(axis=0, ddof=1)[cls] / 4.0
    np.testing.assert_allclose(res.se[:, 0], se_empty, atol=1e-12)
    assert np.all(res.se[:, 3] == 0)


@pytest.mark.parametrize("fusion", ["dict", "early"])
def test_absent_modalities_come_jointly_from_one_background_row(fusion: str) -> None:
    # m1 and m2 are equal in every background row: drawn jointly, v({m0}) = 1 + E[i^2] = 29.5;
    # drawn from different rows it would be 1 + E[i]^2 = 21.25. (With 6 + 1 + 1 features the
    # early-fusion buffer is filled both ways: whole background rows, and per-modality blocks.)
    idx = np.arange(10, dtype=float)[:, None]
    bg = {"m0": np.repeat(idx, 6, axis=1) * 0.1, "m1": idx, "m2": idx}
    x = {"m0": np.ones((4, 6)), "m1": np.ones((4, 1)), "m2": np.ones((4, 1))}

    def f(batch: dict[str, np.ndarray]) -> np.ndarray:
        return batch["m0"].mean(axis=1) + batch["m1"][:, 0] * batch["m2"][:, 0]

    model = f if fusion == "dict" else (lambda xx: xx[:, :6].mean(axis=1) + xx[:, 6] * xx[:, 7])
    # 45 draws from 10 rows: 4 full passes over the background plus a 5-row part window
    res = compute(model, x, bg, draws=45, target="output", fusion=fusion)
    for mask in range(1, 7):
        rows = [{k: v[r : r + 1] for k, v in bg.items()} for r in range(10)]
        exact = np.mean(
            [f(coalition_batch(x, row, mask, ["m0", "m1", "m2"])) for row in rows], axis=0
        )
        assert np.all(np.abs(res.values[:, mask] - exact) <= 4 * res.se[:, mask] + 1e-12), mask
    assert np.all(np.abs(res.values[:, 1] - 29.5) < 4 * res.se[:, 1])
    assert np.all(res.se[:, 1:7] > 0)
    # a multiple of the background's size covers every row equally: the exact mean, SE 0
    whole = compute(model, x, bg, draws=40, target="output", fusion=fusion)
    np.testing.assert_allclose(whole.values[:, 1], 29.5, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(whole.se[:, 1:7], 0.0)


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
    import intershap_widget.draws as draws_module

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
    import intershap_widget.values as values_module

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
    monkeypatch.setattr(values_module, "TILE_LIMIT_BYTES", 0)
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

    shared = compute(f, x, bg, draws=64, target="output", common_draws=True)
    # coalition {a}: mean over draws of 1000*i_r ; coalition {b}: mean of i_r
    np.testing.assert_allclose(shared.values[:, 1] / 1000.0, shared.values[:, 2], rtol=1e-12)
    indep = compute(f, x, bg, draws=64, target="output")
    assert not np.allclose(indep.values[:, 1] / 1000.0, indep.values[:, 2])


# --------------------------------------------------------------------------------------------
# Determinism and batching


def test_same_seed_repeats_and_other_seed_differs() -> None:
    x, bg = data(12, 30)
    a = compute(probs_fn, x, bg, draws=50, seed=3)
    b = compute(probs_fn, x, bg, draws=50, seed=3)
    c = compute(probs_fn, x, bg, draws=50, seed=4)
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.se, b.se)
    assert not np.allclose(a.values[:, 1:3], c.values[:, 1:3])


@pytest.mark.parametrize("batch_rows", [10_000, 500, 37, 6])
def test_values_do_not_depend_on_batching_or_chunking(batch_rows: int) -> None:
    # 100 draws x 2 coalitions = 200 rows per sample: 10000 -> many samples per batch,
    # 500 -> 2 samples, 37 -> one coalition split... 6 -> draws of one coalition split
    x, bg = data(7, 30)
    ref = compute(probs_fn, x, bg, draws=100, seed=11)
    eng = ValueEngine(probs_fn, x, bg, draws=100, seed=11, batch_rows=batch_rows)
    got = eng.compute_all(chunk_samples=3)
    np.testing.assert_allclose(got.values, ref.values, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.se, ref.se, rtol=0, atol=1e-12)
    assert got.model_rows == ref.model_rows


def test_iter_chunks_fields_and_ranges() -> None:
    x, bg = data(10, 20)
    eng = ValueEngine(probs_fn, x, bg, draws=20)
    chunks = list(eng.iter_chunks(chunk_samples=4))
    assert [(c.start, len(c)) for c in chunks] == [(0, 4), (4, 4), (8, 2)]
    c = chunks[1]
    assert c.values.shape == (4, 4) and c.values.dtype == np.float64 and c.se.shape == (4, 4)
    assert c.predicted_class is not None and c.predicted_class.dtype == np.int64
    np.testing.assert_array_equal(c.prediction, c.values[:, 3])
    np.testing.assert_array_equal(c.draws, 20)
    assert c.model_rows == 4 * 2 * 20 + 4
    assert eng.n_samples == 10 and eng.M == 2 and eng.names == ("m0", "m1") and eng.n_classes == 3
    assert eng.empty_value.shape == (3,)
    tail = list(eng.iter_chunks(chunk_samples=100, start=8))
    np.testing.assert_allclose(tail[0].values, chunks[2].values)


def test_progress_callback() -> None:
    x, bg = data(10, 20)
    seen: list[tuple[int, int, int]] = []
    eng = ValueEngine(probs_fn, x, bg, draws=10)
    eng.compute_all(progress=lambda *a: seen.append(a), chunk_samples=4)
    assert [s[:2] for s in seen] == [(4, 10), (8, 10), (10, 10)]
    assert seen[-1][2] == eng.model_rows and seen[0][2] < seen[1][2]


# --------------------------------------------------------------------------------------------
# Mean and baseline masking


def test_mean_masking_is_deterministic_and_exact() -> None:
    x, bg = data(6, 25)
    res = compute(probs_fn, x, bg, masking="mean", draws=500)
    mean_row = {k: v.mean(axis=0, keepdims=True) for k, v in bg.items()}
    cls = probs_fn(x).argmax(1)
    for mask in range(4):
        p = probs_fn(coalition_batch(x, mean_row, mask, ["m0", "m1"]))[np.arange(6), cls]
        np.testing.assert_allclose(res.values[:, mask], p, atol=1e-12)
    assert np.all(res.se == 0)
    assert res.model_rows == 4 + 1 + 6 + 6 * 2  # probe, f(mean), full, one row per coalition


@pytest.mark.parametrize("baseline", [0, {"m0": np.array([1.0, -1.0]), "m1": 0.5}])
def test_baseline_masking(baseline: Any) -> None:
    x, _ = data(5, 1)
    res = compute(probs_fn, x, None, masking="baseline", baseline=baseline)
    base = {
        "m0": np.zeros((1, 2)) if baseline == 0 else baseline["m0"][None],
        "m1": np.full((1, 3), 0.0 if baseline == 0 else 0.5),
    }
    cls = probs_fn(x).argmax(1)
    for mask in range(4):
        p = probs_fn(coalition_batch(x, base, mask, ["m0", "m1"]))[np.arange(5), cls]
        np.testing.assert_allclose(res.values[:, mask], p, atol=1e-12)
    assert np.all(res.se == 0)


# --------------------------------------------------------------------------------------------
# Targets and output kinds


def test_targets_int_all_predicted_agree() -> None:
    x, bg = data(8, 20)
    kw = {"draws": 30, "seed": 2}
    all_ = compute(probs_fn, x, bg, target="all", **kw)
    assert all_.values.shape == (8, 3, 4) and all_.se.shape == (8, 3, 4)
    for c in range(3):
        one = compute(probs_fn, x, bg, target=c, **kw)
        np.testing.assert_allclose(all_.values[:, c], one.values, atol=1e-12)
        np.testing.assert_allclose(all_.se[:, c], one.se, atol=1e-12)
        np.testing.assert_array_equal(one.prediction, one.values[:, 3])  # v(full) of class c
    pred = compute(probs_fn, x, bg, target="predicted", **kw)
    cls = pred.predicted_class
    np.testing.assert_allclose(pred.values, all_.values[np.arange(8), cls], atol=1e-12)
    np.testing.assert_allclose(pred.prediction, probs_fn(x).max(axis=1), atol=1e-12)
    # every class sums to 1 in every coalition (probabilities, same draws for all classes)
    np.testing.assert_allclose(all_.values.sum(axis=1), 1.0, atol=1e-12)


def test_output_target_squeezes_n_by_1() -> None:
    x, bg = data(6, 10)

    def reg(batch: dict[str, np.ndarray]) -> np.ndarray:
        return np.tanh(batch["m0"][:, 0] * batch["m1"][:, 1]) * 3.0

    flat = compute(reg, x, bg, target="output", draws=20)
    col = compute(lambda b: reg(b)[:, None], x, bg, target="output", draws=20)
    np.testing.assert_array_equal(flat.values, col.values)
    assert flat.n_classes == 1


def test_output_target_with_several_outputs_suggests_class() -> None:
    x, bg = data(6, 10)
    with pytest.raises(
        ValueError,
        match=r"target: 'output' explains one raw output per row, but the model returns 3 per row; pass target=<class index> \(0..2\)",
    ):
        ValueEngine(probs_fn, x, bg, target="output")


def test_predicted_target_with_single_output_suggests_output() -> None:
    x, bg = data(6, 10)
    with pytest.raises(
        ValueError, match=r"target: 'predicted' needs one output per class .* pass target='output'"
    ):
        ValueEngine(lambda b: b["m0"][:, 0], x, bg)


@pytest.mark.parametrize("target", ["predicted", 1, "all"])
def test_logits_are_softmaxed(target: Any) -> None:
    x, bg = data(10, 20)
    kw = {"draws": 25, "seed": 9, "target": target}
    from_probs = compute(probs_fn, x, bg, **kw)
    from_logits = compute(logits_fn, x, bg, **kw)
    forced = compute(logits_fn, x, bg, output="logits", **kw)
    np.testing.assert_allclose(from_logits.values, from_probs.values, atol=1e-12)
    np.testing.assert_allclose(from_logits.se, from_probs.se, atol=1e-10)
    np.testing.assert_allclose(forced.values, from_probs.values, atol=1e-12)
    np.testing.assert_allclose(from_logits.empty_value, from_probs.empty_value, atol=1e-12)


def test_forced_probabilities_on_logits_is_an_error() -> None:
    x, bg = data(5, 10)
    eng = ValueEngine(logits_fn, x, bg, output="probabilities", draws=5)
    with pytest.raises(
        ModelOutputError,
        match=r"model: output='probabilities' but the outputs are outside \[0, 1\]",
    ):
        eng.compute_all()


def test_outputs_that_stop_looking_like_probabilities() -> None:
    x, bg = data(5, 10)

    def sneaky(batch: dict[str, np.ndarray]) -> np.ndarray:
        out = logits_fn(batch)
        return softmax(out) if len(out) <= 10 else out

    eng = ValueEngine(sneaky, x, bg, draws=50)
    with pytest.raises(
        ModelOutputError,
        match=r"outputs looked like probabilities .* on the first rows, but not on a later batch",
    ):
        eng.compute_all()


# --------------------------------------------------------------------------------------------
# Adapters


def _g(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return probs_fn({"m0": a, "m1": b})


@pytest.mark.parametrize(
    ("fusion", "model"),
    [
        ("dict", lambda batch: _g(batch["m0"], batch["m1"])),
        ("list", lambda arrays: _g(arrays[0], arrays[1])),
        ("args", lambda a, b: _g(a, b)),
        ("early", lambda x: _g(x[:, :2], x[:, 2:])),
    ],
)
def test_callable_fusions_agree(fusion: str, model: Callable) -> None:
    x, bg = data(6, 15)
    ref = compute(probs_fn, x, bg, draws=20)
    got = compute(model, x, bg, draws=20, fusion=fusion)
    np.testing.assert_allclose(got.values, ref.values, atol=1e-12)


def test_adapter_call_convention() -> None:
    f = adapt_model(lambda x: x[:, 0] * 2.0, ["a", "b"], fusion="early")
    out = f({"a": np.ones((3, 1)), "b": np.zeros((3, 2))})
    assert out.shape == (3,) and out.dtype == np.float64 and f.kind == "callable"
    np.testing.assert_array_equal(out, 2.0)
    g = adapt_model(lambda batch: batch["a"] * 2.0, ["a", "b"])
    assert g({"a": np.ones((3, 1)), "b": np.zeros((3, 2))}).shape == (3, 1)


class TwoInput(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = torch.nn.Linear(2, 4)
        self.b = torch.nn.Linear(3, 4)
        self.head = torch.nn.Linear(4, 3)
        self.drop = torch.nn.Dropout(0.5)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(torch.tanh(self.a(a)) * torch.tanh(self.b(b))))


def _early_mlp() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(5, 6), torch.nn.ReLU(), torch.nn.Dropout(0.3), torch.nn.Linear(6, 2)
    )


def test_torch_early_module_matches_callable_and_is_in_eval_mode() -> None:
    x, bg = data(6, 15)
    module = _early_mlp().train()

    def reference(xx: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return module.eval()(torch.from_numpy(xx.astype(np.float32))).numpy()

    ref = compute(reference, x, bg, draws=20, fusion="early")
    eng = ValueEngine(module.train(), x, bg, draws=20)
    assert eng.fusion == "early" and eng.model.kind == "torch"
    got = eng.compute_all()
    assert not module.training
    np.testing.assert_allclose(got.values, ref.values, atol=1e-6)


def test_torch_two_input_module_gets_positional_tensors() -> None:
    x, bg = data(6, 15)
    torch.manual_seed(1)
    module = TwoInput()
    eng = ValueEngine(module, x, bg, draws=20)
    assert eng.fusion == "args"
    got = eng.compute_all()

    def reference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return module(torch.from_numpy(a).float(), torch.from_numpy(b).float()).numpy()

    ref = compute(reference, x, bg, draws=20, fusion="args")
    np.testing.assert_allclose(got.values, ref.values, atol=1e-6)


def test_sklearn_logistic_regression() -> None:
    from sklearn.linear_model import LogisticRegression

    x, bg = data(30, 15)
    feats = np.concatenate([x["m0"], x["m1"]], axis=1)
    clf = LogisticRegression().fit(feats, (feats[:, 0] * feats[:, 3] > 0).astype(int))
    got = compute(clf, x, bg, draws=20)
    ref = compute(lambda f: clf.predict_proba(f), x, bg, draws=20, fusion="early")
    np.testing.assert_allclose(got.values, ref.values, atol=1e-12)
    with pytest.raises(
        ValueError,
        match=r"fusion: a scikit-learn estimator gets the concatenated features \(fusion='early'\), got 'dict'",
    ):
        ValueEngine(clf, x, bg, fusion="dict")


def test_onnx_from_torch_export_bytes_and_path(tmp_path: Any) -> None:
    import io
    import warnings

    x, bg = data(6, 15)
    module = _early_mlp().eval()
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (torch.zeros(1, 5),),
            buffer,
            input_names=["x"],
            output_names=["y"],
            dynamic_axes={"x": {0: "n"}, "y": {0: "n"}},
            dynamo=False,
        )
    ref = compute(module, x, bg, draws=20)
    got = compute(buffer.getvalue(), x, bg, draws=20)
    np.testing.assert_allclose(got.values, ref.values, atol=1e-5)
    path = tmp_path / "mlp.onnx"
    path.write_bytes(buffer.getvalue())
    eng = ValueEngine(str(path), x, bg, draws=20)
    assert eng.model.kind == "onnx" and eng.fusion == "early"
    np.testing.assert_allclose(eng.compute_all().values, ref.values, atol=1e-5)


def test_onnx_graph_with_one_input_per_modality() -> None:
    import onnx
    from onnx import TensorProto, helper

    w = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Concat", ["a", "b"], ["ab"], axis=1),
            helper.make_node("MatMul", ["ab", "w"], ["z"]),
            helper.make_node("Softmax", ["z"], ["p"], axis=1),
        ],
        "two_inputs",
        [
            helper.make_tensor_value_info("a", TensorProto.FLOAT, ["n", 2]),
            helper.make_tensor_value_info("b", TensorProto.FLOAT, ["n", 3]),
        ],
        [helper.make_tensor_value_info("p", TensorProto.FLOAT, ["n", 3])],
        initializer=[helper.make_tensor("w", TensorProto.FLOAT, w.shape, w.ravel())],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    x, bg = data(6, 15)
    eng = ValueEngine(model, x, bg, draws=20)
    assert eng.fusion == "list"
    got = eng.compute_all()

    def reference(batch: dict[str, np.ndarray]) -> np.ndarray:
        ab = np.concatenate([batch["m0"], batch["m1"]], axis=1).astype(np.float32)
        return softmax(ab @ w)

    ref = compute(reference, x, bg, draws=20)
    np.testing.assert_allclose(got.values, ref.values, atol=1e-5)
    with pytest.raises(
        ValueError,
        match=r"model: the ONNX input 'a' expects per-sample shape \(2,\), modalities\['m0'\] has \(4,\)",
    ):
        ValueEngine(
            model,
            {"m0": np.ones((3, 4)), "m1": np.ones((3, 3))},
            {"m0": np.ones((5, 4)), "m1": np.ones((5, 3))},
        )


# --------------------------------------------------------------------------------------------
# Model output validation and model errors


@pytest.mark.parametrize(
    ("model", "pattern"),
    [
        (
            lambda b: probs_fn(b)[:-1],
            r"model: expected 4 rows of output \(one per input row\), got 3 \(output shape \(3, 3\)\)",
        ),
        (
            lambda b: (probs_fn(b), probs_fn(b)),
            r"model: expected an array of shape \(4,\) or \(4, K\), got a tuple of 2 arrays",
        ),
        (
            lambda b: probs_fn(b)[:, :, None],
            r"model: expected an output of shape \(4,\) or \(4, K\), got shape \(4, 3, 1\)",
        ),
        (
            lambda b: np.full((len(b["m0"]), 2), np.nan),
            r"model: expected finite outputs, got nan at row 0, column 0 of a batch of 4 rows",
        ),
    ],
)
def test_bad_model_outputs(model: Callable, pattern: str) -> None:
    x, bg = data(6, 10)
    with pytest.raises(ModelOutputError, match=pattern):
        ValueEngine(model, x, bg)


def test_number_of_outputs_changing_between_calls() -> None:
    x, bg = data(6, 10)

    def model(b: dict[str, np.ndarray]) -> np.ndarray:
        p = probs_fn(b)
        return p if len(p) <= 10 else p[:, :2]

    with pytest.raises(
        ModelOutputError, match=r"model: expected 3 outputs per row like on earlier batches, got 2"
    ):
        compute(model, x, bg, draws=10)


class FailAfter:
    def __init__(self, calls: int) -> None:
        self.calls = 0
        self.limit = calls

    def __call__(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        self.calls += 1
        if self.calls > self.limit:
            raise ZeroDivisionError("boom")
        return probs_fn(batch)


def test_model_raising_at_once_is_wrapped() -> None:
    x, bg = data(6, 10)
    with pytest.raises(
        ModelError,
        match=r"model raised ZeroDivisionError: boom on a batch of 4 rows\. The model received a dict of arrays",
    ) as info:
        ValueEngine(FailAfter(0), x, bg)
    assert isinstance(info.value.__cause__, ZeroDivisionError)
    assert isinstance(info.value, RuntimeError)


def test_model_raising_midway_keeps_earlier_chunks() -> None:
    x, bg = data(12, 10)
    ref = compute(probs_fn, x, bg, draws=10)
    # calls: probe, background, then per chunk of 3 samples: full + 1 coalition batch
    model = FailAfter(2 + 2 * 2 + 1)
    eng = ValueEngine(model, x, bg, draws=10, batch_rows=1000)
    seen = []
    with pytest.raises(
        ModelError, match=r"model raised ZeroDivisionError: boom on a batch of \d+ rows"
    ) as info:
        for chunk in eng.iter_chunks(chunk_samples=3):
            seen.append(chunk)  # noqa: PERF402 - keeps the chunks yielded before the error
    assert [c.start for c in seen] == [0, 3]
    np.testing.assert_allclose(np.concatenate([c.values for c in seen]), ref.values[:6], atol=1e-12)

    eng = ValueEngine(FailAfter(2 + 2 * 2 + 1), x, bg, draws=10, batch_rows=1000)
    with pytest.raises(ModelError) as info:
        eng.compute_all(chunk_samples=3)
    partial = info.value.partial  # type: ignore[attr-defined]
    assert partial.values.shape == (6, 4) and not partial.complete
    np.testing.assert_allclose(partial.values, ref.values[:6], atol=1e-12)


# --------------------------------------------------------------------------------------------
# Cancellation


def test_cancel_within_a_chunk_keeps_finished_samples() -> None:
    x, bg = data(10, 10)
    ref = compute(probs_fn, x, bg, draws=10)
    holder: dict[str, ValueEngine] = {}
    calls = {"n": 0}

    def model(batch: dict[str, np.ndarray]) -> np.ndarray:
        calls["n"] += 1
        if calls["n"] == 2 + 1 + 4:  # probe, background, full rows, then 4 coalition batches
            holder["engine"].cancel()
        return probs_fn(batch)

    eng = ValueEngine(model, x, bg, draws=10, batch_rows=20)  # one sample per coalition batch
    holder["engine"] = eng
    res = eng.compute_all(chunk_samples=10)
    assert not res.complete and res.values.shape == (4, 4)
    np.testing.assert_allclose(res.values, ref.values[:4], atol=1e-12)
    assert eng.cancelled
    assert eng.compute_all().values.shape[0] == 0  # sticky until reset
    eng.reset_cancel()
    np.testing.assert_allclose(eng.compute_all().values, ref.values, atol=1e-12)


def test_cancel_from_another_thread() -> None:
    x, bg = data(40, 10)

    def slow(batch: dict[str, np.ndarray]) -> np.ndarray:
        time.sleep(0.005)
        return probs_fn(batch)

    eng = ValueEngine(slow, x, bg, draws=10, batch_rows=20)
    box: dict[str, Any] = {}
    first_chunk = threading.Event()
    thread = threading.Thread(
        target=lambda: box.setdefault(
            "res", eng.compute_all(progress=lambda *_: first_chunk.set(), chunk_samples=8)
        )
    )
    thread.start()
    assert first_chunk.wait(timeout=10)
    eng.cancel()
    thread.join(timeout=5)
    assert not thread.is_alive()
    res = box["res"]
    assert 0 < res.values.shape[0] < 40 and not res.complete
    ref = compute(probs_fn, x, bg, draws=10)
    np.testing.assert_allclose(res.values, ref.values[: res.values.shape[0]], atol=1e-12)


# --------------------------------------------------------------------------------------------
# Adaptive draws


def test_adaptive_draws_use_fewer_rows_on_an_easy_model() -> None:
    x, bg = data(20, 50)

    def easy(batch: dict[str, np.ndarray]) -> np.ndarray:
        # depends on the modalities so weakly that every SE is tiny after the first round
        a, b = batch["m0"][:, 0], batch["m1"][:, 0]
        z = np.stack([0.3 + 1e-3 * np.tanh(a * b + a), np.zeros_like(a)], axis=1)
        return softmax(z)

    fixed = compute(easy, x, bg, draws=1000)
    auto = compute(easy, x, bg, draws="auto")
    np.testing.assert_array_equal(auto.draws, FIRST_ROUND)
    # a pilot of 32 draws per coalition, then 32 more for the values: 64 of 1000. Both also run
    # the probe, v(∅), the full samples and the 2 × 50 rows that stratify the background.
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


def test_background_cap_for_empty_value() -> None:
    x, bg = data(4, 50)
    eng = ValueEngine(probs_fn, x, bg, draws=5, max_background=20)
    rows = eng.model_rows
    list(eng.iter_chunks(chunk_samples=100, stop=0))
    assert eng.model_rows - rows == 20


def test_stratified_order_spreads_each_stratum_over_every_window() -> None:
    from intershap_widget.draws import BackgroundWindows

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
    with pytest.raises(TypeError, match="stratify: expected True or False, got 'yes'"):
        ValueEngine(model, x, bg, stratify="yes")
