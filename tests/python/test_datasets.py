"""Tests of intershap_widget.datasets: HD-XOR (SPEC §6) and the MLP trainers (early, intermediate, late)."""

from __future__ import annotations

import numpy as np
import pytest

from intershap_widget.datasets import (
    HDXOR,
    MODALITY_DIMS,
    hd_xor,
    train_early_fusion_mlp,
    train_fusion_mlp,
)

SETTINGS_2 = ["synergy", "uniqueness0", "uniqueness1", "redundancy", "random"]


def _max_abs_t(x: np.ndarray, group: np.ndarray) -> float:
    """Largest |Welch t| over the columns of x between group == 1 and group == 0."""
    a, b = x[group == 1].astype(np.float64), x[group == 0].astype(np.float64)
    se = np.sqrt(a.var(axis=0, ddof=1) / len(a) + b.var(axis=0, ddof=1) / len(b))
    return float(np.max(np.abs(a.mean(axis=0) - b.mean(axis=0)) / se))


def _latent(data: HDXOR, name: str, split: str = "train") -> np.ndarray:
    """Recover the latent of a modality whose projection is square (m0: 200 x 200)."""
    p = data.projections[name]
    assert p.shape[0] == p.shape[1]
    return np.linalg.solve(p, data.modalities(split)[name].astype(np.float64).T).T


@pytest.mark.parametrize("m", [2, 3, 4])
@pytest.mark.parametrize("setting", ["synergy", "uniqueness1", "redundancy", "random"])
def test_shapes_splits_and_dtypes(m: int, setting: str) -> None:
    data = hd_xor(setting, m, seed=1, n_samples=2000)
    assert data.names == [f"m{i}" for i in range(m)]
    assert list(data.dims.values()) == list(MODALITY_DIMS[m])
    sizes = {"train": 1400, "val": 300, "test": 300, "explain": 300}
    for split, n in sizes.items():
        mods = data.modalities(split)
        assert list(mods) == data.names
        for name in data.names:
            assert mods[name].shape == (n, data.dims[name])
            assert mods[name].dtype == np.float32
        assert data.labels(split).shape == (n,)
        assert set(np.unique(data.labels(split))) <= {0, 1}
        x = data.concat(split)
        assert x.shape == (n, sum(MODALITY_DIMS[m])) and x.dtype == np.float32
        np.testing.assert_array_equal(x[:, : data.dims["m0"]], mods["m0"])
    assert data.modalities("background") is data.val
    np.testing.assert_array_equal(data.explain["m0"], data.test["m0"][:300])
    for name in data.names:
        assert data.projections[name].shape == (data.dims[name], 200)
        assert np.all(np.abs(data.projections[name]) <= 0.5)


def test_default_sizes_and_explain_rows() -> None:
    data = hd_xor("synergy")
    assert data.concat("train").shape == (14000, 300)
    assert data.concat("val").shape == (3000, 300)
    assert data.concat("test").shape == (3000, 300)
    assert data.concat("explain").shape == (2000, 300)
    np.testing.assert_array_equal(data.explain["m1"], data.test["m1"][:2000])
    np.testing.assert_array_equal(data.y_explain, data.y_test[:2000])


@pytest.mark.parametrize("setting", SETTINGS_2)
def test_deterministic_under_seed(setting: str) -> None:
    a = hd_xor(setting, 2, seed=7, n_samples=1000)
    b = hd_xor(setting, 2, seed=7, n_samples=1000)
    c = hd_xor(setting, 2, seed=8, n_samples=1000)
    for split in ("train", "val", "test", "explain"):
        np.testing.assert_array_equal(a.concat(split), b.concat(split))
        np.testing.assert_array_equal(a.labels(split), b.labels(split))
    assert not np.array_equal(a.concat("train"), c.concat("train"))


@pytest.mark.parametrize(
    ("setting", "m"),
    [
        ("synergy", 2),
        ("synergy", 3),
        ("synergy", 4),
        ("uniqueness0", 3),
        ("redundancy", 4),
        ("random", 2),
    ],
)
def test_label_balance(setting: str, m: int) -> None:
    data = hd_xor(setting, m, seed=3, n_samples=20000)
    y = np.concatenate([data.y_train, data.y_val, data.y_test])
    assert abs(y.mean() - 0.5) < 0.02  # 5 standard errors at n = 20000


