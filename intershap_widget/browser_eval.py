"""Models the browser evaluates itself: ``InterSHAP(onnx_model, ..., evaluate="browser")``.

The kernel checks everything as for a kernel run (the engine's own checks, and one probe of the
model with onnxruntime, which also decides logits vs probabilities), then sends the model's bytes,
the samples and the background to the browser once, as binary buffers (``evaluate``). The page's
evaluation worker runs the model with onnxruntime-web (src/compute/evaluate) and sends the value
tables back (``evaluating``, ``values``, ``evaluated``): they are stored here as an engine run's
are, so ``w.wait()`` and ``w.results`` work as for a kernel run. A re-mask (``w.remask`` or the
widget's control) evaluates again under new settings; an ``evaluating`` message with a new
evaluation id starts the run over.

The browser's draws for ``masking="random"`` are its own seeded windows (docs/SPEC.md §1, "Draws
in the browser"): values equal the kernel engine's wherever they are exact (``mean``,
``baseline``, ``draws`` a multiple of the background size), and agree within Monte-Carlo error
otherwise.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .inputs import (
    check_background,
    check_draws,
    check_masking,
    check_seed,
    check_target,
    normalize_modalities,
)
from .runs import ModelRun
from .wire_checks import check_object, is_count, is_finite, is_string
from .wire_checks import field as wire_field

#: The largest model sent to the browser: it is held in the page's memory, and in onnxruntime-web's
#: WebAssembly memory (4 GiB in all) with its activations.
BROWSER_MODEL_LIMIT_MB = 256
#: The largest samples + background (float32) sent to the browser with it.
BROWSER_DATA_LIMIT_MB = 1024
EVALUATE_OPTIONS = ("kernel", "browser")
#: Engine options that have no meaning in the browser: refused with evaluate="browser".
_KERNEL_ONLY = ("executor", "device", "fill", "double_buffer", "memory_mb", "batch_rows")
_REFUSED_TARGETS = ("all",)
#: The browser's messages about an evaluation, and how one ends.
EVALUATION_KINDS = ("evaluating", "values", "evaluated")
VALUE_STATES = ("done", "cancelled", "error")


def check_evaluate(evaluate: Any) -> str:
    """Returns ``evaluate``: ``"kernel"`` or ``"browser"``."""
    if evaluate not in EVALUATE_OPTIONS:
        raise ValueError(f"evaluate: expected 'kernel' or 'browser', got {evaluate!r}")
    return str(evaluate)


@dataclass
class BrowserEvaluation:
    """What the browser needs to evaluate one model, and which evaluation the run holds."""

    model_bytes: bytes
    names: list[str]
    fusion: str
    input_names: list[str]
    output_name: str
    shapes: list[list[int]]
    samples: list[np.ndarray]
    background: list[np.ndarray]
    baseline: list[np.ndarray] | None
    softmax: bool
    settings: dict[str, Any]
    chunk_samples: int
    labels: np.ndarray | None = None
    evaluation: str = field(default_factory=lambda: uuid.uuid4().hex)
    #: evaluations a newer one replaced: their late messages are dropped
    superseded: set[str] = field(default_factory=set)
    #: the last finished evaluation's model rows, seconds in all and in onnxruntime-web's calls
    timing: dict[str, float] | None = None


def _model_bytes(model: Any) -> bytes:
    """The ONNX model's bytes, from a path, bytes or an ``onnx.ModelProto``."""
    if isinstance(model, (str, os.PathLike)):
        if not os.path.isfile(model):
            raise ValueError(
                f"model: expected a path to an ONNX file, got {str(model)!r} which does not exist"
            )
        with open(model, "rb") as file:
            return file.read()
    if isinstance(model, (bytes, bytearray, memoryview)):
        return bytes(model)
    if type(model).__name__ == "ModelProto" and type(model).__module__.startswith("onnx"):
        return bytes(model.SerializeToString())
    if type(model).__name__ == "InferenceSession":
        raise ValueError(
            "model: evaluate='browser' sends the ONNX model itself to the browser: pass its path,"
            " bytes or onnx.ModelProto, not an onnxruntime.InferenceSession"
        )
    raise ValueError(
        "model: evaluate='browser' runs ONNX models only (a path, bytes or onnx.ModelProto), got"
        f" {type(model).__name__}; export it (e.g. torch.onnx.export) or use evaluate='kernel'"
    )


