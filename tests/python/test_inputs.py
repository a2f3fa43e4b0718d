"""Input normalisation and validation (intershap_widget.inputs, and the engine's checks before any model call)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import torch

from intershap_widget.engine import ValueEngine
from intershap_widget.inputs import (
    check_background,
    check_baseline,
    check_draws,
    check_masking,
    check_target,
    normalize_modalities,
)

RNG = np.random.default_rng(0)


def _mods(n: int = 6) -> dict[str, np.ndarray]:
    return {"image": RNG.normal(size=(n, 2, 3)), "text": RNG.normal(size=(n, 4))}


class CountingModel:
    """A dict model that records its calls (validation must fail before any)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        self.calls += 1
        s = sum(v.reshape(len(v), -1).sum(axis=1) for v in batch.values())
        p = 1 / (1 + np.exp(-s))
        return np.stack([1 - p, p], axis=1)


# --------------------------------------------------------------------------------------------
# Accepted inputs


def test_dict_of_numpy_keeps_float32_and_order() -> None:
    x = {"b": np.ones((3, 2), np.float32), "a": np.zeros((3, 5), np.float64)}
    mods = normalize_modalities(x)
    assert mods.names == ("b", "a")
    assert mods["b"].dtype == np.float32 and mods["a"].dtype == np.float64
    assert mods.n_samples == 3 and mods.M == 2
    assert mods.dims == {"b": 2, "a": 5}


def test_names_reorder_dict() -> None:
    mods = normalize_modalities({"b": np.ones((3, 2)), "a": np.zeros((3, 1))}, names=["a", "b"])
    assert mods.names == ("a", "b")


def test_pandas_torch_lists_and_any_shape() -> None:
    df = pd.DataFrame({"age": [1, 2, 3], "bmi": [20.5, 22.0, 30.1]})
    series = pd.Series([0.1, 0.2, 0.3])
    tensor = torch.ones((3, 2, 4, 4), dtype=torch.float32, requires_grad=True)
    nested = [[1, 2], [3, 4], [5, 6]]
    mods = normalize_modalities([df, series, tensor, nested], names=["tab", "s", "img", "lst"])
    assert mods.shapes == {"tab": (2,), "s": (), "img": (2, 4, 4), "lst": (2,)}
    assert mods["img"].dtype == np.float32  # torch float32 kept
    assert mods["tab"].dtype == np.float64 and mods["lst"].dtype == np.float64  # ints -> float64
    assert isinstance(mods["img"], np.ndarray)
    np.testing.assert_array_equal(mods["tab"][:, 1], [20.5, 22.0, 30.1])
    assert mods.flat("img").shape == (3, 32)


def test_list_without_names_gets_default_names() -> None:
    mods = normalize_modalities([np.ones((2, 1)), np.ones((2, 1))])
    assert mods.names == ("m0", "m1")


def test_float16_becomes_float32() -> None:
    mods = normalize_modalities({"a": np.ones((2, 1), np.float16), "b": np.ones((2, 1))})
    assert mods["a"].dtype == np.float32


# --------------------------------------------------------------------------------------------
# Rejected inputs: the message names the argument, what was expected and what was given


def test_mismatched_sample_counts() -> None:
    with pytest.raises(ValueError) as info:
        normalize_modalities({"image": np.ones((500, 3)), "text": np.ones((499, 2))})
    assert str(info.value) == "modalities['text']: expected 500 samples (like 'image'), got 499"


@pytest.mark.parametrize("m", [0, 1, 13])
def test_number_of_modalities(m: int) -> None:
    with pytest.raises(ValueError, match=rf"modalities: expected 2 to 12 modalities .* got {m}$"):
        normalize_modalities({f"m{i}": np.ones((3, 1)) for i in range(m)})


def test_twelve_modalities_accepted() -> None:
    assert normalize_modalities({f"m{i}": np.ones((3, 1)) for i in range(12)}).M == 12


def test_zero_samples() -> None:
    with pytest.raises(ValueError, match=r"modalities\['a'\]: expected at least 1 sample, got 0"):
        normalize_modalities({"a": np.ones((0, 3)), "b": np.ones((0, 2))})


def test_nan_names_modality_and_first_bad_index() -> None:
    b = np.ones((5, 3))
    b[3, 2] = np.nan
    b[4, 0] = np.nan
    with pytest.raises(
        ValueError,
        match=r"modalities\['b'\]: expected finite numbers, got NaN at sample 3 \(index \(3, 2\)\)",
    ):
        normalize_modalities({"a": np.ones((5, 1)), "b": b})


