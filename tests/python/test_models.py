"""The model adapters (intershap_widget.models) as the value engine calls them, and model errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from engine_helpers import compute, data, probs_fn

from intershap_widget.engine import ValueEngine
from intershap_widget.models import ModelError, ModelOutputError, adapt_model, softmax

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
