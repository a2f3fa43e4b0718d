"""Writes tests/fixtures/evaluate/: small ONNX models, their data, and the kernel engine's values.

``tests/ts/compute/evaluate/evaluator.test.ts`` runs the same models with onnxruntime-web (in
Node) through the browser's evaluator and checks its value tables against the kernel's to 1e-5,
where both are exact: ``masking="mean"``, ``"baseline"``, and ``"random"`` with ``draws`` equal
to the background size (every row once). ``tests/python/test_browser_eval.py`` checks that the
kernel still gives these values.

Run from the repository root: ``.venv/bin/python -m scripts.make_evaluate_fixture``.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "evaluate"
N_SAMPLES = 12
N_BACKGROUND = 20
DIMS = {"image": (2, 3), "text": (4,), "tab": (2,)}


def mlp_model(
    inputs: list[tuple[str, tuple[int, ...]]], hidden: int, classes: int, seed: int
) -> Any:
    """An ONNX MLP (Flatten, Concat → Gemm → Tanh → MatMul) over float32 inputs of these shapes."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    width = sum(int(np.prod(s)) for _, s in inputs)
    w1 = rng.normal(scale=0.8, size=(width, hidden)).astype(np.float32)
    w2 = rng.normal(scale=1.5, size=(hidden, classes)).astype(np.float32)
    b1 = rng.normal(scale=0.3, size=hidden).astype(np.float32)
    nodes = []
    first = inputs[0][0]
    if len(inputs) > 1:
        flat = [f"{n}_flat" for n, _ in inputs]
        nodes += [helper.make_node("Flatten", [n], [f], axis=1) for (n, _), f in zip(inputs, flat)]
        nodes.append(helper.make_node("Concat", flat, ["x"], axis=1))
        first = "x"
    nodes += [
        helper.make_node("Gemm", [first, "w1", "b1"], ["h"]),
        helper.make_node("Tanh", ["h"], ["t"]),
        helper.make_node("MatMul", ["t", "w2"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["n", *s]) for n, s in inputs],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["n", classes])],
        [numpy_helper.from_array(a, k) for a, k in ((w1, "w1"), (b1, "b1"), (w2, "w2"))],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def unsupported_model() -> Any:
    """A graph with an operator no onnxruntime build has: loading it must name the operator."""
    from onnx import TensorProto, helper

    node = helper.make_node("FancyMix", ["features"], ["logits"], domain="ai.example")
    graph = helper.make_graph(
        [node],
        "unsupported",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["n", 12])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["n", 2])],
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("ai.example", 1)]
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 8
    return model


def _data(seed: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)

    def make(n: int) -> dict[str, np.ndarray]:
        return {k: rng.normal(size=(n, *s)).astype(np.float32) for k, s in DIMS.items()}

    return make(N_SAMPLES), make(N_BACKGROUND)


def _flat(arrays: dict[str, np.ndarray]) -> dict[str, list[float]]:
    return {k: a.reshape(len(a), -1).ravel().astype(float).tolist() for k, a in arrays.items()}


def cases() -> dict[str, Any]:
    """Every case: the model file name, its fusion, the engine options and the kernel's values."""
    from intershap_widget.engine import ValueEngine

    samples, background = _data(1)
    width = sum(int(np.prod(s)) for s in DIMS.values())
    early = mlp_model([("features", (width,))], 6, 3, seed=2)
    per_modality = mlp_model(list(DIMS.items()), 5, 2, seed=3)
    regressor = mlp_model([("features", (width,))], 4, 1, seed=4)
    baseline = {k: np.full(s, 0.25, dtype=np.float32) for k, s in DIMS.items()}
    runs = {
        "early_mean": (early, {"masking": "mean"}),
        "early_random_all_rows": (early, {"masking": "random", "draws": N_BACKGROUND}),
        "early_class_1_baseline": (
            early,
            {"masking": "baseline", "baseline": baseline, "target": 1},
        ),
        "list_random_twice_all_rows": (
            per_modality,
            {"masking": "random", "draws": 2 * N_BACKGROUND},
        ),
        "regressor_mean": (regressor, {"masking": "mean", "target": "output"}),
    }
    out: dict[str, Any] = {"samples": _flat(samples), "background": _flat(background)}
    out["shapes"] = {k: list(s) for k, s in DIMS.items()}
    out["nSamples"], out["nBackground"] = N_SAMPLES, N_BACKGROUND
    out["cases"] = {}
    models = {"early": early, "list": per_modality, "regressor": regressor}
    for name, (model, options) in runs.items():
        bg = None if options["masking"] == "baseline" else background
        with warnings.catch_warnings():  # draws above the background size are capped: expected
            warnings.simplefilter("ignore", UserWarning)
            engine = ValueEngine(model.SerializeToString(), samples, bg, **options)
        result = engine.compute_all()
        engine._prepare()
        file = next(k for k, v in models.items() if v is model)
        out["cases"][name] = {
            "model": f"{file}.onnx",
            "fusion": engine.fusion,
            "inputNames": [i.name for i in engine.model.session.get_inputs()],
            "softmax": bool(engine._softmax),
            "settings": {
                "masking": options["masking"],
                "draws": int(options.get("draws", 1)),
                "seed": 0,
                "target": options.get("target", "predicted"),
            },
            "baseline": None
            if "baseline" not in options
            else {k: v.ravel().astype(float).tolist() for k, v in baseline.items()},
            "values": result.values.ravel().tolist(),
            "se": result.se.ravel().tolist(),
            "prediction": result.prediction.ravel().tolist(),
        }
    out["models"] = {f"{k}.onnx": v for k, v in models.items()}
    return out


def main() -> None:
    """Writes the models and the kernel's values."""
    OUT.mkdir(parents=True, exist_ok=True)
    data = cases()
    (OUT / "unsupported.onnx").write_bytes(unsupported_model().SerializeToString())
    for file, model in data.pop("models").items():
        (OUT / file).write_bytes(model.SerializeToString())
    (OUT / "kernel_values.json").write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
