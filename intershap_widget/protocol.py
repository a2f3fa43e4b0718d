"""The kernel side of the message schema in src/protocol/messages.ts.

Floats never travel as JSON lists: every array goes as a float64 binary buffer, named in order
in the message's ``buffers`` field. The selection (the widget's synced ``selection`` state) is a
buffer of little-endian int32 sample indices.

Both directions are checked here, with the same error messages as the TypeScript side:
``parse_browser_message`` turns what the browser sent into a typed message (or raises
``ProtocolError``), and ``parse_kernel_message``, ``decode_chunk`` and ``decode_cohorts`` check what
the kernel sends (the tests hold every outgoing message to them). tests/fixtures/protocol/messages.json
holds the examples both sides are tested against.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .limits import MAX_MODALITIES, MIN_MODALITIES
from .wire_checks import (
    MISSING,
    ProtocolError,
    buffer_bytes,
    check_object,
    field,
    is_count,
    is_finite,
    is_interval,
    is_nullable_number,
    is_string,
    is_string_list,
    json_text,
    kind_error,
    number_text,
)

PROTOCOL_VERSION = 1

CHUNK_BUFFERS = ("values", "se", "prediction", "label", "predictedClass")
RESULT_BUFFERS = ("meanMatrix", "contributions", "orderMass", "local")
# The 'compared' reply's buffers, in order: three of M² values, three of M, one of n.
COMPARED_BUFFERS = (
    "matrixDelta",
    "matrixDeltaLow",
    "matrixDeltaHigh",
    "contributionDelta",
    "contributionDeltaLow",
    "contributionDeltaHigh",
    "localDelta",
)
# The kinds the streaming messages take (listed in errors, as by the browser); the export and
# compare requests and their replies (export.py, compare.py) are parsed here too.
KERNEL_KINDS = ("dataset", "chunk", "progress", "status", "cohorts")
BROWSER_KINDS = ("hello", "cancel", "clientError", "results")
EXPORT_FORMATS = ("svg", "pdf", "png")
STATUS_STATES = ("running", "done", "cancelled", "error")
#: Bounds a header must keep before anything is allocated for it (the same as messages.ts): at
#: most ``MAX_SAMPLES`` samples and ``MAX_TABLE_VALUES`` value-table entries (nSamples × 2**M, 8 GiB
#: of float64) per data set, and MIN_MODALITIES..MAX_MODALITIES modalities.
MAX_SAMPLES = 2**25
MAX_TABLE_VALUES = 2**30


def max_samples(m: int) -> int:
    """The most samples a data set of ``m`` modalities may announce."""
    return min(MAX_SAMPLES, MAX_TABLE_VALUES // 2**m)


def _sample_count(msg: Mapping[str, Any], name: str) -> int:
    """A chunk's ``start`` or ``count``: a non-negative integer of at most ``MAX_SAMPLES``."""
    value = int(field(msg, name, is_count, "a non-negative integer"))
    if value > MAX_SAMPLES:
        raise ProtocolError(
            f"{msg.get('kind')} message: field '{name}' expected at most {MAX_SAMPLES} samples,"
            f" got {number_text(float(value))}"
        )
    return value


def is_chunk_buffer_names(v: Any) -> bool:
    """A chunk's buffer names: 'values' first, then some of CHUNK_BUFFERS."""
    return (
        isinstance(v, list)
        and len(v) >= 1
        and v[0] == "values"
        and all(isinstance(item, str) and item in CHUNK_BUFFERS for item in v)
    )


def is_result_buffer_names(v: Any) -> bool:
    """Exactly RESULT_BUFFERS, in order."""
    return v == list(RESULT_BUFFERS)


# ------------------------------------------------------------------------------------------------
# Kernel -> browser: building messages


def float64_buffer(array: Any) -> memoryview:
    """Returns an array as the bytes every float64 buffer on the wire carries.

    Args:
        array: Anything numpy turns into an array of numbers.

    Returns:
        The array's little-endian float64 bytes, as a flat byte memoryview.
    """
    # A uint8 view, not memoryview.cast("B"): cast refuses an empty array (a model with no
    # sample computed yet, whose saved state is then an empty buffer).
    return memoryview(np.ascontiguousarray(array, dtype="<f8").reshape(-1).view(np.uint8))


