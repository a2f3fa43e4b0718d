"""The kernel side of the protocol, against the examples the browser side is tested with.

Also the selection's binary state through a widget, and browser messages reaching the widget.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from ipywidgets.widgets.widget import _remove_buffers

from intershap_widget import InterSHAP, protocol, selection

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "protocol" / "messages.json"
EXAMPLES = json.loads(FIXTURE.read_text(encoding="utf-8"))
DTYPES = {"float64": "<f8", "int32": "<i4", "uint8": "u1"}


def buffer(spec: dict[str, Any]) -> memoryview:
    """A buffer as ipykernel hands it over: a byte memoryview (or, if 'typed', a typed one)."""
    array = np.array(spec["data"], dtype=DTYPES[spec["dtype"]])
    if spec.get("typed"):
        return memoryview(array)
    offset = spec.get("offset", 0)
    return memoryview(b"\0" * offset + array.tobytes())[offset:]


def buffers(case: dict[str, Any]) -> list[memoryview]:
    return [buffer(spec) for spec in case.get("buffers", [])]


def receive_kernel_message(case: dict[str, Any]) -> Any:
    """What the browser checks of a kernel message, done on the kernel side: header, buffers."""
    header = protocol.parse_kernel_message(case["content"])
    if header["kind"] == "chunk":
        return protocol.decode_chunk(header, buffers(case), case.get("M", 0))
    if header["kind"] == "cohorts":
        return protocol.decode_cohorts(header, buffers(case))
    return header


def named(cases: list[dict[str, Any]]) -> Any:
    return pytest.mark.parametrize("case", cases, ids=[case["name"] for case in cases])


# ------------------------------------------------------------------------------------------------
# The shared examples


@named(EXAMPLES["kernelToBrowser"]["valid"])
def test_kernel_messages_in_the_examples_are_accepted(case: dict[str, Any]) -> None:
    decoded = receive_kernel_message(case)
    kind = case["content"]["kind"]
    if kind == "chunk":
        for name, spec in zip(case["content"]["buffers"], case["buffers"]):
            np.testing.assert_array_equal(decoded[name], spec["data"])
    elif kind == "cohorts":
        np.testing.assert_array_equal(decoded, case["buffers"][0]["data"])
    else:
        assert decoded == case["content"]


@named(EXAMPLES["kernelToBrowser"]["invalid"])
def test_kernel_messages_in_the_examples_are_refused(case: dict[str, Any]) -> None:
    with pytest.raises(protocol.ProtocolError) as error:
        receive_kernel_message(case)
    assert case["error"] in str(error.value)


@named(EXAMPLES["browserToKernel"]["valid"])
def test_browser_messages_in_the_examples_are_accepted(case: dict[str, Any]) -> None:
    models = EXAMPLES["browserToKernel"]["models"]
    message = protocol.parse_browser_message(case["content"], buffers(case), models)
    content = case["content"]
    if content["kind"] == "hello":
        assert message == protocol.Hello(protocol=content["protocol"])
    elif content["kind"] == "cancel":
        assert message == protocol.Cancel(model_id=content["modelId"])
    elif content["kind"] == "clientError":
        assert message == protocol.ClientError(message=content["message"])
    else:
        assert isinstance(message, protocol.BrowserResults)
        m = models[content["modelId"]]
        assert (message.model_id, message.n, message.n_undefined) == (
            content["modelId"],
            content["n"],
            content["nUndefined"],
        )
        for value, sent in [
            (message.global_intershap, content["globalIntershap"]),
            (message.local_mean, content["localMean"]),
        ]:
            assert np.isnan(value) if sent is None else value == sent
        assert message.interval == (
            None if content["interval"] is None else tuple(content["interval"])
        )
        arrays = [message.mean_matrix, message.modality_contributions, message.order_mass]
        assert message.mean_matrix.shape == (m, m)
        for array, spec in zip([*arrays, message.local], case["buffers"]):
            np.testing.assert_array_equal(array.ravel(), spec["data"])


@named(EXAMPLES["browserToKernel"]["invalid"])
def test_browser_messages_in_the_examples_are_refused(case: dict[str, Any]) -> None:
    models = EXAMPLES["browserToKernel"]["models"]
    with pytest.raises(protocol.ProtocolError) as error:
        protocol.parse_browser_message(case["content"], buffers(case), models)
    assert case["error"] in str(error.value)


def selection_state(case: dict[str, Any]) -> Any:
    return case["state"]["json"] if "json" in case["state"] else buffer(case["state"])


@named(EXAMPLES["selection"]["valid"])
def test_selection_states_in_the_examples_are_decoded(case: dict[str, Any]) -> None:
    indices = selection.decode_selection(selection_state(case), case.get("nSamples"))
    assert indices == case["indices"]
    assert all(type(i) is int for i in indices)
    # ... and encode back into the same little-endian bytes.
    encoded = selection.selection_buffer(indices)
    assert encoded.format == "B"
    assert encoded.tobytes() == np.array(case["indices"], dtype="<i4").tobytes()


@named(EXAMPLES["selection"]["invalid"])
def test_selection_states_in_the_examples_are_refused(case: dict[str, Any]) -> None:
    with pytest.raises(protocol.ProtocolError) as error:
        selection.decode_selection(selection_state(case), case.get("nSamples"))
    assert case["error"] in str(error.value)


def test_protocol_errors_are_value_errors() -> None:
    assert issubclass(protocol.ProtocolError, ValueError)


# ------------------------------------------------------------------------------------------------
# What the kernel builds passes its own check (the browser's, in the same words)


def test_the_kernels_messages_pass_the_check_the_browser_makes() -> None:
    rng = np.random.default_rng(0)
    dataset = protocol.dataset_message("m", "late fusion", ["a", "b", "c"], 4, "predicted")
    assert protocol.parse_kernel_message(dataset) == dataset
    arrays = {"values": rng.random((4, 8)), "se": None, "prediction": rng.random(4)}
    header, sent = protocol.chunk_message("m", 6, arrays)
    decoded = protocol.decode_chunk(protocol.parse_kernel_message(header), sent, 3)
    np.testing.assert_array_equal(decoded["values"], arrays["values"].ravel())
    np.testing.assert_array_equal(decoded["prediction"], arrays["prediction"])
    assert "se" not in decoded
    progress = protocol.progress_message("m", 2, 4, float("nan"), float("inf"), 100)
    assert protocol.parse_kernel_message(progress)["etaSeconds"] is None
    for state in protocol.STATUS_STATES:
        protocol.parse_kernel_message(protocol.status_message("m", state, "why"))
    header, sent = protocol.cohorts_message("site", ["A", "B"], np.array([1, 0, 1, 1]))
    codes = protocol.decode_cohorts(protocol.parse_kernel_message(header), sent)
    np.testing.assert_array_equal(codes, [1, 0, 1, 1])


def test_decoded_arrays_do_not_share_the_messages_memory() -> None:
    raw = bytearray(np.arange(4.0).tobytes())
    header = protocol.parse_kernel_message(
        {"kind": "chunk", "modelId": "m", "start": 0, "count": 1, "buffers": ["values"]}
    )
    decoded = protocol.decode_chunk(header, [memoryview(raw)], 2)
    raw[:8] = bytes(8)
    np.testing.assert_array_equal(decoded["values"], [0, 1, 2, 3])


def test_a_selection_index_beyond_int32_is_refused_by_name() -> None:
    with pytest.raises(protocol.ProtocolError, match=r"selection: expected int32 sample indices"):
        selection.selection_buffer([2**31])


# ------------------------------------------------------------------------------------------------
# The selection through a widget: a list of ints in Python, int32 bytes on the wire


class Wire:
    """Captures the widget's comm messages (state updates and echoes), standing in for the comm."""

    def __init__(self, widget: InterSHAP) -> None:
        self.sent: list[tuple[dict, list]] = []
        widget._send = lambda msg, buffers=None: self.sent.append((msg, list(buffers or [])))

    def selection_updates(self) -> list[bytes]:
        """The selection buffers of every 'update' sent, as bytes."""
        out = []
        for msg, buffers in self.sent:
            if msg["method"] == "update" and ["selection"] in msg["buffer_paths"]:
                out.append(bytes(buffers[msg["buffer_paths"].index(["selection"])]))
        return out