def test_inf_in_torch_tensor() -> None:
    t = torch.zeros((4, 2))
    t[1, 1] = float("inf")
    with pytest.raises(
        ValueError,
        match=r"modalities\['t'\]: expected finite numbers, got an infinite value at sample 1",
    ):
        normalize_modalities({"a": np.ones((4, 1)), "t": t})


@pytest.mark.parametrize(
    ("names", "pattern"),
    [
        (["a", "a"], r"names: expected unique modality names, got 'a' twice"),
        (["a", ""], r"names: expected non-empty modality names, got '' at position 1"),
        (["a", 3], r"names: expected modality names as strings, got int 3 at position 1"),
    ],
)
def test_bad_names(names: list, pattern: str) -> None:
    with pytest.raises((ValueError, TypeError), match=pattern):
        normalize_modalities([np.ones((2, 1)), np.ones((2, 1))], names=names)


def test_names_count_mismatch() -> None:
    with pytest.raises(ValueError, match=r"names: expected 2 names \(one per modality\), got 3"):
        normalize_modalities([np.ones((2, 1)), np.ones((2, 1))], names=["a", "b", "c"])


def test_non_numeric_dataframe_and_strings() -> None:
    df = pd.DataFrame({"x": [1.0, 2.0], "city": ["a", "b"]})
    with pytest.raises(
        TypeError,
        match=r"modalities\['tab'\]: expected numeric columns, got non-numeric column\(s\) \['city'\]",
    ):
        normalize_modalities({"tab": df, "b": np.ones((2, 1))})
    with pytest.raises(TypeError, match=r"modalities\['a'\]: expected an array .* got 'abc'"):
        normalize_modalities({"a": "abc", "b": np.ones((2, 1))})


def test_ragged_list() -> None:
    with pytest.raises(ValueError, match=r"modalities\['a'\]: expected a rectangular array"):
        normalize_modalities({"a": [[1, 2], [3]], "b": np.ones((2, 1))})


def test_modalities_wrong_type() -> None:
    with pytest.raises(
        TypeError,
        match=r"modalities: expected a dict name -> array, or a list of arrays with names=, got numpy.ndarray of shape \(3, 4\)",
    ):
        normalize_modalities(np.ones((3, 4)))  # type: ignore[arg-type]


def test_background_shape_and_keys() -> None:
    mods = normalize_modalities(_mods())
    with pytest.raises(ValueError) as info:
        check_background({"image": np.ones((10, 3, 2)), "text": np.ones((10, 4))}, mods)
    assert str(info.value) == (
        "background['image']: expected per-sample shape (2, 3) like modalities['image'], got per-sample shape (3, 2)"
    )
    with pytest.raises(
        ValueError,
        match=r"background: expected the modalities \['image', 'text'\], got keys \['image'\] \(missing \['text'\]\)",
    ):
        check_background({"image": np.ones((10, 2, 3))}, mods)
    with pytest.raises(
        ValueError,
        match=r"background\['image'\]: expected at least 1 background row, got 0 \(empty background\)",
    ):
        check_background({"image": np.ones((0, 2, 3)), "text": np.ones((0, 4))}, mods)
    with pytest.raises(
        ValueError, match=r"background\['text'\]: expected 10 rows \(like 'image'\), got 9"
    ):
        check_background({"image": np.ones((10, 2, 3)), "text": np.ones((9, 4))}, mods)


def test_background_cast_to_modality_dtype_and_list_form() -> None:
    mods = normalize_modalities({"a": np.ones((2, 2), np.float32), "b": np.ones((2, 1))})
    bg = check_background([np.zeros((5, 2)), np.zeros((5, 1), np.float32)], mods)
    assert bg["a"].dtype == np.float32 and bg["b"].dtype == np.float64


def test_masking_message() -> None:
    with pytest.raises(ValueError) as info:
        check_masking("foo")
    assert str(info.value) == "masking: expected one of 'random', 'mean', 'baseline', got 'foo'"


def test_baseline_forms_and_errors() -> None:
    mods = normalize_modalities(_mods())
    rows = check_baseline(0, mods)
    assert rows["image"].shape == (1, 2, 3) and np.all(rows["image"] == 0)
    rows = check_baseline({"image": np.full((2, 3), 0.5), "text": 1.0}, mods)
    assert np.all(rows["image"] == 0.5) and np.all(rows["text"] == 1.0)
    with pytest.raises(
        ValueError,
        match=r"baseline: expected a scalar \(e.g. 0\) or a dict .* when masking='baseline', got None",
    ):
        check_baseline(None, mods)
    with pytest.raises(
        ValueError,
        match=r"baseline\['image'\]: expected a scalar or an array of the per-sample shape \(2, 3\), got shape \(3,\)",
    ):
        check_baseline({"image": np.zeros(3), "text": 0}, mods)
    with pytest.raises(
        ValueError, match=r"baseline: expected keys \['image', 'text'\], got \['image'\]"
    ):
        check_baseline({"image": 0}, mods)