def test_xor_label_rule_m2_synergy() -> None:
    data = hd_xor("synergy", 2, seed=0, n_samples=4000)
    bits = data.bits["train"]
    assert bits.shape == (2800, 2)
    np.testing.assert_array_equal(data.y_train, bits[:, 0] ^ bits[:, 1])
    # The bits themselves are fair and independent.
    assert abs(bits.mean() - 0.5) < 0.03
    assert abs(np.mean(bits[:, 0] & bits[:, 1]) - 0.25) < 0.03


@pytest.mark.parametrize("m", [3, 4])
def test_synergy_m_bits_exactly_one_rule(m: int) -> None:
    data = hd_xor("synergy", m, seed=0, n_samples=20000)
    bits = data.bits["train"]
    assert bits.shape[1] == m
    np.testing.assert_array_equal(data.y_train, (bits.sum(axis=1) == 1).astype(int))
    # Within each label every consistent bit vector is equally likely.
    codes = bits @ (1 << np.arange(m))
    for label, allowed in [
        (1, [1 << i for i in range(m)]),
        (0, [b for b in range(1 << m) if b.bit_count() != 1]),
    ]:
        counts = np.bincount(codes[data.y_train == label], minlength=1 << m)
        assert set(np.flatnonzero(counts)) == set(allowed)
        expected = counts[allowed].sum() / len(allowed)
        assert np.all(np.abs(counts[allowed] - expected) < 6 * np.sqrt(expected))


def test_synergy_latent_is_bit_lifted_with_sigma_2() -> None:
    data = hd_xor("synergy", 2, seed=2, n_samples=6000)
    lat = _latent(data, "m0")
    bit = data.bits["train"][:, 0]
    assert lat[bit == 1].mean() == pytest.approx(0.35, abs=0.02)
    assert lat[bit == 0].mean() == pytest.approx(-0.35, abs=0.02)
    assert (lat[bit == 1] - 0.35).std() == pytest.approx(2.0, rel=0.02)
    # m0 carries bit 0 only: nothing about bit 1.
    assert _max_abs_t(lat, data.bits["train"][:, 1]) < 5.5


@pytest.mark.parametrize(
    ("setting", "m", "unique"),
    [
        ("uniqueness0", 2, 0),
        ("uniqueness1", 2, 1),
        ("uniqueness", 3, 0),
        ("uniqueness2", 3, 2),
        ("uniqueness3", 4, 3),
    ],
)
def test_uniqueness_other_modalities_independent_of_label(
    setting: str, m: int, unique: int
) -> None:
    data = hd_xor(setting, m, seed=4, n_samples=8000)
    assert data.setting == f"uniqueness{unique}"
    y, bits = data.y_train, data.bits["train"]
    np.testing.assert_array_equal(y, bits[:, 0] ^ bits[:, 1])
    for i, name in enumerate(data.names):
        x = data.train[name]
        t_bits = max(_max_abs_t(x, bits[:, 0]), _max_abs_t(x, bits[:, 1]))
        t_label = _max_abs_t(x, y)
        t_sq = _max_abs_t(x.astype(np.float64) ** 2, y)
        if i == unique:
            assert t_bits > 20  # the label's bits are in this modality
        else:
            # noise: no trace of the bits or the label (in means or in second moments)
            assert t_bits < 5.5 and t_label < 5.5 and t_sq < 5.5


def test_uniqueness_latent_layout() -> None:
    data = hd_xor("uniqueness0", 2, seed=5, n_samples=6000)
    lat = _latent(data, "m0")
    bits = data.bits["train"]
    for b, block in [(0, slice(0, 100)), (1, slice(100, 200))]:
        assert lat[bits[:, b] == 1, block].mean() == pytest.approx(0.35, abs=0.02)
        assert lat[bits[:, b] == 0, block].mean() == pytest.approx(-0.35, abs=0.02)
        assert (lat[bits[:, b] == 1, block] - 0.35).std() == pytest.approx(1.0, rel=0.03)


def test_redundancy_shares_one_latent() -> None:
    data = hd_xor("redundancy", 3, seed=6, n_samples=3000)
    lat = _latent(data, "m0")
    for name in data.names:
        np.testing.assert_allclose(
            data.train[name], lat @ data.projections[name].T, rtol=1e-4, atol=1e-3
        )
    bits = data.bits["train"]
    assert lat[bits[:, 0] == 1, :100].mean() == pytest.approx(0.25, abs=0.02)
    assert lat[bits[:, 1] == 0, 100:].mean() == pytest.approx(-0.25, abs=0.02)
    np.testing.assert_array_equal(data.y_train, bits[:, 0] ^ bits[:, 1])