def widget(n: int = 6) -> InterSHAP:
    return InterSHAP(values=np.arange(4.0 * n).reshape(n, 4), names=["a", "b"])


def int32_bytes(indices: list[int]) -> bytes:
    return np.array(indices, dtype="<i4").tobytes()


def test_the_selection_state_is_a_binary_buffer_not_a_json_list() -> None:
    w = widget()
    w.selection = [4, 1]
    state, paths, buffers = _remove_buffers(w.get_state("selection"))
    assert state == {} and paths == [["selection"]]
    assert bytes(buffers[0]) == int32_bytes([4, 1])
    w.selection = []
    _, _, buffers = _remove_buffers(w.get_state("selection"))
    assert bytes(buffers[0]) == b""


def test_setting_the_selection_in_python_sends_the_indices_as_int32_bytes() -> None:
    w = widget()
    wire = Wire(w)
    with pytest.warns(UserWarning, match=r"selection: sample 3 listed more than once"):
        w.selection = [5, 0, 3, 3]
    assert wire.selection_updates() == [int32_bytes([5, 0, 3, 3])]
    # Python keeps what the user set, in the user's order; the browser sorts and de-duplicates.
    assert w.selection == [5, 0, 3, 3]


def test_selection_from_python_keeps_order_and_reports_duplicates() -> None:
    import warnings

    w = widget()
    with pytest.warns(UserWarning) as record:
        w.selection = [5, 2, 5]
    assert w.selection == [5, 2, 5]
    assert [str(r.message) for r in record] == [
        (
            "selection: sample 5 listed more than once; w.selection keeps the list as given, the"
            " widget selects each sample once (2 distinct of 3)"
        )
    ]
    assert record[0].filename == __file__  # points at the line that set it
    with pytest.warns(
        UserWarning, match=r"samples 1, 0 listed more than once; .*\(2 distinct of 5\)"
    ):
        w.selection = [0, 1, 1, 0, 0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w.selection = [4, 1, 3]  # distinct: no warning, order kept
    assert w.selection == [4, 1, 3]
    assert selection.duplicates([3, 3, 3, 1, 2, 1]) == [3, 1]


def test_a_selection_from_the_browser_updates_python() -> None:
    w = widget()
    wire = Wire(w)
    seen: list[list[int]] = []
    w.observe(lambda change: seen.append(change["new"]), "selection")
    # As the comm delivers a brush: the state without the buffer, the buffer's path, the bytes.
    w._handle_msg(
        {
            "content": {"data": {"method": "update", "state": {}, "buffer_paths": [["selection"]]}},
            "buffers": [memoryview(int32_bytes([1, 2, 5]))],
        }
    )
    assert w.selection == [1, 2, 5]
    assert seen == [[1, 2, 5]]
    # The kernel sends no update of its own, and no echo of the browser's 2 MB per brush either
    # (echo_update=False): the page that brushed has the selection already.
    assert wire.selection_updates() == []
    echo = [msg for msg, _ in wire.sent if msg["method"] == "echo_update"]
    assert echo == []
    w.set_state({"selection": memoryview(b"")})
    assert w.selection == []
    assert seen == [[1, 2, 5], []]


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (
            [1, 2],
            "selection: expected a binary buffer of int32 sample indices, got an array of length 2",
        ),
        (
            memoryview(b"\1\0\0\0\2\0"),
            "selection: expected a binary buffer of int32 sample indices (4 bytes each), got 6 bytes",
        ),
        (
            memoryview(np.array([1.0, 2.0])),
            "selection: expected a binary buffer of int32 sample indices, got a float64 buffer",
        ),
        (
            memoryview(int32_bytes([0, 6, 7])),
            "selection: expected sample indices from 0 to 5, got [6, 7]",
        ),
        (memoryview(int32_bytes([-1])), "selection: expected sample indices from 0 to 5, got [-1]"),
    ],
    ids=["json list", "odd length", "float64", "past the end", "negative"],
)
def test_a_bad_selection_state_from_the_browser_is_refused_by_name(
    state: Any, message: str
) -> None:
    w = widget()
    w.selection = [2]
    with pytest.raises(ValueError) as error:
        w.set_state({"selection": state})
    assert message in str(error.value)
    assert w.selection == [2]