def cohorts_message(
    name: str, categories: list[str], codes: np.ndarray
) -> tuple[dict[str, Any], list[memoryview]]:
    """Builds a grouping of the samples: category names, and one float64 code per sample.

    Args:
        name: The grouping's name, as the widget shows it.
        categories: The category names; code k stands for ``categories[k]``.
        codes: One code per sample.

    Returns:
        The message header and its one buffer of codes.
    """
    return {"kind": "cohorts", "name": name, "categories": categories}, [float64_buffer(codes)]


def dataset_message(
    model_id: str, label: str, names: list[str], n_samples: int, target: str
) -> dict[str, Any]:
    """Builds the message announcing one model's data set.

    Args:
        model_id: The model's id, which every later message about it carries.
        label: The model's label, as the widget shows it.
        names: The modality names; M is their number.
        n_samples: The number of samples.
        target: Which output is explained.

    Returns:
        The message header (it has no buffers).
    """
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
    """Builds a block of value tables and the per-sample arrays that go with them.

    Args:
        model_id: The model's id.
        start: The index of the block's first sample.
        arrays: 'values' (count x 2**M) and any of the optional per-sample arrays named in
            ``CHUNK_BUFFERS``; a None entry is left out.

    Returns:
        The chunk header and its buffers, in the order its ``buffers`` field names them.
    """
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
    """Builds a progress report; a rate or time left that is not finite is sent as 0 or null.

    Args:
        model_id: The model's id.
        done: Samples computed so far.
        total: Samples in all.
        rate: Samples per second.
        eta: Seconds left, or None while unknown.
        model_rows: Rows the model has been called on so far.

    Returns:
        The message header (it has no buffers).
    """
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
    """Builds a model's state change.

    Args:
        model_id: The model's id.
        state: One of ``STATUS_STATES``.
        message: What went wrong, for the 'error' state.

    Returns:
        The message header (it has no buffers).
    """
    return {"kind": "status", "modelId": model_id, "state": state, "message": message}


def compare_message(
    request_id: str, reference_id: str, other_id: str, samples: np.ndarray | None
) -> tuple[dict[str, Any], list[memoryview]]:
    """Builds the request to compare two models (``w.compare``), other − reference.

    Args:
        request_id: The request's id; the browser's reply carries it back.
        reference_id: The reference model's id.
        other_id: The other model's id.
        samples: The sample indices to compare over, in order (repeats count again), or None
            for every sample.

    Returns:
        The header and, when ``samples`` is given, one buffer of little-endian int32 indices.
    """
    header = {
        "kind": "compare",
        "id": request_id,
        "referenceId": reference_id,
        "otherId": other_id,
        "subset": samples is not None,
    }
    if samples is None:
        return header, []
    indices = np.ascontiguousarray(np.asarray(samples).reshape(-1), dtype="<i4")
    return header, [memoryview(indices).cast("B")]


def decode_compare_samples(header: Mapping[str, Any], buffers: Sequence[Any]) -> np.ndarray | None:
    """Decodes a checked compare request's sample indices, as the browser does.

    Args:
        header: A compare header from ``parse_kernel_message``.
        buffers: The message's buffers.

    Returns:
        The int32 sample indices in the order sent, or None when the request is for every sample.

    Raises:
        ProtocolError: A buffer is missing or extra, or it is not whole int32s.
    """
    expected = 1 if header["subset"] else 0
    if len(buffers) != expected:
        raise ProtocolError(
            f"compare message: expected {expected} buffer{'s' if expected != 1 else ''} of sample"
            f" indices (subset {json_text(header['subset'])}), got {len(buffers)}"
        )
    if not header["subset"]:
        return None
    view = buffer_bytes(buffers[0], "compare", "samples")
    if view.nbytes % 4 != 0:
        raise ProtocolError(
            "compare message: buffer 'samples' expected a whole number of int32 values, "
            f"got {view.nbytes} bytes"
        )
    return np.frombuffer(view, dtype="<i4").astype(np.int32)


def to_float64(buffer: Any, name: str, kind: str = "chunk") -> np.ndarray:
    """Decodes a received buffer as little-endian float64 values.

    Args:
        buffer: The buffer as ipykernel hands it over (a memoryview), or bytes.
        name: The buffer's name, for the error message.
        kind: The message kind, for the error message.

    Returns:
        A float64 array (a copy, so it outlives the message).

    Raises:
        ProtocolError: The buffer is not binary, or its length is not a whole number of float64s.
    """
    return np.frombuffer(_float64_bytes(buffer, name, kind), dtype="<f8").astype(np.float64)