def test_random_setting() -> None:
    data = hd_xor("random", 2, seed=9, n_samples=6000)
    lat = _latent(data, "m0")
    assert lat.mean() == pytest.approx(0.5, abs=0.02)
    assert lat.std() == pytest.approx(1.0, rel=0.03)
    np.testing.assert_allclose(data.train["m1"], lat @ data.projections["m1"].T, atol=1e-3)
    assert data.bits["train"].shape == (4200, 0)
    assert _max_abs_t(data.concat("train"), data.y_train) < 5.5


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"setting": "xor"},
            r"setting: expected one of \['synergy', 'uniqueness0', 'uniqueness1',",
        ),
        ({"setting": "uniqueness2"}, r"setting: .*for n_modalities = 2, got 'uniqueness2'"),
        ({"setting": None}, "setting: expected one of"),
        ({"setting": "synergy", "n_modalities": 5}, r"n_modalities: expected an integer in 2\.\.4"),
        ({"setting": "synergy", "n_modalities": 1}, r"n_modalities: expected an integer in 2\.\.4"),
        ({"setting": "synergy", "n_samples": 5}, r"n_samples: expected an integer >= 20"),
        ({"setting": "synergy", "latent_dim": 7}, r"latent_dim: expected an even integer"),
    ],
)
def test_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        hd_xor(**kwargs)


def test_bad_split_name() -> None:
    with pytest.raises(ValueError, match=r"split: expected one of \['train', 'val', 'test'"):
        hd_xor("synergy", n_samples=100).concat("training")


def test_generation_is_vectorised_fast_enough_to_use_in_tests() -> None:
    # Behaviour, not timing: 20k samples at M = 4 must be producible (the default sizes).
    data = hd_xor("synergy", 4)
    assert data.concat("train").shape == (14000, 550)


# ---------------------------------------------------------------------------------------------
# Early-fusion MLP (smoke test only; the 200-epoch run is measured outside the tests)
# ---------------------------------------------------------------------------------------------


def test_train_early_fusion_mlp_smoke() -> None:
    torch = pytest.importorskip("torch")
    data = hd_xor("synergy", 2, seed=0, n_samples=1200)
    x, y = data.concat("train"), data.y_train
    threads_before = torch.get_num_threads()
    model = train_early_fusion_mlp(x, y, epochs=2, seed=0)
    assert torch.get_num_threads() == threads_before
    linears = [layer for layer in model.modules() if isinstance(layer, torch.nn.Linear)]
    assert [(lin.in_features, lin.out_features) for lin in linears] == [
        (300, 150),
        (150, 75),
        (75, 2),
    ]
    assert not model.training
    with torch.no_grad():
        out = model(torch.from_numpy(data.concat("test")))
    assert out.shape == (180, 2) and torch.isfinite(out).all()
    again = train_early_fusion_mlp(x, y, epochs=2, seed=0)
    other = train_early_fusion_mlp(x, y, epochs=2, seed=1)
    for p, q in zip(model.parameters(), again.parameters()):
        assert torch.equal(p, q)
    assert not all(torch.equal(p, q) for p, q in zip(model.parameters(), other.parameters()))
    custom = train_early_fusion_mlp(x, y, epochs=1, hidden=(16,))
    assert [m.out_features for m in custom.modules() if isinstance(m, torch.nn.Linear)] == [16, 2]


def test_train_early_fusion_mlp_validation() -> None:
    pytest.importorskip("torch")
    x = np.zeros((10, 8), dtype=np.float32)
    with pytest.raises(ValueError, match=r"y_train: expected shape \(10,\)"):
        train_early_fusion_mlp(x, np.zeros(9, dtype=int), epochs=1)
    with pytest.raises(ValueError, match=r"y_train: expected labels in \{0, 1\}"):
        train_early_fusion_mlp(x, np.full(10, 2), epochs=1)
    with pytest.raises(ValueError, match=r"x_train: expected a 2-D array"):
        train_early_fusion_mlp(np.zeros(10), np.zeros(10, dtype=int), epochs=1)
    with pytest.raises(ValueError, match="epochs: expected a positive integer"):
        train_early_fusion_mlp(x, np.zeros(10, dtype=int), epochs=0)


# ---------------------------------------------------------------------------------------------
# Intermediate and late fusion (smoke tests; the 200-epoch runs are in examples/)
# ---------------------------------------------------------------------------------------------


def _linear_shapes(module) -> list[tuple[int, int]]:
    import torch

    return [
        (m.in_features, m.out_features) for m in module.modules() if isinstance(m, torch.nn.Linear)
    ]