def _check_size(nbytes: int, limit_mb: float, what: str, argument: str) -> None:
    if nbytes > limit_mb * 2**20:
        raise ValueError(
            f"{argument}: evaluate='browser' sends {what} to the browser, at most {limit_mb:g} MB;"
            f" this is {nbytes / 2**20:.1f} MB: use evaluate='kernel'"
        )


def prepare(
    model: Any,
    modalities: Any,
    names: Sequence[str] | None,
    options: dict[str, Any],
    chunk_samples: int,
    labels: np.ndarray | None,
) -> tuple[BrowserEvaluation, Any]:
    """Checks a browser-evaluated model as the engine checks a kernel run, and probes it once.

    Returns:
        What the browser needs, and the engine that checked it (its size and target).

    Raises:
        ValueError: An input is wrong, the model is not ONNX, too large, or an option has no
            meaning in the browser.
    """
    from .engine import ValueEngine

    for name in _KERNEL_ONLY:
        if options.get(name) is not None:
            raise ValueError(
                f"{name}: not used with evaluate='browser' (the browser runs the model with"
                " onnxruntime-web, one thread); leave it out or use evaluate='kernel'"
            )
    model_bytes = _model_bytes(model)
    _check_size(len(model_bytes), BROWSER_MODEL_LIMIT_MB, "the model", "model")
    if options.get("draws") == "auto":
        raise ValueError(
            "draws: evaluate='browser' takes a fixed number of draws (e.g. draws=1000), got 'auto'"
        )
    if options.get("target") in _REFUSED_TARGETS:
        raise ValueError(
            "target: evaluate='browser' explains one output at a time ('predicted', a class index"
            " or 'output'), got 'all'"
        )
    if options.get("background") is None:
        raise ValueError(
            "background: evaluate='browser' needs background rows (a dict like the modalities),"
            " so that the browser can re-mask with any masking; got None"
        )
    mods = normalize_modalities(modalities, names)
    background = check_background(options["background"], mods)
    samples = [np.ascontiguousarray(mods.flat(n), dtype=np.float32) for n in mods.names]
    rows = [np.ascontiguousarray(background.flat(n), dtype=np.float32) for n in mods.names]
    _check_size(
        sum(a.nbytes for a in samples + rows),
        BROWSER_DATA_LIMIT_MB,
        "the samples and background",
        "modalities",
    )
    # The engine only checks and probes here: its stratified order is the kernel's own draws.
    engine = ValueEngine(model_bytes, modalities, names=names, **{"stratify": False, **options})
    engine._prepare()  # v(∅) in the kernel once: it decides logits vs probabilities
    float_inputs = [i for i in engine.model.session.get_inputs() if i.type != "tensor(float)"]
    if float_inputs:
        raise ValueError(
            "model: evaluate='browser' feeds float32 inputs, the ONNX input"
            f" {float_inputs[0].name!r} is {float_inputs[0].type}; use evaluate='kernel'"
        )
    baseline = None
    if engine.masking == "baseline":
        baseline = [np.ascontiguousarray(r, dtype=np.float32).reshape(-1) for r in engine._rows]
    session = engine.model.session
    outputs = [o for o in session.get_outputs() if o.type == "tensor(float)"]
    if not outputs:
        raise ValueError("model: evaluate='browser' needs a float32 output; the graph has none")
    spec = BrowserEvaluation(
        model_bytes=model_bytes,
        names=list(mods.names),
        fusion=engine.fusion,
        input_names=[i.name for i in session.get_inputs()],
        output_name=outputs[0].name,
        shapes=[list(mods.shapes[n]) for n in mods.names],
        samples=samples,
        background=rows,
        baseline=baseline,
        softmax=bool(engine._softmax),
        settings=settings_of(engine.masking, engine.draws, engine.seed, engine.target),
        chunk_samples=chunk_samples,
        labels=labels,
    )
    return spec, engine


