"""The kernel side of the message schema in src/protocol/messages.ts.

Floats never travel as JSON lists: every array goes as a float64 binary buffer, named in order
in the message's ``buffers`` field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

PROTOCOL_VERSION = 1

CHUNK_BUFFERS = ("values", "se", "prediction", "label", "predictedClass")
RESULT_BUFFERS = ("meanMatrix", "contributions", "orderMass", "local")


def float64_buffer(array: Any) -> memoryview:
    """An array as the little-endian float64 bytes every buffer on the wire carries."""
    return memoryview(np.ascontiguousarray(array, dtype="<f8")).cast("B")


def cohorts_message(
    name: str, categories: list[str], codes: np.ndarray
) -> tuple[dict[str, Any], list[memoryview]]:
    """A grouping of the samples: category names, and one float64 code per sample."""
    return {"kind": "cohorts", "name": name, "categories": categories}, [float64_buffer(codes)]


def dataset_message(
    model_id: str, label: str, names: list[str], n_samples: int, target: str
) -> dict[str, Any]:
    return {
        "kind": "dataset",
        "modelId": model_id,
        "label": label,
        "names": list(names),
        "M": len(names),
        "nSamples": int(n_samples),
        "target": target,
    }


def chunk_message(
    model_id: str, start: int, arrays: dict[str, np.ndarray | None]
) -> tuple[dict[str, Any], list[memoryview]]:
    """A chunk header and its buffers; ``arrays`` holds 'values' and any optional per-sample arrays."""
    names = [name for name in CHUNK_BUFFERS if arrays.get(name) is not None]
    buffers = [float64_buffer(arrays[name]) for name in names]
    count = int(np.asarray(arrays["values"]).shape[0])
    header = {
        "kind": "chunk",
        "modelId": model_id,
        "start": int(start),
        "count": count,
        "buffers": names,
    }
    return header, buffers


def progress_message(
    model_id: str, done: int, total: int, rate: float, eta: float | None, model_rows: int
) -> dict[str, Any]:
    return {
        "kind": "progress",
        "modelId": model_id,
        "done": int(done),
        "total": int(total),
        "samplesPerSecond": float(rate) if np.isfinite(rate) else 0.0,
        "etaSeconds": None if eta is None or not np.isfinite(eta) else float(eta),
        "modelRows": int(model_rows),
    }


def status_message(model_id: str, state: str, message: str = "") -> dict[str, Any]:
    return {"kind": "status", "modelId": model_id, "state": state, "message": message}


@dataclass(frozen=True)
class BrowserResults:
    """What the browser computed for one model, decoded from a 'results' message."""

    model_id: str
    n: int
    global_intershap: float
    local_mean: float
    n_undefined: int
    interval: tuple[float, float] | None
    mean_matrix: np.ndarray
    modality_contributions: np.ndarray
    order_mass: np.ndarray
    local: np.ndarray


class ProtocolError(ValueError):
    pass


def _number(content: dict[str, Any], key: str) -> float:
    value = content.get(key)
    if value is None:
        return float("nan")
    if not isinstance(value, (int, float)):
        raise ProtocolError(
            f"results message: field {key!r} expected a number or null, got {value!r}"
        )
    return float(value)


def parse_results(content: dict[str, Any], buffers: list[Any], m: int) -> BrowserResults:
    """Decodes and checks a 'results' message; raises ProtocolError naming what is wrong."""
    names = content.get("buffers")
    if names != list(RESULT_BUFFERS) or len(buffers) != len(RESULT_BUFFERS):
        raise ProtocolError(
            f"results message: expected buffers {list(RESULT_BUFFERS)}, "
            f"got names {names!r} with {len(buffers)} buffers"
        )
    arrays = [np.frombuffer(bytes(buf), dtype="<f8") for buf in buffers]
    mean_matrix, contributions, order_mass, local = arrays
    if mean_matrix.size != m * m or contributions.size != m or order_mass.size != m:
        raise ProtocolError(
            f"results message: expected a {m}x{m} matrix and {m} contributions and order masses, "
            f"got sizes {mean_matrix.size}, {contributions.size}, {order_mass.size}"
        )
    interval = content.get("interval")
    return BrowserResults(
        model_id=str(content.get("modelId")),
        n=int(content.get("n", 0)),
        global_intershap=_number(content, "globalIntershap"),
        local_mean=_number(content, "localMean"),
        n_undefined=int(content.get("nUndefined", 0)),
        interval=(float(interval[0]), float(interval[1])) if interval else None,
        mean_matrix=mean_matrix.reshape(m, m),
        modality_contributions=contributions,
        order_mass=order_mass,
        local=local,
    )