def _float64_bytes(buffer: Any, name: str, kind: str) -> memoryview:
    """The bytes of a buffer of whole float64 values, checked but not yet copied."""
    view = buffer_bytes(buffer, kind, name)
    if view.nbytes % 8 != 0:
        raise ProtocolError(
            f"{kind} message: buffer '{name}' expected a whole number of float64 values, "
            f"got {view.nbytes} bytes"
        )
    return view


# ------------------------------------------------------------------------------------------------
# Kernel -> browser: checking (the browser does the same in parseKernelMessage)


def parse_kernel_message(raw: Any) -> dict[str, Any]:
    """Checks a kernel message's header, as the browser's parseKernelMessage does.

    Args:
        raw: The message content (decoded JSON).

    Returns:
        The header's fields of the message's kind, checked.

    Raises:
        ProtocolError: Naming the field, what was expected and what came.
    """
    msg = check_object(raw)
    kind = msg.get("kind", MISSING)
    if kind == "dataset":
        names = field(msg, "names", is_string_list, "a list of modality names")
        m = int(field(msg, "M", is_count, "a non-negative integer"))
        if not MIN_MODALITIES <= m <= MAX_MODALITIES:
            raise ProtocolError(
                f"dataset message: field 'M' expected {MIN_MODALITIES} to {MAX_MODALITIES}"
                f" modalities, got {number_text(float(m))}"
            )
        if len(names) != m:
            raise ProtocolError(
                f"dataset message: field 'names' expected {m} names (M), got {len(names)}"
            )
        n_samples = int(field(msg, "nSamples", is_count, "a non-negative integer"))
        if n_samples > max_samples(m):
            raise ProtocolError(
                f"dataset message: field 'nSamples' expected at most {max_samples(m)} samples for"
                f" M = {m}, got {number_text(float(n_samples))}"
            )
        return {
            "kind": "dataset",
            "modelId": field(msg, "modelId", is_string, "a string"),
            "label": field(msg, "label", is_string, "a string"),
            "names": names,
            "M": m,
            "nSamples": n_samples,
            "target": field(msg, "target", is_string, "a string"),
        }
    if kind == "chunk":
        return {
            "kind": "chunk",
            "modelId": field(msg, "modelId", is_string, "a string"),
            "start": _sample_count(msg, "start"),
            "count": _sample_count(msg, "count"),
            "buffers": field(
                msg, "buffers", is_chunk_buffer_names, "a list starting with 'values'"
            ),
        }
    if kind == "progress":
        return {
            "kind": "progress",
            "modelId": field(msg, "modelId", is_string, "a string"),
            "done": int(field(msg, "done", is_count, "a non-negative integer")),
            "total": int(field(msg, "total", is_count, "a non-negative integer")),
            "samplesPerSecond": field(msg, "samplesPerSecond", is_finite, "a finite number"),
            "etaSeconds": field(msg, "etaSeconds", is_nullable_number, "a number or null"),
            "modelRows": int(field(msg, "modelRows", is_count, "a non-negative integer")),
        }
    if kind == "status":
        listed = ", ".join(f"'{state}'" for state in STATUS_STATES)
        state = field(msg, "state", lambda v: v in STATUS_STATES, f"one of {listed}")
        return {
            "kind": "status",
            "modelId": field(msg, "modelId", is_string, "a string"),
            "state": state,
            "message": field(msg, "message", is_string, "a string"),
        }
    if kind == "cohorts":
        return {
            "kind": "cohorts",
            "name": field(msg, "name", is_string, "a string"),
            "categories": field(msg, "categories", is_string_list, "a list of category names"),
        }
    if kind == "export":
        return {
            "kind": "export",
            "id": field(msg, "id", is_string, "a string"),
            "view": field(msg, "view", is_string, "a string"),
            "format": field(msg, "format", lambda v: v in EXPORT_FORMATS, "'svg', 'pdf' or 'png'"),
            "style": field(msg, "style", lambda v: isinstance(v, Mapping), "an object"),
        }
    if kind == "compare":
        return {
            "kind": "compare",
            "id": field(msg, "id", is_string, "a string"),
            "referenceId": field(msg, "referenceId", is_string, "a string"),
            "otherId": field(msg, "otherId", is_string, "a string"),
            "subset": field(msg, "subset", lambda v: isinstance(v, bool), "a boolean"),
        }
    raise kind_error(KERNEL_KINDS, kind)


