"""Property tests of the kernel's parsers (issue 20), one test per message family.

As tests/ts/protocol/fuzz.test.ts does for the browser's parsers: random, truncated and oversized messages raise the parser's own ProtocolError (a
ValueError) and nothing else, a header that promises more than the bounds is refused before
anything is allocated, and a widget fed garbage after a good message keeps what it had.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intershap_widget import InterSHAP, protocol, selection
from intershap_widget.limits import MAX_MODALITIES
from intershap_widget.wire_checks import ProtocolError

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=8,
)
odd = (
    st.sampled_from(
        [
            2**31,
            2**40,
            2**53,
            10**400,
            -1,
            30,
            1.5,
            math.nan,
            math.inf,
            -math.inf,
            -0.0,
            "",
            "3",
            None,
            True,
            [],
            {},
        ]
    )
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | json_values
)
any_buffer = (
    st.binary(max_size=96).map(memoryview)
    | st.binary(max_size=96)
    | st.lists(st.floats(), max_size=12).map(lambda a: memoryview(np.array(a, dtype="<f8")))
    | st.lists(st.integers(-(2**31), 2**31 - 1), max_size=12).map(
        lambda a: memoryview(np.array(a, dtype="<i4"))
    )
    | json_values
)


def mutated(valid: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A valid message with one field replaced by an odd value (or one field more)."""
    keys = st.sampled_from([*valid, "kind", "extra"])
    return st.tuples(keys, odd).map(lambda kv: {**valid, kv[0]: kv[1]})


def truncated(data: bytes) -> st.SearchStrategy[memoryview]:
    """Valid bytes cut short at a random byte."""
    return st.integers(0, max(len(data) - 1, 0)).map(lambda cut: memoryview(data[:cut]))


def parses_or_refuses(f: Any) -> bool:
    """Runs ``f``; any error but ProtocolError fails. Returns whether it parsed."""
    try:
        f()
    except ProtocolError as error:
        assert isinstance(error, ValueError)
        assert "message" in str(error) or "selection" in str(error)
        return False
    return True


DATASET = {
    "kind": "dataset",
    "modelId": "a",
    "label": "model",
    "names": ["image", "text"],
    "M": 2,
    "nSamples": 4,
    "target": "predicted",
}
CHUNK = {
    "kind": "chunk",
    "modelId": "a",
    "start": 0,
    "count": 2,
    "buffers": ["values", "prediction"],
}
VALUES = np.arange(8, dtype="<f8") / 8
PREDICTION = np.array([0.25, 0.75], dtype="<f8")


@FUZZ
@given(st.one_of(mutated(DATASET), json_values))
def test_family_dataset(raw: Any) -> None:
    if parses_or_refuses(lambda: protocol.parse_kernel_message(raw)):
        header = protocol.parse_kernel_message(raw)
        if header["kind"] == "dataset":
            assert 2 <= header["M"] <= MAX_MODALITIES
            assert header["nSamples"] * 2 ** header["M"] <= protocol.MAX_TABLE_VALUES


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("M", 30, "dataset message: field 'M' expected 2 to 16 modalities, got 30"),
        (
            "nSamples",
            2**40,
            "field 'nSamples' expected at most 33554432 samples for M = 2, got 1099511627776",
        ),
        ("nSamples", 2**31, "field 'nSamples' expected at most 33554432 samples for M = 2"),
        ("M", 10**400, "field 'M' expected"),
    ],
)
def test_family_dataset_oversized_headers(field: str, value: int, error: str) -> None:
    with pytest.raises(ProtocolError) as info:
        protocol.parse_kernel_message({**DATASET, field: value})
    assert error in str(info.value)


@FUZZ
@given(
    st.one_of(mutated(CHUNK), st.just(CHUNK)),
    st.one_of(
        st.lists(any_buffer, max_size=3),
        truncated(VALUES.tobytes()).map(lambda v: [v, memoryview(PREDICTION)]),
        truncated(PREDICTION.tobytes()).map(lambda v: [memoryview(VALUES), v]),
    ),
    st.one_of(st.just(2), st.integers(-2, 40)),
)
def test_family_chunk(raw: Any, buffers: list[Any], m: int) -> None:
    def decode() -> None:
        header = protocol.parse_kernel_message(raw)
        if header["kind"] == "chunk":
            chunk = protocol.decode_chunk(header, buffers, m)
            assert chunk["values"].size == header["count"] * 2**m

    parses_or_refuses(decode)


def test_family_chunk_oversized_count_is_refused_before_copying() -> None:
    with pytest.raises(
        ProtocolError, match=r"field 'count' expected at most 33554432 samples, got 2147483648"
    ):
        protocol.parse_kernel_message({**CHUNK, "count": 2**31})
    header = protocol.parse_kernel_message({**CHUNK, "count": protocol.MAX_SAMPLES})
    with pytest.raises(
        ProtocolError, match=r"buffer 'values' expected 2199023255552 float64 values"
    ):
        protocol.decode_chunk(header, [memoryview(VALUES), memoryview(PREDICTION)], 16)


@FUZZ
@given(
    st.one_of(
        mutated(
            {
                "kind": "progress",
                "modelId": "a",
                "done": 1,
                "total": 4,
                "samplesPerSecond": 2.0,
                "etaSeconds": None,
                "modelRows": 10,
            }
        ),
        mutated({"kind": "status", "modelId": "a", "state": "done", "message": ""}),
    )
)
def test_family_progress_and_status(raw: Any) -> None:
    parses_or_refuses(lambda: protocol.parse_kernel_message(raw))


