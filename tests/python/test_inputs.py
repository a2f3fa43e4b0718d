"""Input normalisation and validation (intershap_widget.inputs, and the engine's checks before any model call)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import torch

from intershap_widget.inputs import (
    check_background,
    check_baseline,
    check_draws,
    check_masking,
    check_target,
    normalize_modalities,
)
from intershap_widget.values import ValueEngine

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