def settings_of(masking: str, draws: Any, seed: Any, target: Any) -> dict[str, Any]:
    """The settings as the browser takes them (draws are ignored by mean/baseline masking)."""
    return {
        "masking": masking,
        "draws": int(draws) if isinstance(draws, int) else 1000,
        "seed": 0 if seed is None else int(seed),
        "target": target,
    }


def check_remask(
    current: Mapping[str, Any], masking: Any, draws: Any, seed: Any, target: Any
) -> dict[str, Any]:
    """New settings for ``w.remask``: each argument checked as the engine checks it; None keeps."""
    settings = dict(current)
    if masking is not None:
        settings["masking"] = check_masking(masking)
    if draws is not None:
        checked = check_draws(draws)
        if checked == "auto":
            raise ValueError("draws: evaluate='browser' takes a fixed number of draws, got 'auto'")
        settings["draws"] = int(checked)
    if seed is not None:
        settings["seed"] = check_seed(seed)
    if target is not None:
        checked_target = check_target(target)
        if checked_target in _REFUSED_TARGETS:
            raise ValueError("target: evaluate='browser' explains one output at a time, got 'all'")
        settings["target"] = checked_target
    return settings


def evaluate_message(
    run: ModelRun, spec: BrowserEvaluation, start: bool
) -> tuple[dict[str, Any], list[memoryview]]:
    """The model, the data and the settings, for the browser; ``start``: evaluate at once."""
    buffers = [memoryview(spec.model_bytes)]
    buffers += [memoryview(a).cast("B") for a in spec.samples + spec.background]
    if spec.baseline is not None:
        buffers += [memoryview(a).cast("B") for a in spec.baseline]
    if spec.labels is not None:
        buffers.append(memoryview(np.ascontiguousarray(spec.labels, dtype="<f8")).cast("B"))
    header = {
        "kind": "evaluate",
        "modelId": run.model_id,
        "label": run.label,
        "names": spec.names,
        "nSamples": run.n_samples,
        "nBackground": int(spec.background[0].shape[0]),
        "inputs": {
            "fusion": spec.fusion,
            "inputNames": spec.input_names,
            "outputName": spec.output_name,
            "shapes": spec.shapes,
        },
        "softmax": spec.softmax,
        "settings": spec.settings,
        "evaluation": spec.evaluation,
        "run": start,
        "chunkSamples": spec.chunk_samples,
        "hasBaseline": spec.baseline is not None,
        "hasLabels": spec.labels is not None,
    }
    return header, buffers


def remask_message(run: ModelRun, spec: BrowserEvaluation) -> dict[str, Any]:
    """Asks the browser to evaluate a run again under ``spec.settings``."""
    return {
        "kind": "remask",
        "modelId": run.model_id,
        "evaluation": spec.evaluation,
        "settings": spec.settings,
    }


def start_over(
    run: ModelRun, spec: BrowserEvaluation, evaluation: str, settings: dict[str, Any]
) -> None:
    """A new evaluation of a run: its tables are emptied, to be filled as the browser computes."""
    spec.superseded.add(spec.evaluation)
    spec.evaluation = evaluation
    spec.settings = dict(settings)
    run.values[:] = 0.0
    if run.se is not None:
        run.se[:] = 0.0
    if run.prediction is not None:
        run.prediction[:] = np.nan
    run.predicted_class = None
    run.filled, run.done, run.completed = 0, None, 0
    run.state, run.message, run.error = "running", "", None
    run.target = str(settings["target"])
    run.browser, run.model_rows = None, 0
    run._results = None
    run.finished.clear()
    run.restart_clock()


