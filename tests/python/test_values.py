"""The value engine (intershap_widget.values): exact values, determinism, masking, targets, cancelling.

The draw windows and adaptive draws are tested in test_draws.py, the model adapters in test_models.py.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest
from engine_helpers import coalition_batch, compute, data, logits_fn, probs_fn

from intershap_widget.engine import ValueEngine
from intershap_widget.models import ModelOutputError, softmax

RNG = np.random.default_rng(1234)


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
    # 300 of 400 rows: draws are capped at the background's size (R = n is the exact mean)
    x, bg = data(40, 400)
    res = compute(probs_fn, x, bg, draws=300, seed=7)
    cls = res.predicted_class
    z_scores = []
    for mask in (1, 2):
        # the exact expectation over the (uniformly drawn) background rows
        exact = np.zeros(40)
        for r in range(400):
            row = {k: v[r : r + 1] for k, v in bg.items()}
            exact += probs_fn(coalition_batch(x, row, mask, ["m0", "m1"]))[np.arange(40), cls]
        exact /= 400
        z_scores.append((res.values[:, mask] - exact) / res.se[:, mask])
    zs = np.concatenate(z_scores)
    assert np.all(np.abs(zs) < 4), zs
    assert 0.5 < np.mean(zs**2) < 1.6  # the SEs are calibrated, not merely large
    # v(∅) is the exact mean over the background
    empty = probs_fn(bg).mean(axis=0)
    np.testing.assert_allclose(res.values[:, 0], empty[cls], atol=1e-12)
    np.testing.assert_allclose(res.values[:, 3], probs_fn(x)[np.arange(40), cls], atol=1e-12)
    se_empty = probs_fn(bg).std(axis=0, ddof=1)[cls] / 20.0
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
    # 9 draws from 10 rows: a part window (draws above 10 are capped at 10, the exact mean)
    res = compute(model, x, bg, draws=9, target="output", fusion=fusion)
    for mask in range(1, 7):
        rows = [{k: v[r : r + 1] for k, v in bg.items()} for r in range(10)]
        exact = np.mean(
            [f(coalition_batch(x, row, mask, ["m0", "m1", "m2"])) for row in rows], axis=0
        )
        assert np.all(np.abs(res.values[:, mask] - exact) <= 4 * res.se[:, mask] + 1e-12), mask
    assert np.all(np.abs(res.values[:, 1] - 29.5) < 4 * res.se[:, 1])
    assert np.all(res.se[:, 1:7] > 0)
    # the background's size covers every row once: the exact mean, SE 0
    whole = compute(model, x, bg, draws=10, target="output", fusion=fusion)
    np.testing.assert_allclose(whole.values[:, 1], 29.5, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(whole.se[:, 1:7], 0.0)


# --------------------------------------------------------------------------------------------
# Determinism and batching


def test_same_seed_repeats_and_other_seed_differs() -> None:
    x, bg = data(12, 30)
    a = compute(probs_fn, x, bg, draws=20, seed=3)
    b = compute(probs_fn, x, bg, draws=20, seed=3)
    c = compute(probs_fn, x, bg, draws=20, seed=4)
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.se, b.se)
    assert not np.allclose(a.values[:, 1:3], c.values[:, 1:3])


@pytest.mark.parametrize("batch_rows", [10_000, 500, 37, 6])
def test_values_do_not_depend_on_batching_or_chunking(batch_rows: int) -> None:
    # 100 draws x 2 coalitions = 200 rows per sample: 10000 -> many samples per batch,
    # 500 -> 2 samples, 37 -> one coalition split... 6 -> draws of one coalition split
    x, bg = data(7, 150)
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
    x, bg = data(8, 40)
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
    # checked on the probe's rows, before any coalition, like detected probabilities
    with pytest.raises(
        ModelOutputError,
        match=r"output: expected the model to return probabilities with output='probabilities'"
        r" \(entries in \[0, 1\], rows summing to 1 within 0.0001\), got entries from",
    ):
        ValueEngine(logits_fn, x, bg, output="probabilities", draws=5)


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


def test_background_cap_for_empty_value() -> None:
    x, bg = data(4, 50)
    eng = ValueEngine(probs_fn, x, bg, draws=5, max_background=20)
    rows = eng.model_rows
    list(eng.iter_chunks(chunk_samples=100, stop=0))
    assert eng.model_rows - rows == 20
