"""Browser-evaluated ONNX models (``evaluate="browser"``), the kernel's side.

The browser's evaluator itself is tested against the kernel's values in
tests/ts/compute/evaluate/evaluator.test.ts (onnxruntime-web) and end to end in
ui-tests/tests/browser_onnx.spec.ts. Here: the fixture those use is still what the kernel
computes; every refusal names its argument; the message the browser gets holds the checked data;
and the browser's tables (played here from the kernel engine's) land in ``w.results``, a re-mask
starting the run over.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from intershap_widget import InterSHAP, browser_eval
from intershap_widget.engine import ValueEngine
from scripts import make_evaluate_fixture as fixture

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "evaluate" / "kernel_values.json"


@pytest.fixture(scope="module")
def onnx_case() -> tuple[bytes, dict[str, np.ndarray], dict[str, np.ndarray]]:
    samples, background = fixture._data(1)
    width = sum(int(np.prod(s)) for s in fixture.DIMS.values())
    model = fixture.mlp_model([("features", (width,))], 6, 3, seed=2)
    return model.SerializeToString(), samples, background


class Wire:
    """What the widget sends to the browser."""

    def __init__(self, widget: InterSHAP) -> None:
        self.messages: list[tuple[dict, list]] = []
        widget.send = lambda content, buffers=None: self.messages.append((content, buffers or []))

    def of_kind(self, kind: str) -> list[tuple[dict, list]]:
        return [m for m in self.messages if m[0]["kind"] == kind]


def test_the_fixture_is_what_the_kernel_engine_computes() -> None:
    cases = fixture.cases()
    saved = json.loads(FIXTURE.read_text())
    for name, case in cases["cases"].items():
        np.testing.assert_allclose(case["values"], saved["cases"][name]["values"], atol=1e-12)
        np.testing.assert_allclose(case["se"], saved["cases"][name]["se"], atol=1e-12)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"evaluate": "gpu"}, "evaluate: expected 'kernel' or 'browser', got 'gpu'"),
        ({"draws": "auto"}, "draws: evaluate='browser' takes a fixed number of draws"),
        ({"target": "all"}, "target: evaluate='browser' explains one output at a time"),
        ({"background": None}, "background: evaluate='browser' needs background rows"),
        ({"device": "cpu"}, "device: not used with evaluate='browser'"),
        ({"executor": object()}, "executor: not used with evaluate='browser'"),
    ],
)
def test_refusals_name_the_argument(onnx_case: Any, options: dict, message: str) -> None:
    model, samples, background = onnx_case
    kwargs = {"background": background, "evaluate": "browser", **options}
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        InterSHAP(model, samples, **kwargs)


def test_only_onnx_models_are_sent_to_the_browser(onnx_case: Any) -> None:
    import onnxruntime as ort

    model, samples, background = onnx_case
    with pytest.raises(ValueError, match="model: evaluate='browser' runs ONNX models only"):
        InterSHAP(lambda x: x, samples, background=background, evaluate="browser")
    with pytest.raises(ValueError, match="not an onnxruntime.InferenceSession"):
        InterSHAP(ort.InferenceSession(model), samples, background=background, evaluate="browser")
    with pytest.raises(ValueError, match="which does not exist"):
        InterSHAP("nowhere.onnx", samples, background=background, evaluate="browser")


def test_a_model_above_the_limit_is_refused_naming_it(onnx_case: Any, monkeypatch: Any) -> None:
    model, samples, background = onnx_case
    monkeypatch.setattr(browser_eval, "BROWSER_MODEL_LIMIT_MB", 0.0001)
    with pytest.raises(
        ValueError,
        match=r"model: evaluate='browser' sends the model to the browser, at most 0.0001 MB",
    ):
        InterSHAP(model, samples, background=background, evaluate="browser")


def test_data_above_the_limit_is_refused_naming_it(onnx_case: Any, monkeypatch: Any) -> None:
    model, samples, background = onnx_case
    monkeypatch.setattr(browser_eval, "BROWSER_DATA_LIMIT_MB", 0.0001)
    with pytest.raises(
        ValueError,
        match=r"modalities: evaluate='browser' sends the samples and background to the browser,"
        r" at most 0.0001 MB",
    ):
        InterSHAP(model, samples, background=background, evaluate="browser")


def test_the_browser_gets_the_checked_model_and_data_once_it_says_hello(onnx_case: Any) -> None:
    model, samples, background = onnx_case
    w = InterSHAP(model, samples, background=background, evaluate="browser", masking="mean")
    wire = Wire(w)
    assert wire.messages == []  # nothing before the browser listens
    w._on_browser_message(w, {"kind": "hello", "protocol": 1}, [])
    [(header, buffers)] = wire.of_kind("evaluate")
    assert wire.of_kind("dataset") == []  # the browser announces the tables it computes
    assert header["run"] is True and header["softmax"] is True
    assert header["settings"] == {
        "masking": "mean",
        "draws": 1000,
        "seed": 0,
        "target": "predicted",
    }
    assert header["inputs"]["fusion"] == "early" and header["inputs"]["inputNames"] == ["features"]
    assert header["inputs"]["shapes"] == [[2, 3], [4], [2]]
    assert bytes(buffers[0]) == model
    first = np.frombuffer(bytes(buffers[1]), dtype="<f4").reshape(fixture.N_SAMPLES, -1)
    np.testing.assert_array_equal(first, samples["image"].reshape(fixture.N_SAMPLES, -1))
    assert len(buffers) == 1 + 2 * 3


def _played_browser(
    w: InterSHAP, model_id: str, evaluation: str, values: Any, settings: dict
) -> None:
    """What the page sends while it evaluates: evaluating, two blocks of tables, evaluated."""
    w._on_browser_message(
        w,
        {"kind": "evaluating", "modelId": model_id, "evaluation": evaluation, "settings": settings},
        [],
    )
    for start in (0, 7):
        stop = min(start + 7, len(values.values))
        arrays = [values.values[start:stop], values.se[start:stop], values.prediction[start:stop]]
        header = {
            "kind": "values",
            "modelId": model_id,
            "evaluation": evaluation,
            "start": start,
            "count": stop - start,
            "buffers": ["values", "se", "prediction"],
            "modelRows": 100,
        }
        w._on_browser_message(w, header, [a.astype("<f8").tobytes() for a in arrays])
    w._on_browser_message(
        w,
        {
            "kind": "evaluated",
            "modelId": model_id,
            "evaluation": evaluation,
            "state": "done",
            "message": "",
        },
        [],
    )


def test_the_browser_tables_land_in_results_and_a_remask_starts_over(onnx_case: Any) -> None:
    model, samples, background = onnx_case
    w = InterSHAP(model, samples, background=background, evaluate="browser", masking="mean")
    wire = Wire(w)
    w._on_browser_message(w, {"kind": "hello", "protocol": 1}, [])
    [(header, _)] = wire.of_kind("evaluate")
    mean = ValueEngine(model, samples, background, masking="mean").compute_all()
    assert w.progress[0]["state"] == "running"
    _played_browser(w, header["modelId"], header["evaluation"], mean, header["settings"])
    w.wait(timeout=5, verbose=False)
    np.testing.assert_allclose(w.results.values, mean.values)
    assert w.progress[0]["state"] == "done"

    # Python's re-mask: the run starts over, and the browser is asked for the new settings
    w.remask(masking="random", draws=fixture.N_BACKGROUND)
    [(remask, _)] = wire.of_kind("remask")
    assert (
        remask["settings"]["masking"] == "random" and remask["evaluation"] != header["evaluation"]
    )
    assert w.progress[0]["state"] == "running" and w.progress[0]["done"] == 0
    with pytest.raises(RuntimeError, match=r"outside one \(a script\) use evaluate='kernel'"):
        w.wait(timeout=0.1, verbose=False)  # no kernel here: no browser could ever answer
    # a block from the evaluation the re-mask replaced is dropped
    _played_browser(w, header["modelId"], header["evaluation"], mean, header["settings"])
    assert w.progress[0]["done"] == 0
    exact = ValueEngine(model, samples, background, draws=fixture.N_BACKGROUND).compute_all()
    _played_browser(w, header["modelId"], remask["evaluation"], exact, remask["settings"])
    w.wait(timeout=5, verbose=False)
    np.testing.assert_allclose(w.results.values, exact.values)

    # the page's own re-mask: a new evaluation id starts the run over too
    _played_browser(w, header["modelId"], uuid.uuid4().hex, mean, header["settings"])
    np.testing.assert_allclose(w.results.values, mean.values)


def test_a_failure_in_the_browser_is_raised_by_wait(onnx_case: Any) -> None:
    model, samples, background = onnx_case
    w = InterSHAP(model, samples, background=background, evaluate="browser")
    wire = Wire(w)
    w._on_browser_message(w, {"kind": "hello", "protocol": 1}, [])
    [(header, _)] = wire.of_kind("evaluate")
    reason = 'evaluate="browser": onnxruntime-web could not load the model: unsupported operator'
    w._on_browser_message(
        w,
        {
            "kind": "evaluated",
            "modelId": header["modelId"],
            "evaluation": header["evaluation"],
            "state": "error",
            "message": reason,
        },
        [],
    )
    with pytest.raises(browser_eval.BrowserEvaluationError, match="unsupported operator"):
        w.wait(timeout=5, verbose=False)


def test_remask_arguments_are_checked(onnx_case: Any) -> None:
    model, samples, background = onnx_case
    w = InterSHAP(model, samples, background=background, evaluate="browser")
    with pytest.raises(ValueError, match="remask: no browser shows this widget yet"):
        w.remask(masking="mean")
    Wire(w)
    w._on_browser_message(w, {"kind": "hello", "protocol": 1}, [])
    with pytest.raises(ValueError, match="masking: expected one of"):
        w.remask(masking="zeros")
    with pytest.raises(ValueError, match="draws: evaluate='browser' takes a fixed number"):
        w.remask(draws="auto")
    with pytest.raises(
        ValueError,
        match=r"model: expected the label of a model added with evaluate='browser' \['model'\], got 'other'",
    ):
        w.remask(masking="mean", model="other")
    kernel = InterSHAP(values=np.zeros((4, 4)), names=["a", "b"])
    with pytest.raises(
        ValueError, match="remask: no model of this widget is evaluated in the browser"
    ):
        kernel.remask(masking="mean")


def test_malformed_browser_messages_are_refused_naming_the_field(onnx_case: Any) -> None:
    model, samples, background = onnx_case
    w = InterSHAP(model, samples, background=background, evaluate="browser")
    Wire(w)
    w._on_browser_message(w, {"kind": "hello", "protocol": 1}, [])
    model_id = next(iter(w._runs))
    with pytest.raises(ValueError, match="modelId"):
        w._on_browser_message(w, {"kind": "evaluating", "modelId": "nope", "evaluation": "x"}, [])
    with pytest.raises(ValueError, match="masking"):
        w._on_browser_message(
            w,
            {
                "kind": "evaluating",
                "modelId": model_id,
                "evaluation": "x",
                "settings": {"masking": 3},
            },
            [],
        )
    with pytest.raises(ValueError, match="buffer 'values'"):
        w._on_browser_message(
            w,
            {
                "kind": "values",
                "modelId": model_id,
                "evaluation": "x",
                "start": 0,
                "count": 2,
                "buffers": ["values"],
            },
            [b"\x00" * 8],
        )
    assert w.progress[0]["state"] == "running"  # nothing was stored