def decode_chunk(header: Mapping[str, Any], buffers: Sequence[Any], m: int) -> dict[str, Any]:
    """Decodes a checked chunk's buffers, as the browser's decodeChunk does.

    Args:
        header: A chunk header from ``parse_kernel_message``.
        buffers: The message's buffers.
        m: The number of modalities of the chunk's model.

    Returns:
        The header under 'message' and one float64 array per buffer name.

    Raises:
        ProtocolError: A buffer is missing, or its length disagrees with the header.
    """
    names = list(header["buffers"])
    if len(buffers) != len(names):
        raise ProtocolError(
            f"chunk message: expected {len(names)} buffers ({', '.join(names)}), got {len(buffers)}"
        )
    if not MIN_MODALITIES <= m <= MAX_MODALITIES:  # from the model's dataset message
        raise ProtocolError(
            f"chunk message: expected a model of {MIN_MODALITIES} to {MAX_MODALITIES} modalities,"
            f" got M = {m}"
        )
    decoded: dict[str, Any] = {"message": header}
    views = []
    # every buffer is checked against the header before any is copied
    for name, buffer in zip(names, buffers):
        view = _float64_bytes(buffer, name, "chunk")
        per_sample = 2**m if name in ("values", "se") else 1
        expected = header["count"] * per_sample
        if view.nbytes // 8 != expected:
            raise ProtocolError(
                f"chunk message: buffer '{name}' expected {expected} float64 values "
                f"({header['count']} samples × {per_sample}), got {view.nbytes // 8}"
            )
        views.append(view)
    for name, view in zip(names, views):
        decoded[name] = np.frombuffer(view, dtype="<f8").astype(np.float64)
    return decoded


def decode_cohorts(header: Mapping[str, Any], buffers: Sequence[Any]) -> np.ndarray:
    """Decodes a checked cohorts message's one buffer of codes.

    Args:
        header: A cohorts header from ``parse_kernel_message``.
        buffers: The message's buffers.

    Returns:
        The float64 code of each sample.

    Raises:
        ProtocolError: There is not exactly one buffer, or it is not whole float64s.
    """
    if len(buffers) != 1:
        raise ProtocolError(f"cohorts message: expected 1 buffer of codes, got {len(buffers)}")
    return to_float64(buffers[0], "codes", "cohorts")


# ------------------------------------------------------------------------------------------------
# Browser -> kernel


@dataclass(frozen=True)
class Hello:
    """The browser's model object was created: the kernel (re)sends everything it has."""

    protocol: int


@dataclass(frozen=True)
class Cancel:
    """The user pressed cancel, for one model or (model_id None) for every model."""

    model_id: str | None


@dataclass(frozen=True)
class ClientError:
    """An error the browser reports to the kernel."""

    message: str


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


@dataclass(frozen=True)
class ExportedFigure:
    """The file a ``w.export`` request asked for, drawn by the browser."""

    request_id: str
    format: str
    panels: tuple[str, ...]
    data: bytes


@dataclass(frozen=True)
class ExportFailed:
    """Why the browser could not draw the figure a ``w.export`` request asked for."""

    request_id: str
    error: str


@dataclass(frozen=True)
class BrowserComparison:
    """What the browser computed for a ``w.compare`` request: differences other − reference.

    Undefined numbers (null on the wire) are NaN. The intervals are the browser's paired
    bootstrap (mulberry32, the same draws as ``decompose.paired_bootstrap``).

    Attributes:
        request_id: The request's id.
        reference_id: The reference model's id (its M sizes the arrays).
        n: The number of samples compared (repeats included).
        global_reference: The reference's global InterSHAP over those samples.
        global_other: The other model's.
        global_delta: Their difference.
        global_delta_interval: (low, high) of the difference.
        undefined_reps: Resamples left out because a global score was undefined.
        matrix_delta: (M, M) difference of the signed mean matrices.
        matrix_delta_interval: (M, M, 2) its (low, high).
        contribution_delta: (M,) difference of the modality contributions.
        contribution_delta_interval: (M, 2) its (low, high).
        local_delta: (n,) difference of the local scores, in the order of the samples.
    """

    request_id: str
    reference_id: str
    n: int
    global_reference: float
    global_other: float
    global_delta: float
    global_delta_interval: tuple[float, float]
    undefined_reps: int
    matrix_delta: np.ndarray
    matrix_delta_interval: np.ndarray
    contribution_delta: np.ndarray
    contribution_delta_interval: np.ndarray
    local_delta: np.ndarray