@FUZZ
@given(
    mutated({"kind": "cohorts", "name": "label", "categories": ["a", "b"]}),
    st.lists(any_buffer, max_size=2),
)
def test_family_cohorts(raw: Any, buffers: list[Any]) -> None:
    def decode() -> None:
        header = protocol.parse_kernel_message(raw)
        if header["kind"] == "cohorts":
            protocol.decode_cohorts(header, buffers)

    parses_or_refuses(decode)


@FUZZ
@given(st.one_of(any_buffer, json_values), st.one_of(st.none(), st.integers(-5, 2**40)))
def test_family_selection(state: Any, n_samples: int | None) -> None:
    def decode() -> None:
        indices = selection.decode_selection(state, n_samples)
        if n_samples is not None:
            assert all(0 <= i < n_samples for i in indices)
        assert selection.selection_from_json(state) == selection.decode_selection(state)

    parses_or_refuses(decode)


RESULTS = {
    "kind": "results",
    "modelId": "a",
    "n": 4,
    "globalIntershap": 0.5,
    "localMean": 0.4,
    "nUndefined": 0,
    "interval": [0.4, 0.6],
    "buffers": ["meanMatrix", "contributions", "orderMass", "local"],
}
RESULT_BUFFERS = [np.ones(4), np.ones(2), np.ones(2), np.ones(4)]


@FUZZ
@given(
    st.one_of(
        mutated(RESULTS),
        mutated({"kind": "hello", "protocol": 1}),
        mutated({"kind": "cancel", "modelId": None}),
        mutated({"kind": "clientError", "message": "x"}),
        json_values,
    ),
    st.one_of(
        st.lists(any_buffer, max_size=5),
        truncated(np.ones(4).tobytes()).map(
            lambda v: [v, *(memoryview(b) for b in RESULT_BUFFERS[1:])]
        ),
    ),
)
def test_family_browser_messages(raw: Any, buffers: list[Any]) -> None:
    parses_or_refuses(lambda: protocol.parse_browser_message(raw, buffers, {"a": 2}))


@FUZZ
@given(
    st.one_of(
        mutated({"kind": "exported", "id": "r1", "format": "svg", "panels": ["a"]}),
        mutated({"kind": "exportFailed", "id": "r1", "error": "no"}),
    ),
    st.lists(any_buffer, max_size=2),
)
def test_family_export_reply(raw: Any, buffers: list[Any]) -> None:
    parses_or_refuses(lambda: protocol.parse_browser_message(raw, buffers, {"a": 2}))


COMPARED = {
    "kind": "compared",
    "id": "c1",
    "referenceId": "a",
    "n": 3,
    "globalReference": 0.5,
    "globalOther": 0.4,
    "globalDelta": -0.1,
    "globalDeltaInterval": [-0.2, 0.0],
    "undefinedReps": 0,
    "buffers": list(protocol.COMPARED_BUFFERS),
}
COMPARED_ARRAYS = [np.zeros(4)] * 3 + [np.zeros(2)] * 3 + [np.zeros(3)]


@FUZZ
@given(
    st.one_of(mutated(COMPARED), mutated({"kind": "compareFailed", "id": "c1", "error": "x"})),
    st.one_of(
        st.lists(any_buffer, max_size=8),
        truncated(np.zeros(3).tobytes()).map(
            lambda v: [*(memoryview(a) for a in COMPARED_ARRAYS[:-1]), v]
        ),
    ),
)
def test_family_compare_reply(raw: Any, buffers: list[Any]) -> None:
    parses_or_refuses(lambda: protocol.parse_browser_message(raw, buffers, {"a": 2}))
    parses_or_refuses(lambda: protocol.parse_compared(raw, buffers, {"a": 2}))


@FUZZ
@given(
    mutated({"kind": "compare", "id": "c1", "referenceId": "a", "otherId": "b", "subset": True}),
    st.one_of(
        st.lists(any_buffer, max_size=2),
        truncated(np.array([3, 1, 1], dtype="<i4").tobytes()).map(lambda v: [v]),
    ),
)
def test_family_compare_request(raw: Any, buffers: list[Any]) -> None:
    def decode() -> None:
        header = protocol.parse_kernel_message(raw)
        if header["kind"] == "compare":
            protocol.decode_compare_samples(header, buffers)

    parses_or_refuses(decode)


def test_family_widget_keeps_its_state_after_garbage() -> None:
    """A good results message, then garbage through the comm: every earlier result stays."""
    w = InterSHAP(values=np.arange(16.0).reshape(4, 4), names=["a", "b"])
    run = next(iter(w._runs.values()))
    good = {**RESULTS, "modelId": run.model_id}
    w._on_browser_message(w, good, [memoryview(b) for b in RESULT_BUFFERS])
    kept = run.browser
    assert kept is not None and kept.n == 4
    before = (run.values.copy(), list(w.client_errors), w.selection, run.state)

    @FUZZ
    @given(
        st.one_of(mutated(good), mutated({"kind": "hello", "protocol": 1}), json_values),
        st.lists(any_buffer, max_size=5),
    )
    def feed(raw: Any, buffers: list[Any]) -> None:
        models = {run.model_id: 2}
        if not parses_or_refuses(lambda: protocol.parse_browser_message(raw, buffers, models)):
            with pytest.raises(ProtocolError):
                w._on_browser_message(w, raw, buffers)

    feed()
    assert run.browser is kept
    np.testing.assert_array_equal(run.values, before[0])
    assert (list(w.client_errors), w.selection, run.state) == before[1:]


@FUZZ
@given(json_values, st.lists(any_buffer, max_size=8))
def test_family_compare_reply_not_an_object(raw: Any, buffers: list[Any]) -> None:
    parses_or_refuses(lambda: protocol.parse_compared(raw, buffers, {"a": 2}))