@pytest.mark.parametrize("target", ["best", 1.5, True, None])
def test_unknown_target(target: object) -> None:
    with pytest.raises(
        ValueError,
        match=r"target: expected one of 'predicted', 'all', 'output' or a class index \(int\), got",
    ):
        check_target(target)


def test_negative_target() -> None:
    with pytest.raises(ValueError, match=r"target: expected a class index >= 0, got -1"):
        check_target(-1)


@pytest.mark.parametrize("draws", [0, -5, 1.5, "many", True, None])
def test_bad_draws(draws: object) -> None:
    with pytest.raises(
        ValueError, match=r"draws: expected a positive int \(e.g. 1000\) or 'auto', got"
    ):
        check_draws(draws)


def test_good_draws() -> None:
    assert check_draws(np.int64(7)) == 7 and check_draws("auto") == "auto"


# --------------------------------------------------------------------------------------------
# The engine validates before any model call


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"masking": "foo"}, r"masking: expected one of 'random', 'mean', 'baseline', got 'foo'"),
        ({"draws": 0}, r"draws: expected a positive int"),
        ({"target": "best"}, r"target: expected one of"),
        (
            {"background": None},
            r"background: expected rows to draw absent modalities from .* got None",
        ),
        (
            {"background": {"image": np.ones((4, 3, 2)), "text": np.ones((4, 4))}},
            r"background\['image'\]: expected per-sample shape \(2, 3\)",
        ),
        ({"masking": "baseline", "background": None}, r"baseline: expected a scalar"),
        (
            {
                "masking": "baseline",
                "background": None,
                "baseline": {"image": np.ones(5), "text": 0},
            },
            r"baseline\['image'\]: expected a scalar or an array of the per-sample shape \(2, 3\), got shape \(5,\)",
        ),
        ({"tolerance": 0.01}, r"tolerance: only used with draws='auto', got draws=1000"),
        ({"draws": "auto", "tolerance": -1}, r"tolerance: expected a positive number"),
        ({"batch_rows": 0}, r"batch_rows: expected a positive int"),
        (
            {"fusion": "late"},
            r"fusion: expected one of 'auto', 'dict', 'list', 'args', 'early', got 'late'",
        ),
        (
            {"output": "probs"},
            r"output: expected one of 'auto', 'probabilities', 'logits', got 'probs'",
        ),
        ({"seed": -1}, r"seed: expected a non-negative int or None, got -1"),
    ],
)
def test_engine_rejects_before_model_call(kwargs: dict, pattern: str) -> None:
    model = CountingModel()
    options = {"background": {"image": np.ones((4, 2, 3)), "text": np.ones((4, 4))}, **kwargs}
    with pytest.raises(ValueError, match=pattern):
        ValueEngine(model, _mods(), **options)
    assert model.calls == 0


def test_engine_rejects_mismatched_modalities_before_model_call() -> None:
    model = CountingModel()
    with pytest.raises(
        ValueError, match=re.escape("modalities['text']: expected 6 samples (like 'image'), got 5")
    ):
        ValueEngine(
            model,
            {"image": np.ones((6, 1)), "text": np.ones((5, 1))},
            background={"image": np.ones((2, 1)), "text": np.ones((2, 1))},
        )
    assert model.calls == 0


def test_target_class_out_of_range_after_probe() -> None:
    bg = {"image": np.ones((4, 2, 3)), "text": np.ones((4, 4))}
    with pytest.raises(ValueError) as info:
        ValueEngine(CountingModel(), _mods(), background=bg, target=2)
    assert (
        str(info.value)
        == "target: expected a class index in 0..1 for a model with 2 outputs, got 2"
    )


def test_model_of_unknown_kind() -> None:
    with pytest.raises(
        TypeError,
        match=r"model: expected a callable, a torch nn.Module, a scikit-learn estimator .* got int 3",
    ):
        ValueEngine(3, _mods(), background=_mods())


# --------------------------------------------------------------------------------------------
# Issue 20 (hardening): every engine option, draws above the background, forced probabilities