@dataclass(frozen=True)
class CompareFailed:
    """Why the browser could not answer a ``w.compare`` request."""

    request_id: str
    error: str


BrowserMessage = (
    Hello
    | Cancel
    | ClientError
    | BrowserResults
    | ExportedFigure
    | ExportFailed
    | BrowserComparison
    | CompareFailed
)


def _nan_if_null(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def parse_results(content: Mapping[str, Any], buffers: Sequence[Any], m: int) -> BrowserResults:
    """Checks and decodes a 'results' message for a model of ``m`` modalities.

    Args:
        content: The message content (decoded JSON).
        buffers: The message's buffers, named in order by its 'buffers' field.
        m: The number of modalities of the model the results are for.

    Returns:
        The decoded results; a null score (JSON has no NaN) becomes NaN.

    Raises:
        ProtocolError: Naming the field or buffer, what was expected and what came.
    """
    msg = dict(content)
    msg.setdefault("kind", "results")
    names = msg.get("buffers", MISSING)
    if not is_result_buffer_names(names) or len(buffers) != len(RESULT_BUFFERS):
        raise ProtocolError(
            f"results message: expected buffers {json_text(list(RESULT_BUFFERS))}, "
            f"got names {json_text(names)} with {len(buffers)} buffers"
        )
    mean_matrix, contributions, order_mass, local = (
        to_float64(buffer, name, "results") for name, buffer in zip(RESULT_BUFFERS, buffers)
    )
    if mean_matrix.size != m * m or contributions.size != m or order_mass.size != m:
        raise ProtocolError(
            f"results message: expected a {m}x{m} matrix and {m} contributions and order masses, "
            f"got sizes {mean_matrix.size}, {contributions.size}, {order_mass.size}"
        )
    model_id = field(msg, "modelId", is_string, "a string")
    n = int(field(msg, "n", is_count, "a non-negative integer"))
    global_intershap = field(msg, "globalIntershap", is_nullable_number, "a number or null")
    local_mean = field(msg, "localMean", is_nullable_number, "a number or null")
    n_undefined = int(field(msg, "nUndefined", is_count, "a non-negative integer"))
    interval = field(msg, "interval", is_interval, "two finite numbers or null")
    return BrowserResults(
        model_id=model_id,
        n=n,
        global_intershap=_nan_if_null(global_intershap),
        local_mean=_nan_if_null(local_mean),
        n_undefined=n_undefined,
        interval=None if interval is None else (float(interval[0]), float(interval[1])),
        mean_matrix=mean_matrix.reshape(m, m),
        modality_contributions=contributions,
        order_mass=order_mass,
        local=local,
    )


def parse_browser_message(
    content: Any, buffers: Sequence[Any], models: Mapping[str, int]
) -> BrowserMessage:
    """Checks and decodes a message from the browser into a typed message.

    Args:
        content: The message content (decoded JSON).
        buffers: The message's buffers.
        models: The number of modalities M of each model the kernel has, by model id; a 'results'
            message, and a 'compared' message's reference, must name one of them.

    Returns:
        A ``Hello``, ``Cancel``, ``ClientError``, ``BrowserResults``, ``ExportedFigure``,
        ``ExportFailed``, ``BrowserComparison`` or ``CompareFailed``.

    Raises:
        ProtocolError: Naming the field, what was expected and what came.
    """
    msg = check_object(content)
    kind = msg.get("kind", MISSING)
    if kind == "hello":
        return Hello(int(field(msg, "protocol", is_count, "a non-negative integer")))
    if kind == "cancel":
        model_id = field(msg, "modelId", lambda v: v is None or is_string(v), "a string or null")
        return Cancel(model_id)
    if kind == "clientError":
        return ClientError(field(msg, "message", is_string, "a string"))
    if kind == "results":
        known = ", ".join(f"'{model_id}'" for model_id in models)
        model_id = field(
            msg, "modelId", lambda v: is_string(v) and v in models, f"one of the models [{known}]"
        )
        return parse_results(msg, buffers, models[model_id])
    if kind == "exported":
        return _parse_exported(msg, buffers)
    if kind == "exportFailed":
        return ExportFailed(
            field(msg, "id", is_string, "a string"), field(msg, "error", is_string, "a string")
        )
    if kind == "compared":
        return parse_compared(msg, buffers, models)
    if kind == "compareFailed":
        return CompareFailed(
            field(msg, "id", is_string, "a string"), field(msg, "error", is_string, "a string")
        )
    raise kind_error(BROWSER_KINDS, kind)


def _parse_exported(msg: Mapping[str, Any], buffers: Sequence[Any]) -> ExportedFigure:
    request_id = field(msg, "id", is_string, "a string")
    file_format = field(msg, "format", lambda v: v in EXPORT_FORMATS, "'svg', 'pdf' or 'png'")
    panels = field(msg, "panels", is_string_list, "a list of panel names")
    if len(buffers) != 1:
        raise ProtocolError(f"exported message: expected 1 buffer (the file), got {len(buffers)}")
    data = bytes(buffer_bytes(buffers[0], "exported", "file"))
    return ExportedFigure(request_id, file_format, tuple(panels), data)


def is_nullable_pair(v: Any) -> bool:
    """Two entries, each a finite number or None (an interval whose bounds may be undefined)."""
    return isinstance(v, list) and len(v) == 2 and all(is_nullable_number(x) for x in v)


def parse_compared(
    content: Mapping[str, Any], buffers: Sequence[Any], models: Mapping[str, int]
) -> BrowserComparison:
    """Checks and decodes a 'compared' reply; M is the reference model's.

    Args:
        content: The message content (decoded JSON).
        buffers: The message's buffers, named in order by its 'buffers' field.
        models: The number of modalities M of each model the kernel has, by model id.

    Returns:
        The decoded comparison; a null number (JSON has no NaN) becomes NaN.

    Raises:
        ProtocolError: Naming the field or buffer, what was expected and what came.
    """
    msg = dict(check_object(content))
    msg.setdefault("kind", "compared")
    request_id = field(msg, "id", is_string, "a string")
    known = ", ".join(f"'{model_id}'" for model_id in models)
    reference_id = field(
        msg, "referenceId", lambda v: is_string(v) and v in models, f"one of the models [{known}]"
    )
    m = models[reference_id]
    n = int(field(msg, "n", is_count, "a non-negative integer"))
    scores = [
        _nan_if_null(field(msg, name, is_nullable_number, "a number or null"))
        for name in ("globalReference", "globalOther", "globalDelta")
    ]
    interval = field(msg, "globalDeltaInterval", is_nullable_pair, "two numbers or nulls")
    undefined_reps = int(field(msg, "undefinedReps", is_count, "a non-negative integer"))
    names = msg.get("buffers", MISSING)
    if names != list(COMPARED_BUFFERS) or len(buffers) != len(COMPARED_BUFFERS):
        raise ProtocolError(
            f"compared message: expected buffers {json_text(list(COMPARED_BUFFERS))}, "
            f"got names {json_text(names)} with {len(buffers)} buffers"
        )
    sizes = {"matrixDelta": m * m, "contributionDelta": m, "localDelta": n}
    arrays = {}
    for name, buffer in zip(COMPARED_BUFFERS, buffers):
        array = to_float64(buffer, name, "compared")
        base = name.removesuffix("Low").removesuffix("High")
        what = {"matrixDelta": f"M² with M = {m}", "contributionDelta": f"M = {m}"}.get(
            base, f"n = {n}"
        )
        if array.size != sizes[base]:
            raise ProtocolError(
                f"compared message: buffer '{name}' expected {sizes[base]} float64 values "
                f"({what}), got {array.size}"
            )
        arrays[name] = array
    return BrowserComparison(
        request_id=request_id,
        reference_id=reference_id,
        n=n,
        global_reference=scores[0],
        global_other=scores[1],
        global_delta=scores[2],
        global_delta_interval=(_nan_if_null(interval[0]), _nan_if_null(interval[1])),
        undefined_reps=undefined_reps,
        matrix_delta=arrays["matrixDelta"].reshape(m, m),
        matrix_delta_interval=np.stack(
            [arrays["matrixDeltaLow"], arrays["matrixDeltaHigh"]], axis=-1
        ).reshape(m, m, 2),
        contribution_delta=arrays["contributionDelta"],
        contribution_delta_interval=np.stack(
            [arrays["contributionDeltaLow"], arrays["contributionDeltaHigh"]], axis=-1
        ),
        local_delta=arrays["localDelta"],
    )