# ------------------------------------------------------------------------------------------------
# Browser → kernel


@dataclass(frozen=True)
class Evaluating:
    """The browser starts an evaluation (its own re-mask, or one the kernel asked for)."""

    model_id: str
    evaluation: str
    settings: dict[str, Any]


@dataclass(frozen=True)
class EvaluatedValues:
    """A block of value tables the browser computed."""

    model_id: str
    evaluation: str
    start: int
    arrays: dict[str, np.ndarray]
    model_rows: int


@dataclass(frozen=True)
class Evaluated:
    """An evaluation ended: done, cancelled, or failed with ``message``."""

    model_id: str
    evaluation: str
    state: str
    message: str
    timing: dict[str, float] | None = None


def _is_target(v: Any) -> bool:
    return v in ("predicted", "output") or is_count(v)


def parse_settings(raw: Any) -> dict[str, Any]:
    """Checks the settings the browser evaluates under (as src/protocol/evaluate.ts does)."""
    msg = {**check_object(raw), "kind": "settings"}
    return {
        "masking": wire_field(
            msg, "masking", lambda v: v in ("random", "mean", "baseline"), "a masking"
        ),
        "draws": wire_field(
            msg, "draws", lambda v: is_count(v) and v > 0, "a positive whole number"
        ),
        "seed": wire_field(msg, "seed", is_count, "a whole number ≥ 0"),
        "target": wire_field(msg, "target", _is_target, "'predicted', 'output' or a class index"),
    }


def parse_evaluation_message(
    msg: Mapping[str, Any], buffers: Sequence[Any], models: Mapping[str, int]
) -> Evaluating | EvaluatedValues | Evaluated:
    """Checks an ``evaluating``, ``values`` or ``evaluated`` message from the browser."""
    from .protocol import decode_chunk, parse_kernel_message

    known = ", ".join(f"'{model_id}'" for model_id in models)
    model_id = wire_field(
        msg, "modelId", lambda v: is_string(v) and v in models, f"one of the models [{known}]"
    )
    evaluation = wire_field(msg, "evaluation", is_string, "a string")
    kind = msg["kind"]
    if kind == "evaluating":
        return Evaluating(model_id, evaluation, parse_settings(msg.get("settings")))
    if kind == "evaluated":
        state = wire_field(
            msg, "state", lambda v: v in VALUE_STATES, "'done', 'cancelled' or 'error'"
        )
        message = wire_field(msg, "message", is_string, "a string")
        return Evaluated(model_id, evaluation, state, message, _timing(msg.get("timing")))
    header = parse_kernel_message({**msg, "kind": "chunk"})
    decoded = decode_chunk(header, buffers, models[model_id])
    rows = msg.get("modelRows", 0)
    arrays = {k: v for k, v in decoded.items() if k != "message"}
    return EvaluatedValues(
        model_id, evaluation, header["start"], arrays, int(rows) if is_count(rows) else 0
    )


def _timing(raw: Any) -> dict[str, float] | None:
    """A finished run's timing, or None when it is missing or not three finite numbers."""
    keys = ("modelRows", "seconds", "modelSeconds")
    if not isinstance(raw, Mapping) or not all(is_finite(raw.get(k)) for k in keys):
        return None
    return {
        "model_rows": float(raw["modelRows"]),
        "seconds": float(raw["seconds"]),
        "model_seconds": float(raw["modelSeconds"]),
    }