_BG4 = {"image": np.ones((4, 2, 3)), "text": np.ones((4, 4))}


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        ({"seed": float("nan")}, ValueError, r"seed: expected a non-negative int or None, got nan"),
        ({"seed": 1.0}, ValueError, r"seed: expected a non-negative int or None, got 1.0"),
        ({"seed": True}, ValueError, r"seed: expected a non-negative int or None, got True"),
        ({"memory_mb": -4}, ValueError, r"memory_mb: expected a positive finite number .* got -4"),
        ({"memory_mb": 0}, ValueError, r"memory_mb: expected a positive finite number .* got 0"),
        ({"memory_mb": float("inf")}, ValueError, r"memory_mb: .* got inf"),
        ({"memory_mb": float("nan")}, ValueError, r"memory_mb: .* got nan"),
        ({"memory_mb": True}, ValueError, r"memory_mb: .* got True"),
        ({"memory_mb": "4"}, ValueError, r"memory_mb: .* got '4'"),
        ({"batch_rows": True}, ValueError, r"batch_rows: expected a positive int .* got True"),
        ({"batch_rows": 2.5}, ValueError, r"batch_rows: expected a positive int .* got 2.5"),
        ({"batch_rows": 10**12}, ValueError, r"batch_rows: expected at most \d+ rows .* got 10{12}"),
        ({"max_background": 0}, ValueError, r"max_background: expected a positive int .* got 0"),
        ({"max_background": True}, ValueError, r"max_background: .* got True"),
        ({"max_background": 3000.0}, ValueError, r"max_background: .* got 3000.0"),
        ({"draws": "auto", "max_draws": -1}, ValueError, r"max_draws: .* got -1"),
        ({"draws": "auto", "max_draws": False}, ValueError, r"max_draws: .* got False"),
        ({"draws": True}, ValueError, r"draws: expected a positive int .* got True"),
        ({"draws": 1.5}, ValueError, r"draws: .* got 1.5"),
        ({"draws": "AUTO"}, ValueError, r"draws: .* got 'AUTO'"),
        ({"draws": "auto", "tolerance": 0}, ValueError, r"tolerance: expected a positive number"),
        ({"draws": "auto", "tolerance": float("nan")}, ValueError, r"tolerance: .* got nan"),
        ({"draws": "auto", "tolerance": True}, ValueError, r"tolerance: .* got True"),
        ({"common_draws": 1}, TypeError, r"common_draws: expected True or False, got 1"),
        ({"common_draws": "yes"}, TypeError, r"common_draws: expected True or False, got 'yes'"),
        ({"stratify": 0}, TypeError, r"stratify: expected True or False, got 0"),
        ({"stratify": None}, TypeError, r"stratify: expected True or False, got None"),
        ({"output": 1}, ValueError, r"output: expected one of .* got 1"),
        ({"target": True}, ValueError, r"target: expected one of .* got True"),
        ({"target": 1.0}, ValueError, r"target: expected one of .* got 1.0"),
        ({"masking": None}, ValueError, r"masking: expected one of .* got None"),
        ({"fusion": 3}, ValueError, r"fusion: expected one of .* got 3"),
    ],
)
def test_every_engine_option_is_checked_before_model_call(
    kwargs: dict, error: type, pattern: str
) -> None:
    model = CountingModel()
    with pytest.raises(error, match=pattern):
        ValueEngine(model, _mods(), **{"background": _BG4, **kwargs})
    assert model.calls == 0


def test_engine_options_accept_numpy_scalars_and_bools() -> None:
    engine = ValueEngine(
        CountingModel(),
        _mods(),
        background=_BG4,
        seed=np.int64(3),
        draws=np.int32(2),
        max_background=np.int64(2),
        memory_mb=np.float32(1.5),
        common_draws=np.bool_(True),
        stratify=False,
    )
    assert engine.seed == 3 and engine.draws == 2 and engine.max_background == 2
    assert engine.common_draws is True and engine.stratify is False


@pytest.mark.parametrize(
    ("chunk_samples", "pattern"),
    [
        (0, r"chunk_samples: expected a positive int .* got 0"),
        (-3, r"chunk_samples: .* got -3"),
        (2.5, r"chunk_samples: .* got 2.5"),
        (True, r"chunk_samples: .* got True"),
    ],
)
def test_chunk_samples_checked(chunk_samples: object, pattern: str) -> None:
    from intershap_widget import InterSHAP
    from intershap_widget.values import compute_values

    with pytest.raises(ValueError, match=pattern):
        compute_values(CountingModel(), _mods(), _BG4, chunk_samples=chunk_samples)
    model = CountingModel()
    with pytest.raises(ValueError, match=pattern):
        InterSHAP(model, _mods(), background=_BG4, chunk_samples=chunk_samples)
    assert model.calls == 0