@pytest.mark.parametrize("fusion", ["intermediate", "late"])
def test_train_fusion_mlp_branches_are_trained(fusion: str) -> None:
    torch = pytest.importorskip("torch")
    from intershap_widget import datasets

    data = hd_xor("synergy", 3, seed=0, n_samples=1000)
    xs = [data.train[name] for name in data.names]
    threads_before = torch.get_num_threads()
    model = train_fusion_mlp(xs, data.y_train, fusion, epochs=2, seed=0)
    assert torch.get_num_threads() == threads_before
    assert not model.training and model.fusion == fusion and model.names == ("m0", "m1", "m2")
    if fusion == "intermediate":
        assert _linear_shapes(model) == [(200, 100), (100, 50), (150, 75), (225, 112), (112, 2)]
    else:
        assert _linear_shapes(model) == [
            (200, 100),
            (100, 50),
            (50, 2),
            (100, 50),
            (50, 25),
            (25, 2),
            (150, 75),
            (75, 37),
            (37, 2),
        ]
    # Every per-modality branch is a registered parameter that the optimiser moved: rebuild the
    # seeded initial model and compare every tensor.
    torch.manual_seed(0)
    initial = datasets.FusionMLP([200, 100, 150], fusion, data.names)
    trained = dict(model.named_parameters())
    assert set(trained) == set(dict(initial.named_parameters()))
    for name, before in initial.named_parameters():
        assert not torch.equal(before, trained[name]), f"{name} was not trained"
    # Same seed, same model; another seed, another model.
    again = train_fusion_mlp(xs, data.y_train, fusion, epochs=2, seed=0)
    other = train_fusion_mlp(xs, data.y_train, fusion, epochs=2, seed=1)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), again.parameters()))
    assert not all(torch.equal(p, q) for p, q in zip(model.parameters(), other.parameters()))


def test_fusion_mlp_calling_conventions_and_late_mean() -> None:
    torch = pytest.importorskip("torch")
    import pickle

    from intershap_widget.values import ValueEngine

    data = hd_xor("redundancy", 2, seed=1, n_samples=600)
    model = train_fusion_mlp(data.train, data.y_train, "late", epochs=1, seed=0)
    tensors = [torch.from_numpy(data.test[name]) for name in data.names]
    with torch.no_grad():
        out = model(*tensors)
        assert out.shape == (90, 2)
        assert torch.equal(model(tensors), out)
        assert torch.equal(model(dict(zip(data.names, tensors))), out)
        branches = [branch(t) for branch, t in zip(model.branches, tensors)]
        torch.testing.assert_close(out, (branches[0] + branches[1]) / 2)
        with pytest.raises(ValueError, match=r"inputs: expected 2 modality tensors"):
            model(tensors[0])
    copy = pickle.loads(pickle.dumps(model))
    with torch.no_grad():
        assert torch.equal(copy(*tensors), out)
    # The value engine calls it with one tensor per modality: positional ("auto" picks "args"),
    # as a list or as a dict, with identical values.
    tables = {}
    for fusion in ("auto", "args", "list", "dict"):
        engine = ValueEngine(model, data.explain, data.val, draws=8, seed=0, fusion=fusion)
        assert engine.fusion == ("args" if fusion == "auto" else fusion)
        tables[fusion] = engine.compute_all().values
    for values in tables.values():
        np.testing.assert_array_equal(values, tables["auto"])


def test_train_fusion_mlp_validation() -> None:
    pytest.importorskip("torch")
    x = [np.zeros((10, 8), dtype=np.float32), np.zeros((10, 6), dtype=np.float32)]
    y = np.zeros(10, dtype=int)
    with pytest.raises(ValueError, match=r"fusion: expected one of \['intermediate', 'late'\]"):
        train_fusion_mlp(x, y, "early", epochs=1)
    with pytest.raises(ValueError, match="x_by_modality: expected at least 2 modalities"):
        train_fusion_mlp(x[:1], y, epochs=1)
    with pytest.raises(ValueError, match=r"x_by_modality\['m1'\]: expected a 2-D array"):
        train_fusion_mlp([x[0], np.zeros((9, 6))], y, epochs=1)
    with pytest.raises(TypeError, match="x_by_modality: expected a list"):
        train_fusion_mlp(np.zeros((10, 8)), y, epochs=1)
    with pytest.raises(ValueError, match=r"y_train: expected shape \(10,\)"):
        train_fusion_mlp(x, np.zeros(9, dtype=int), epochs=1)
    with pytest.raises(ValueError, match=r"y_train: expected labels in \{0, 1\}"):
        train_fusion_mlp(x, np.full(10, 3), epochs=1)
    with pytest.raises(ValueError, match="epochs: expected a positive integer"):
        train_fusion_mlp(x, y, epochs=0)