def store_values(run: ModelRun, message: EvaluatedValues) -> None:
    """Copies a browser's block of value tables into its run, as an engine chunk is stored."""
    arrays = message.arrays
    stop = message.start + arrays["values"].shape[0] // (1 << len(run.names))
    n = stop - message.start
    run.values[message.start : stop] = arrays["values"].reshape(n, -1)
    if run.se is not None and "se" in arrays:
        run.se[message.start : stop] = arrays["se"].reshape(n, -1)
    if run.prediction is not None and "prediction" in arrays:
        run.prediction[message.start : stop] = arrays["prediction"]
    if "predictedClass" in arrays:
        if run.predicted_class is None:
            run.predicted_class = np.full(run.n_samples, np.nan)
        run.predicted_class[message.start : stop] = arrays["predictedClass"]
    run.mark_done(message.start, stop)
    run.model_rows = max(run.model_rows, message.model_rows)


class BrowserEvaluationError(RuntimeError):
    """The browser could not evaluate the model (the reason names the operator or the limit)."""


# ------------------------------------------------------------------------------------------------
# The widget's side


class BrowserModels:
    """The part of :class:`~intershap_widget.widget.InterSHAP` for browser-evaluated models."""

    _runs: dict[str, ModelRun]

    def _start_browser(
        self,
        label: str,
        model: Any,
        modalities: Any,
        names: Sequence[str] | None,
        labels: np.ndarray | None,
        options: dict[str, Any],
        chunk_samples: int,
    ) -> ModelRun:
        """Checks the model and announces its run; the browser evaluates it once it says hello."""
        spec, engine = prepare(model, modalities, names, options, chunk_samples, labels)
        n, m = engine.n_samples, engine.M
        self._check_same_samples(n, label)  # type: ignore[attr-defined]
        run = ModelRun(
            model_id=uuid.uuid4().hex[:12],
            label=label,
            names=list(engine.names),
            values=np.zeros((n, 1 << m)),
            se=np.zeros((n, 1 << m)),
            prediction=np.full(n, np.nan),
            labels=labels,
            target=str(spec.settings["target"]),
            state="running",
            cancel=lambda: self._send_to_browser(
                {"kind": "cancelEvaluation", "modelId": run.model_id}
            ),
        )
        run.evaluation = spec
        self._announce(run)  # type: ignore[attr-defined]
        return run

    def _send_to_browser(self, content: dict[str, Any], buffers: list[Any] | None = None) -> None:
        with self._send_lock:  # type: ignore[attr-defined]
            if self._browser_ready:  # type: ignore[attr-defined]
                self.send(content, buffers)  # type: ignore[attr-defined]

    def _send_evaluation(self, run: ModelRun) -> bool:
        """Sends a browser-evaluated run's model and data (on every hello).

        Returns:
            Whether the browser evaluates it now (its tables then come from the browser, so the
            kernel sends none).
        """
        spec = run.evaluation
        assert spec is not None
        start = run.state == "running"
        self.send(*evaluate_message(run, spec, start))  # type: ignore[attr-defined]
        return start

    def _on_evaluation_message(self, content: Mapping[str, Any], buffers: Sequence[Any]) -> None:
        """Acts on the browser's ``evaluating``, ``values`` and ``evaluated`` messages."""
        models = {run.model_id: len(run.names) for run in self._runs.values() if run.evaluation}
        message = parse_evaluation_message(content, buffers, models)
        run = self._runs[message.model_id]
        spec = run.evaluation
        assert spec is not None
        if isinstance(message, Evaluating):
            if message.evaluation in spec.superseded:
                return
            if message.evaluation != spec.evaluation or run.state != "running":
                start_over(run, spec, message.evaluation, message.settings)
            return
        if message.evaluation != spec.evaluation:
            return  # from an evaluation a newer one replaced
        if isinstance(message, EvaluatedValues):
            store_values(run, message)
            return
        run.state, run.message = message.state, message.message
        spec.timing = message.timing
        if message.state == "error":
            run.error = BrowserEvaluationError(message.message)
        run.finished.set()
        self._save_state()  # type: ignore[attr-defined]

    @property
    def browser_evaluations(self) -> list[dict[str, Any]]:
        """Per browser-evaluated model: its settings, state and the last run's timing.

        ``timing`` holds ``model_rows``, ``seconds`` (in all, in the page's evaluation worker)
        and ``model_seconds`` (in onnxruntime-web's calls), or None before a run finished.
        """
        return [
            {
                "model": run.label,
                "settings": dict(run.evaluation.settings),
                "state": run.state,
                "timing": run.evaluation.timing,
            }
            for run in self._runs.values()
            if run.evaluation is not None
        ]

    def remask(
        self,
        masking: str | None = None,
        draws: int | None = None,
        seed: int | None = None,
        target: str | int | None = None,
        model: str | None = None,
    ) -> Any:
        """Evaluates browser-evaluated models again in the browser, under new settings.

        What the widget's re-mask control does, from Python. Every view re-draws as the new
        values come in; ``w.wait()`` waits for them, and ``w.results`` then holds them.

        Args:
            masking: ``"random"``, ``"mean"`` or ``"baseline"`` (zeros unless a baseline was
                given); None keeps the current one.
            draws: Background rows per coalition for random masking; None keeps.
            seed: Seeds the browser's draws; None keeps.
            target: ``"predicted"``, a class index or ``"output"``; None keeps.
            model: The label of the model to re-mask; None: every browser-evaluated model.

        Returns:
            The widget, for chaining.

        Raises:
            ValueError: An argument is wrong, no model is evaluated in the browser, or no browser
                shows the widget.
        """
        runs = [r for r in self._runs.values() if r.evaluation and model in (None, r.label)]
        if not runs:
            labels = [r.label for r in self._runs.values() if r.evaluation]
            raise ValueError(
                f"model: expected the label of a model added with evaluate='browser' {labels},"
                f" got {model!r}"
                if labels
                else "remask: no model of this widget is evaluated in the browser;"
                " add one with evaluate='browser'"
            )
        if not self._browser_ready:  # type: ignore[attr-defined]
            raise ValueError(
                "remask: no browser shows this widget yet: display it (put `w` at the end of a"
                " cell) and call remask again"
            )
        for run in runs:
            spec = run.evaluation
            assert spec is not None
            settings = check_remask(spec.settings, masking, draws, seed, target)
            start_over(run, spec, uuid.uuid4().hex, settings)
            self._send_to_browser(remask_message(run, spec))
        return self

    def _wait_for_browser(self, timeout: float | None, verbose: bool) -> None:
        """Waits, with the browser's messages handled, until browser-evaluated runs finish.

        With ``verbose``, each run's progress line is rewritten every second (the tables come
        from the page: until a browser shows the widget, the line says so).
        """
        from .export import _kernel, wait_for

        runs = [r for r in self._runs.values() if r.evaluation]
        deadline = None if timeout is None else time.monotonic() + timeout

        def finished() -> bool:
            return all(r.finished.is_set() for r in runs)

        if not finished() and _kernel() is None:
            raise RuntimeError(
                "wait: a model added with evaluate='browser' is evaluated by a browser showing the"
                " widget in a notebook; outside one (a script) use evaluate='kernel'"
            )
        while not finished():
            left = 1.0 if deadline is None else min(1.0, deadline - time.monotonic())
            if left <= 0:
                late = [r.label for r in runs if not r.finished.is_set()]
                raise TimeoutError(
                    f"timeout: the browser had not finished evaluating {late} after {timeout} s;"
                    " is the widget shown in an open notebook?"
                )
            wait_for(finished, left, self.comm)  # type: ignore[attr-defined]
            if verbose and not finished():
                waiting = "" if self._browser_ready else " (waiting for a browser to show it)"  # type: ignore[attr-defined]
                line = " · ".join(r.progress_line() for r in runs if not r.finished.is_set())
                print(f"\r{line}{waiting}", end="", flush=True)