def test_progress_must_be_callable() -> None:
    from intershap_widget.values import compute_values

    with pytest.raises(TypeError, match=r"progress: expected a callable .* got int 3"):
        compute_values(CountingModel(), _mods(), _BG4, progress=3)


def _xor_model(batch: dict[str, np.ndarray]) -> np.ndarray:
    s = np.tanh(batch["image"].reshape(len(batch["image"]), -1).sum(1) * batch["text"].sum(1))
    p = 1 / (1 + np.exp(-s))
    return np.stack([1 - p, p], axis=1)


def test_draws_above_background_are_capped_with_exact_values() -> None:
    import time

    mods = _mods(5)
    bg = {"image": RNG.normal(size=(30, 2, 3)), "text": RNG.normal(size=(30, 4))}
    t0 = time.perf_counter()
    message = (
        "draws: 1000000000000 is more than the 30 background rows; capped at 30, which already"
        " gives the exact background mean (every row once)"
    )
    with pytest.warns(UserWarning, match=re.escape(message)):
        engine = ValueEngine(_xor_model, mods, background=bg, draws=10**12)
    result = engine.compute_all()
    assert time.perf_counter() - t0 < 10
    assert engine.draws == 30 and (result.draws == 30).all()
    assert np.all(result.se[:, 1:3] == 0)  # every coalition value is the exact mean
    for i in range(5):
        c = int(result.predicted_class[i])
        with_image = _xor_model(
            {"image": np.repeat(mods["image"][i : i + 1], 30, 0), "text": bg["text"]}
        )[:, c].mean()
        with_text = _xor_model(
            {"image": bg["image"], "text": np.repeat(mods["text"][i : i + 1], 30, 0)}
        )[:, c].mean()
        assert result.values[i, 1] == pytest.approx(with_image, abs=1e-12)
        assert result.values[i, 2] == pytest.approx(with_text, abs=1e-12)


def test_draws_equal_to_background_not_warned_and_auto_capped_silently() -> None:
    import warnings

    bg = {"image": RNG.normal(size=(30, 2, 3)), "text": RNG.normal(size=(30, 4))}
    mods = _mods(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ValueEngine(_xor_model, mods, background=bg, draws=30)
        ValueEngine(_xor_model, mods, background=bg)  # the default 1000: capped without a word
        engine = ValueEngine(_xor_model, mods, background=bg, draws="auto", max_draws=10**9)
    assert engine.max_draws == 30
    result = engine.compute_all()
    assert (result.draws <= 30).all()
    exact = ValueEngine(_xor_model, mods, background=bg, draws=30).compute_all()
    done = result.draws == 30
    np.testing.assert_allclose(result.values[done], exact.values[done], atol=1e-12)


def test_mean_masking_ignores_large_draws_without_warning() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ValueEngine(_xor_model, _mods(3), background=_BG4, masking="mean", draws=10**12)


def _unnormalised(batch: dict[str, np.ndarray]) -> np.ndarray:
    p = _xor_model(batch)
    return np.stack([p[:, 0] * 1.4, p[:, 1] * 1.4], axis=1)  # rows sum to 1.4


def test_forced_probabilities_are_checked_like_detected_ones() -> None:
    with pytest.raises(ValueError) as info:
        ValueEngine(_unnormalised, _mods(), background=_BG4, output="probabilities")
    text = str(info.value)
    assert text.startswith("output: expected the model to return probabilities")
    assert "rows summing to 1 within 0.0001" in text and "rows summing to 1.4 to 1.4" in text
    # auto takes them as logits; logits forced works as well
    ValueEngine(_unnormalised, _mods(), background=_BG4, output="auto").compute_all()
    ValueEngine(_unnormalised, _mods(), background=_BG4, output="logits").compute_all()


def test_forced_probabilities_checked_on_later_rows() -> None:
    def model(batch: dict[str, np.ndarray]) -> np.ndarray:
        p = _xor_model(batch)
        return p * (1.4 if len(p) > 4 else 1.0)  # the probe's 4 rows are fine, the background not

    engine = ValueEngine(model, _mods(), background=_BG4 | {"image": np.ones((6, 2, 3)), "text": np.ones((6, 4))}, output="probabilities")
    with pytest.raises(ValueError, match=r"^output: expected the model to return probabilities"):
        engine.compute_all()