def test_a_selection_set_in_python_is_checked_against_the_samples() -> None:
    w = widget()
    with pytest.raises(
        ValueError, match=r"selection: expected sample indices from 0 to 5, got \[6\]"
    ):
        w.selection = [0, 6]
    many = list(range(10, 20))
    with pytest.raises(ValueError, match=r"got \[10, 11, 12, 13, 14\] \.\.\."):
        w.selection = many
    assert w.selection == []


def test_the_selection_trait_accepts_and_refuses_what_list_of_int_does() -> None:
    from traitlets import HasTraits, Int, List, TraitError

    class Plain(HasTraits):
        value = List(Int())

    class Fast(HasTraits):
        value = selection.SelectionList()

    for value in ([], [3, 1, 3], [True, 2], list(range(1000)), (4, 5), [2**70]):
        plain, fast = Plain(), Fast()
        plain.value = value
        fast.value = value
        assert fast.value == plain.value and type(fast.value) is list
        assert fast.value is not value  # a copy, as List(Int()) makes
    # Whatever List(Int()) makes of other values (refused, or for numpy ints kept), the trait
    # makes too, with the same message (naming its own class).
    for other in ([1, 2.0], [1, None], [np.int64(3)], ["1"], 5, np.arange(3)):
        outcomes = []
        for owner in (Plain(), Fast()):
            try:
                owner.value = other
                outcomes.append(("kept", owner.value))
            except TraitError as error:
                message = str(error).replace("Plain", "Fast").replace("a List", "a SelectionList")
                outcomes.append(("refused", message))
        assert outcomes[0] == outcomes[1]


def test_a_brush_of_500000_samples_is_not_checked_one_int_at_a_time(monkeypatch: Any) -> None:
    from traitlets import Int

    n = 1_000_000
    w = InterSHAP(values=np.zeros((n, 4)), names=["a", "b"])
    Wire(w)
    calls = {"int": 0}
    validate = Int.validate

    def counted(self: Any, obj: Any, value: Any) -> Any:
        calls["int"] += 1
        return validate(self, obj, value)

    monkeypatch.setattr(Int, "validate", counted)
    brush = np.arange(0, n, 2, dtype="<i4")
    w._handle_msg(
        {
            "content": {"data": {"method": "update", "state": {}, "buffer_paths": [["selection"]]}},
            "buffers": [memoryview(brush.tobytes())],
        }
    )
    assert len(w.selection) == brush.size and w.selection[:3] == [0, 2, 4]
    assert type(w.selection[0]) is int
    assert calls["int"] == 0
    # Out of range or repeated in a large selection: the same errors and warnings as a small one.
    with pytest.raises(ValueError, match=r"from 0 to 999999, got \[1000000\]"):
        w.selection = [*range(10_000), n]
    with pytest.warns(UserWarning, match=r"samples 7, 3 listed more than once; .*\(10000 distinct"):
        w.selection = [*range(10_000), 7, 3]


@pytest.mark.parametrize(
    "indices",
    [[], [0, 5, 2], [5, 5], list(range(20)), [-1, 3], [2**31, 1], [True, 3], [1.5, 2]],
)
def test_the_selection_checks_give_the_same_answers_for_arrays_and_lists(indices: list) -> None:
    def outcome(check: Any, value: Any) -> Any:
        try:
            return ("ok", check(value))
        except protocol.ProtocolError as error:
            return ("refused", str(error))

    array = np.asarray(indices) if indices else np.zeros(0, dtype=np.int32)
    # The numpy fast paths answer as the plain loops: the same duplicates, the same errors.
    assert selection.duplicates(array) == selection.duplicates(indices)
    assert outcome(lambda v: selection.check_selection(v, 6), array) == outcome(
        lambda v: selection.check_selection(v, 6), [int(i) for i in indices]
    )
    encoded = outcome(lambda v: bytes(selection.selection_buffer(v)), indices)
    if all(isinstance(i, int) and -(2**31) <= i < 2**31 for i in indices):
        assert encoded == ("ok", int32_bytes(indices))
    elif any(isinstance(i, int) and not -(2**31) <= i < 2**31 for i in indices):
        assert encoded[0] == "refused" and "expected int32 sample indices" in encoded[1]


# ------------------------------------------------------------------------------------------------
# Browser messages reach the widget through protocol.parse_browser_message


def test_the_widget_refuses_a_malformed_browser_message_by_name() -> None:
    w = widget()
    with pytest.raises(protocol.ProtocolError, match=r"field 'kind' expected one of 'hello'"):
        w._on_browser_message(w, {"kind": "explode"}, [])
    with pytest.raises(protocol.ProtocolError, match=r"results message: field 'modelId'"):
        w._on_browser_message(w, {"kind": "results", "modelId": "nope"}, [])


def test_client_errors_and_cancel_are_dispatched() -> None:
    w = widget()
    w._on_browser_message(w, {"kind": "clientError", "message": "worker failed"}, [])
    assert w.client_errors == ["worker failed"]
    cancelled: list[str] = []
    run = next(iter(w._runs.values()))
    run.cancel = lambda: cancelled.append(run.model_id)
    run.state = "running"
    w._on_browser_message(w, {"kind": "cancel", "modelId": "another"}, [])
    assert cancelled == []
    w._on_browser_message(w, {"kind": "cancel", "modelId": None}, [])
    w._on_browser_message(w, {"kind": "cancel", "modelId": run.model_id}, [])
    assert cancelled == [run.model_id, run.model_id]


def test_an_exported_figure_and_a_failed_export_are_parsed_with_their_request_id() -> None:
    figure = protocol.parse_browser_message(
        {"kind": "exported", "id": "r1", "format": "pdf", "panels": ["split", "heatmap"]},
        [memoryview(b"%PDF-1.3 ...")],
        {},
    )
    assert figure == protocol.ExportedFigure("r1", "pdf", ("split", "heatmap"), b"%PDF-1.3 ...")
    failed = protocol.parse_browser_message(
        {"kind": "exportFailed", "id": "r2", "error": "sample: expected an index"}, [], {}
    )
    assert failed == protocol.ExportFailed("r2", "sample: expected an index")
    with pytest.raises(protocol.ProtocolError, match="expected 1 buffer \\(the file\\), got 0"):
        protocol.parse_browser_message(
            {"kind": "exported", "id": "r1", "format": "pdf", "panels": []}, [], {}
        )
    with pytest.raises(protocol.ProtocolError, match="field 'format' expected 'svg', 'pdf' or"):
        protocol.parse_browser_message(
            {"kind": "exported", "id": "r1", "format": "gif", "panels": []}, [b"x"], {}
        )
