"""``w.compare``: two models on the same samples, from the numpy twin or from the browser.

In pytest no browser shows the widget, so the numpy twin computes; a browser is played here by
replying to the kernel's ``compare`` request, in-process (through ``_on_browser_message``) and,
at the end, over a real kernel's comm while the cell that asked waits.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from kernel_helpers import iopub_until

from intershap_widget import InterSHAP, decompose, protocol
from intershap_widget.compare import Comparison

N = 40
NAMES = ["image", "text", "tabular"]


def tables(seed: int, n: int = N, m: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, 2**m))


def two_models(n: int = N) -> InterSHAP:
    w = InterSHAP(values=tables(0, n), names=NAMES, label="early")
    w.add_model("late", values=tables(1, n), names=NAMES)
    return w


def expected(reference: np.ndarray, other: np.ndarray, subset: Any = None) -> tuple[Any, Any]:
    dec_ref, dec_other = decompose.decompose(reference), decompose.decompose(other)
    return (
        decompose.paired_delta(dec_ref, dec_other, subset),
        decompose.paired_bootstrap(dec_ref, dec_other, subset, reps=1000, seed=0, level=0.95),
    )


def assert_same_numbers(c: Comparison, delta: Any, interval: Any) -> None:
    assert c.n == delta.n
    assert c.global_reference == delta.global_reference
    assert c.global_other == delta.global_other
    assert c.global_delta == delta.global_delta
    assert c.global_delta_interval == interval.global_delta
    assert c.undefined_reps == interval.undefined_reps
    np.testing.assert_array_equal(c.matrix_delta, delta.matrix_delta)
    np.testing.assert_array_equal(c.matrix_delta_interval, interval.matrix_delta)
    np.testing.assert_array_equal(c.contribution_delta, delta.contribution_delta)
    np.testing.assert_array_equal(c.contribution_delta_interval, interval.contribution_delta)
    np.testing.assert_array_equal(c.local_delta, delta.local_delta)


class Browser:
    """Stands in for the browser: records what the widget sends and answers compare requests.

    Every message is held to the browser's checks (``parse_kernel_message`` and, for a compare
    request, the decoding of its sample indices) before it is recorded.
    """

    def __init__(self, widget: InterSHAP, answer: Any = None) -> None:
        self.widget = widget
        self.answer = answer  # (header, buffers) -> (content, buffers) of the reply, or None
        self.requests: list[tuple[dict, np.ndarray | None]] = []
        self.sent: list[dict] = []
        widget._browser_ready = True
        widget.send = self.receive

    def receive(self, content: dict, buffers: list | None = None) -> None:
        buffers = buffers or []
        header = protocol.parse_kernel_message(content)
        self.sent.append(content)
        if header["kind"] != "compare":
            return
        samples = protocol.decode_compare_samples(header, buffers)
        self.requests.append((header, samples))
        if self.answer is not None:
            reply = self.answer(header, samples)
            if reply is not None:
                self.widget._on_browser_message(self.widget, *reply)


def compared_reply(
    request_id: str, reference_id: str, m: int, count: int, /, **overrides: Any
) -> tuple[dict, list[bytes]]:
    """A valid 'compared' reply of made-up numbers: buffer k holds k, k + 0.01, k + 0.02, ..."""
    content = {
        "kind": "compared",
        "id": request_id,
        "referenceId": reference_id,
        "n": count,
        "globalReference": 0.5,
        "globalOther": 0.25,
        "globalDelta": -0.25,
        "globalDeltaInterval": [-0.375, -0.125],
        "undefinedReps": 3,
        "buffers": list(protocol.COMPARED_BUFFERS),
    }
    content.update(overrides)
    sizes = [m * m] * 3 + [m] * 3 + [count]
    buffers = [(np.arange(size) * 0.01 + k).astype("<f8").tobytes() for k, size in enumerate(sizes)]
    return content, buffers


def model_id(w: InterSHAP, label: str) -> str:
    return w._run_by_label(label).model_id


# ------------------------------------------------------------------------------------------------
# The numpy twin (no browser)


def test_without_a_browser_the_numpy_twin_compares_the_second_model_against_the_first() -> None:
    w = two_models()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every sample is computed: nothing to warn about
        c = w.compare()
    assert (c.reference, c.other, c.source, c.names) == ("early", "late", "numpy", NAMES)
    np.testing.assert_array_equal(c.samples, np.arange(N))
    assert_same_numbers(c, *expected(tables(0), tables(1)))
    assert c.matrix_delta.shape == (3, 3) and c.matrix_delta_interval.shape == (3, 3, 2)
    assert c.contribution_delta_interval.shape == (3, 2) and c.local_delta.shape == (N,)
    low, high = c.global_delta_interval
    assert low <= c.global_delta <= high
    assert c.global_delta == pytest.approx(c.global_other - c.global_reference, abs=1e-15)
    np.testing.assert_allclose(c.local_delta, c.local_other - c.local_reference)


def test_the_default_reference_and_other_fill_in_around_what_is_given() -> None:
    w = two_models()
    w.add_model("intermediate", values=tables(2), names=NAMES)
    assert (w.compare("late").reference, w.compare("late").other) == ("late", "early")
    assert (w.compare(other="early").reference, w.compare(other="early").other) == (
        "late",
        "early",
    )
    assert w.compare(other="intermediate").reference == "early"
    c = w.compare("intermediate", "late")
    assert_same_numbers(c, *expected(tables(2), tables(1)))


def test_samples_none_selection_indices_and_mask() -> None:
    w = two_models()
    every = w.compare(samples="selection")  # nothing selected: every sample
    np.testing.assert_array_equal(every.samples, np.arange(N))
    assert every.global_delta == w.compare().global_delta

    w.selection = [7, 3, 30]
    chosen = w.compare(samples="selection")
    np.testing.assert_array_equal(chosen.samples, [7, 3, 30])
    assert_same_numbers(chosen, *expected(tables(0), tables(1), np.array([7, 3, 30])))

    repeated = w.compare(samples=[5, 5, 2, 9])
    np.testing.assert_array_equal(repeated.samples, [5, 5, 2, 9])
    assert_same_numbers(repeated, *expected(tables(0), tables(1), np.array([5, 5, 2, 9])))

    mask = np.arange(N) % 3 == 0
    masked = w.compare(samples=mask)
    np.testing.assert_array_equal(masked.samples, np.flatnonzero(mask))
    assert_same_numbers(masked, *expected(tables(0), tables(1), mask))


def three_and_two_modalities() -> InterSHAP:
    w = InterSHAP(values=tables(0, m=3), names=["a", "b", "c"], label="x")
    w.add_model("y", values=tables(1, m=2), names=["a", "b"])
    w.add_model("z", values=tables(2, m=2), names=["a", "c"])
    return w


@pytest.mark.parametrize(
    ("make", "kwargs", "message"),
    [
        (two_models, {"other": "lat"}, "other: expected one of ['early', 'late'], got 'lat'"),
        (two_models, {"reference": 1}, "reference: expected one of ['early', 'late'], got 1"),
        (
            two_models,
            {"reference": "early", "other": "early"},
            "other: expected a model other than the reference 'early'",
        ),
        (
            lambda: InterSHAP(values=tables(0), names=NAMES, label="early"),
            {},
            "reference: the widget holds one model; add another with w.add_model(...) to compare",
        ),
        (
            three_and_two_modalities,
            {"reference": "x", "other": "y"},
            (
                "other: 'x' has M = 3 modalities (a, b, c) and 'y' has M = 2 (a, b); models with"
                " different modalities cannot be compared"
            ),
        ),
        (
            three_and_two_modalities,
            {"reference": "y", "other": "z"},
            (
                "other: 'y' has M = 2 modalities (a, b) and 'z' has M = 2 (a, c); models with"
                " different modalities cannot be compared"
            ),
        ),
        (two_models, {"samples": [0, 40, -1]}, "samples: expected sample indices from 0 to 39,"),
        (
            two_models,
            {"samples": [0.0, 1.0]},
            "samples: expected integer sample indices or a boolean mask, got dtype float64",
        ),
        (
            two_models,
            {"samples": np.ones(10, bool)},
            "samples: expected a boolean mask of length N = 40, got length 10",
        ),
        (
            two_models,
            {"samples": np.zeros(N, bool)},
            "samples: expected a boolean mask that selects a sample, got none",
        ),
        (two_models, {"samples": []}, "samples: expected at least one sample index, got none"),
        (
            two_models,
            {"samples": "all"},
            (
                'samples: expected None, "selection", sample indices or a boolean mask of length'
                " 40, got 'all'"
            ),
        ),
        (two_models, {"samples": [[0, 1]]}, "got an array of shape (1, 2)"),
        (two_models, {"timeout": 0}, "timeout: expected a number of seconds above 0, got 0"),
    ],
    ids=[
        "unknown other",
        "reference not a label",
        "same model",
        "one model",
        "different M",
        "different names",
        "index out of range",
        "float indices",
        "mask length",
        "empty mask",
        "empty list",
        "unknown string",
        "2-D",
        "timeout",
    ],
)
def test_bad_arguments_are_refused_by_name_before_anything_is_sent(make, kwargs, message) -> None:
    w = make()
    browser = Browser(w)
    with pytest.raises(ValueError) as error:
        w.compare(**kwargs)
    assert message in str(error.value)
    assert browser.sent == []


def test_an_out_of_range_index_is_named() -> None:
    with pytest.raises(ValueError) as error:
        two_models().compare(samples=[0, 40, -1])
    assert str(error.value) == "samples: expected sample indices from 0 to 39, got [40, -1]"


def test_to_dataframe_has_one_row_per_compared_sample() -> None:
    w = two_models()
    c = w.compare(samples=[4, 4, 1])
    frame = c.to_dataframe()
    assert list(frame.columns) == ["local[early]", "local[late]", "local_delta"]
    assert frame.index.name == "sample" and list(frame.index) == [4, 4, 1]
    local_early = decompose.decompose(tables(0)).local
    local_late = decompose.decompose(tables(1)).local
    np.testing.assert_array_equal(frame["local[early]"], local_early[[4, 4, 1]])
    np.testing.assert_array_equal(frame["local[late]"], local_late[[4, 4, 1]])
    np.testing.assert_array_equal(frame["local_delta"], (local_late - local_early)[[4, 4, 1]])


def test_top_movers_are_the_largest_local_changes_each_sample_once() -> None:
    values = tables(0, n=6, m=2)
    other = values * np.array([1, 1, 3, 1])
    # Constant tables: the local score is undefined, so are the differences of samples 0 and 5.
    values[0] = 1.0
    other[5] = 2.0
    w = InterSHAP(values=values, names=["a", "b"], label="ref")
    w.add_model("new", values=other, names=["a", "b"])
    c = w.compare(samples=[3, 3, 0, 1, 2, 4, 5])
    delta = c.to_dataframe()["local_delta"]
    assert delta.isna().sum() == 2
    movers = c.top_movers(3)
    assert list(movers.columns) == ["local[ref]", "local[new]", "local_delta"]
    defined = delta[~delta.index.duplicated()].dropna()
    order = defined.abs().sort_values(ascending=False, kind="stable").index[:3]
    assert list(movers.index) == list(order)
    assert movers.index.is_unique
    assert len(c.top_movers()) == len(defined) == 4
    assert c.top_movers(0).empty
    with pytest.raises(ValueError, match=r"k: expected a whole number >= 0, got -1"):
        c.top_movers(-1)


def test_summary_is_plain_values() -> None:
    c = two_models().compare()
    summary = c.summary()
    assert summary["reference"] == "early" and summary["other"] == "late"
    assert summary["source"] == "numpy" and summary["n"] == N
    assert summary["global_delta"] == c.global_delta
    assert summary["global_delta_interval"] == c.global_delta_interval
    assert summary["contribution_delta[text]"] == c.contribution_delta[1]
    assert summary["contribution_delta_interval[text]"] == tuple(c.contribution_delta_interval[1])
    assert all(type(v) in (str, int, float, tuple) for v in summary.values())


# ------------------------------------------------------------------------------------------------
# Runs still computing (or stopped partway): the samples both have computed


def test_a_run_stopped_partway_is_compared_over_its_computed_samples_with_a_warning() -> None:
    w = two_models()
    w._run_by_label("late").filled = 25  # as a run still streaming, or cancelled, leaves it
    with pytest.warns(UserWarning, match=r"have both computed 25 of 40 samples so far"):
        c = w.compare()
    np.testing.assert_array_equal(c.samples, np.arange(25))
    assert_same_numbers(c, *expected(tables(0)[:25], tables(1)[:25]))
    with pytest.warns(UserWarning, match=r"2 of the 4 samples asked for are not computed yet"):
        c = w.compare(samples=[30, 3, 39, 3])
    np.testing.assert_array_equal(c.samples, [3, 3])
    with pytest.raises(RuntimeError, match="none of the samples asked for is computed yet"):
        w.compare(samples=[30])
    w._run_by_label("late").filled = 0
    with pytest.raises(RuntimeError, match="have not both computed a sample yet"):
        w.compare()


def test_a_model_that_failed_midway_is_compared_over_what_it_computed() -> None:
    rng = np.random.default_rng(0)
    samples = {"a": rng.normal(size=(120, 3)), "b": rng.normal(size=(120, 2))}
    background = {"a": rng.normal(size=(40, 3)), "b": rng.normal(size=(40, 2))}
    calls = {"n": 0}

    def flaky(batch: dict) -> np.ndarray:
        calls["n"] += 1
        if batch["a"].shape[0] > 10 and calls["n"] > 8:
            raise RuntimeError("GPU on fire")
        p = 1 / (1 + np.exp(-batch["a"].sum(1) * batch["b"].sum(1)))
        return np.stack([1 - p, p], 1)

    w = InterSHAP(flaky, samples, background=background, draws=20, chunk_samples=10, batch_rows=200)
    with pytest.raises(RuntimeError, match="GPU on fire"):
        w.wait(verbose=False)
    filled = w._run_by_label("model").filled
    assert 0 < filled < 120
    w.add_model("full", values=tables(3, n=120, m=2), names=["a", "b"])
    with pytest.warns(UserWarning, match=rf"computed {filled} of 120 samples"):
        c = w.compare()
    assert c.n == filled
    values = w._run_by_label("model").values[:filled]
    assert_same_numbers(c, *expected(values, tables(3, n=120, m=2)[:filled]))


# ------------------------------------------------------------------------------------------------
# A browser that answers (played in-process)


def test_a_browser_reply_gives_source_browser_with_the_replys_numbers() -> None:
    w = two_models()
    browser = Browser(
        w,
        lambda header, samples: compared_reply(
            header["id"], header["referenceId"], 3, N if samples is None else len(samples)
        ),
    )
    c = w.compare()
    ((header, samples),) = browser.requests
    assert header["referenceId"] == model_id(w, "early")
    assert header["otherId"] == model_id(w, "late")
    assert header["subset"] is False and samples is None
    _reply, buffers = compared_reply(header["id"], header["referenceId"], 3, N)
    arrays = [np.frombuffer(b, "<f8") for b in buffers]
    assert c.source == "browser"
    assert (c.global_reference, c.global_other, c.global_delta) == (0.5, 0.25, -0.25)
    assert c.global_delta_interval == (-0.375, -0.125) and c.undefined_reps == 3
    np.testing.assert_array_equal(c.matrix_delta, arrays[0].reshape(3, 3))
    np.testing.assert_array_equal(c.matrix_delta_interval[..., 0], arrays[1].reshape(3, 3))
    np.testing.assert_array_equal(c.matrix_delta_interval[..., 1], arrays[2].reshape(3, 3))
    np.testing.assert_array_equal(c.contribution_delta, arrays[3])
    np.testing.assert_array_equal(c.contribution_delta_interval, np.stack(arrays[4:6], axis=1))
    np.testing.assert_array_equal(c.local_delta, arrays[6])
    # Per-sample local scores come from the twin on the same tables, as for w.results.
    np.testing.assert_array_equal(c.local_reference, decompose.decompose(tables(0)).local)


def test_the_request_carries_the_samples_as_int32_indices_in_order() -> None:
    w = two_models()
    browser = Browser(
        w, lambda header, samples: compared_reply(header["id"], header["referenceId"], 3, 4)
    )
    c = w.compare("late", "early", samples=[9, 2, 9, 0])
    ((header, samples),) = browser.requests
    assert header["subset"] is True
    assert samples.dtype == np.int32 and samples.tolist() == [9, 2, 9, 0]
    assert header["referenceId"] == model_id(w, "late")
    assert c.source == "browser" and c.samples.tolist() == [9, 2, 9, 0]


def test_no_answer_falls_back_to_numpy_with_a_warning() -> None:
    w = two_models()
    browser = Browser(w)  # hears the request, never answers
    with pytest.warns(UserWarning, match=r"the browser did not answer within 0.5 s"):
        c = w.compare(timeout=0.5)
    assert len(browser.requests) == 1
    assert c.source == "numpy"
    assert_same_numbers(c, *expected(tables(0), tables(1)))


def test_a_failure_naming_an_argument_is_raised_and_any_other_falls_back() -> None:
    w = two_models()
    error = {"text": "samples: expected indices the browser holds"}
    Browser(
        w,
        lambda header, samples: (
            {"kind": "compareFailed", "id": header["id"], "error": error["text"]},
            [],
        ),
    )
    with pytest.raises(ValueError, match="^samples: expected indices the browser holds$"):
        w.compare()
    error["text"] = "the worker crashed"
    with pytest.warns(UserWarning, match=r"could not compare the models \(the worker crashed\)"):
        c = w.compare()
    assert c.source == "numpy"


def test_a_reply_for_other_samples_than_asked_falls_back_to_numpy() -> None:
    w = two_models()
    Browser(w, lambda header, samples: compared_reply(header["id"], header["referenceId"], 3, 7))
    with pytest.warns(UserWarning, match=r"answered for 7 samples"):
        c = w.compare()
    assert c.source == "numpy" and c.n == N


def test_a_closed_widget_is_compared_by_numpy_without_asking() -> None:
    w = two_models()
    browser = Browser(w)
    w.close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = w.compare(timeout=np.float64(5))
    assert c.source == "numpy" and browser.requests == []


def test_a_reply_nobody_waits_for_is_dropped() -> None:
    w = two_models()
    content, buffers = compared_reply("stale", model_id(w, "early"), 3, N)
    w._on_browser_message(w, content, buffers)
    w._on_browser_message(w, {"kind": "compareFailed", "id": "stale", "error": "x"}, [])
    assert w._comparisons._replies == {}


# ------------------------------------------------------------------------------------------------
# The wire: the request's builder, the replies' parser


def test_the_compare_request_passes_the_check_the_browser_makes() -> None:
    header, buffers = protocol.compare_message("r1", "m1", "m2", None)
    assert header == {
        "kind": "compare",
        "id": "r1",
        "referenceId": "m1",
        "otherId": "m2",
        "subset": False,
    }
    assert buffers == []
    assert protocol.parse_kernel_message(header) == header
    assert protocol.decode_compare_samples(header, buffers) is None

    header, buffers = protocol.compare_message("r2", "m1", "m2", np.array([3, 0, 3], np.int64))
    assert header["subset"] is True
    assert bytes(buffers[0]) == np.array([3, 0, 3], "<i4").tobytes()
    samples = protocol.decode_compare_samples(protocol.parse_kernel_message(header), buffers)
    assert samples.tolist() == [3, 0, 3]


@pytest.mark.parametrize(
    ("content", "buffers", "message"),
    [
        (
            {"kind": "compare", "id": "r", "referenceId": "a", "otherId": "b", "subset": 1},
            [],
            "compare message: field 'subset' expected a boolean, got number 1",
        ),
        (
            {"kind": "compare", "id": "r", "otherId": "b", "subset": False},
            [],
            "compare message: field 'referenceId' expected a string, got nothing",
        ),
        (
            {"kind": "compare", "id": "r", "referenceId": "a", "otherId": "b", "subset": True},
            [],
            "compare message: expected 1 buffer of sample indices (subset true), got 0",
        ),
        (
            {"kind": "compare", "id": "r", "referenceId": "a", "otherId": "b", "subset": False},
            [b"\0\0\0\0"],
            "compare message: expected 0 buffers of sample indices (subset false), got 1",
        ),
        (
            {"kind": "compare", "id": "r", "referenceId": "a", "otherId": "b", "subset": True},
            [b"\0\0\0\0\0\0"],
            "compare message: buffer 'samples' expected a whole number of int32 values, got 6",
        ),
    ],
    ids=["subset not a boolean", "no reference", "no buffer", "extra buffer", "odd bytes"],
)
def test_a_malformed_compare_request_is_refused_by_name(content, buffers, message) -> None:
    with pytest.raises(protocol.ProtocolError) as error:
        protocol.decode_compare_samples(protocol.parse_kernel_message(content), buffers)
    assert message in str(error.value)


MODELS = {"m2": 2, "m3": 3}


def test_a_compared_reply_is_decoded_with_null_as_nan() -> None:
    content, buffers = compared_reply(
        "r1", "m2", 2, 3, globalReference=None, globalDelta=None, globalDeltaInterval=[None, 0.5]
    )
    reply = protocol.parse_browser_message(content, [memoryview(b) for b in buffers], MODELS)
    assert isinstance(reply, protocol.BrowserComparison)
    assert (reply.request_id, reply.reference_id, reply.n, reply.undefined_reps) == (
        "r1",
        "m2",
        3,
        3,
    )
    assert np.isnan(reply.global_reference) and np.isnan(reply.global_delta)
    assert reply.global_other == 0.25
    assert np.isnan(reply.global_delta_interval[0]) and reply.global_delta_interval[1] == 0.5
    np.testing.assert_array_equal(reply.matrix_delta, [[0, 0.01], [0.02, 0.03]])
    np.testing.assert_array_equal(reply.matrix_delta_interval[..., 0], [[1, 1.01], [1.02, 1.03]])
    np.testing.assert_array_equal(reply.matrix_delta_interval[..., 1], [[2, 2.01], [2.02, 2.03]])
    np.testing.assert_array_equal(reply.contribution_delta, [3, 3.01])
    np.testing.assert_array_equal(reply.contribution_delta_interval, [[4, 5], [4.01, 5.01]])
    np.testing.assert_array_equal(reply.local_delta, [6, 6.01, 6.02])
    failed = protocol.parse_browser_message(
        {"kind": "compareFailed", "id": "r2", "error": "other: no such model"}, [], MODELS
    )
    assert failed == protocol.CompareFailed("r2", "other: no such model")


def _bad_reply(**overrides: Any) -> tuple[dict, list[bytes]]:
    return compared_reply("r1", "m2", 2, 3, **overrides)


def _with_buffers(buffers: list[bytes], index: int, replacement: bytes | None) -> list[bytes]:
    out = list(buffers)
    if replacement is None:
        del out[index]
    else:
        out[index] = replacement
    return out


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: _bad_reply(referenceId="zz"),
            (
                "compared message: field 'referenceId' expected one of the models ['m2', 'm3'],"
                ' got the string "zz"'
            ),
        ),
        (
            lambda: _bad_reply(id=7),
            "compared message: field 'id' expected a string, got number 7",
        ),
        (
            lambda: _bad_reply(n=-1),
            "compared message: field 'n' expected a non-negative integer, got number -1",
        ),
        (
            lambda: _bad_reply(globalOther="high"),
            "compared message: field 'globalOther' expected a number or null, got the string",
        ),
        (
            lambda: _bad_reply(globalDeltaInterval=[0.1]),
            (
                "compared message: field 'globalDeltaInterval' expected two numbers or nulls, got an"
                " array of length 1"
            ),
        ),
        (
            lambda: _bad_reply(undefinedReps=1.5),
            (
                "compared message: field 'undefinedReps' expected a non-negative integer, got number"
                " 1.5"
            ),
        ),
        (
            lambda: (_bad_reply()[0], _bad_reply()[1][:6]),
            'compared message: expected buffers ["matrixDelta",',
        ),
        (
            lambda: (_bad_reply(buffers=["localDelta"])[0], _bad_reply()[1]),
            'got names ["localDelta"] with 7 buffers',
        ),
        (
            lambda: (_bad_reply()[0], _with_buffers(_bad_reply()[1], 1, b"\0" * 24)),
            (
                "compared message: buffer 'matrixDeltaLow' expected 4 float64 values (M² with M = 2),"
                " got 3"
            ),
        ),
        (
            lambda: (_bad_reply()[0], _with_buffers(_bad_reply()[1], 5, b"\0" * 8)),
            (
                "compared message: buffer 'contributionDeltaHigh' expected 2 float64 values (M = 2),"
                " got 1"
            ),
        ),
        (
            lambda: (_bad_reply()[0], _with_buffers(_bad_reply()[1], 6, b"\0" * 32)),
            "compared message: buffer 'localDelta' expected 3 float64 values (n = 3), got 4",
        ),
        (
            lambda: (_bad_reply()[0], _with_buffers(_bad_reply()[1], 6, b"\0" * 12)),
            (
                "compared message: buffer 'localDelta' expected a whole number of float64 values,"
                " got 12 bytes"
            ),
        ),
        (
            lambda: ({"kind": "compareFailed", "id": "r1"}, []),
            "compareFailed message: field 'error' expected a string, got nothing",
        ),
    ],
    ids=[
        "unknown reference",
        "id not a string",
        "negative n",
        "score not a number",
        "interval of one",
        "fractional reps",
        "six buffers",
        "wrong names",
        "matrix size",
        "contribution size",
        "local size",
        "partial float64",
        "failure without error",
    ],
)
def test_a_malformed_reply_is_refused_by_name(make, message) -> None:
    content, buffers = make()
    with pytest.raises(protocol.ProtocolError) as error:
        protocol.parse_browser_message(content, buffers, MODELS)
    assert message in str(error.value)


# ------------------------------------------------------------------------------------------------
# A browser over a real kernel: the reply arrives while the cell that asked waits

SETUP_CELL = """
import numpy as np
from intershap_widget import InterSHAP
rng = np.random.default_rng(0)
w = InterSHAP(values=rng.normal(size=(30, 4)), names=["a", "b"], label="early")
w.add_model("late", values=rng.normal(size=(30, 4)), names=["a", "b"])
print("ids:", w.comm.comm_id, *[run.model_id for run in w._runs.values()])
"""

COMPARE_CELL = """
c = w.compare(timeout=60)
print("compared:", c.source, c.n, c.global_delta, c.global_delta_interval, c.local_delta[:2])
"""


def _custom(msg: dict) -> dict | None:
    """The content of an ipywidgets custom message on iopub, or None."""
    if msg["msg_type"] != "comm_msg":
        return None
    data = msg["content"]["data"]
    return data.get("content") if data.get("method") == "custom" else None


def _send_custom(client: Any, comm_id: str, content: dict, buffers: list[bytes]) -> None:
    data = {"method": "custom", "content": content}
    msg = client.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
    msg["buffers"] = buffers
    client.shell_channel.send(msg)


def test_a_compared_reply_reaches_the_waiting_cell_over_a_real_kernel(kernel) -> None:
    kernel.execute(SETUP_CELL)
    printed, _ = iopub_until(kernel, lambda m: "ids:" in m["content"].get("text", ""))
    comm_id, reference_id, other_id = printed["content"]["text"].split()[1:4]
    # The browser says hello; the kernel answers with every table (dataset, chunk, status).
    _send_custom(kernel, comm_id, {"kind": "hello", "protocol": 1}, [])
    iopub_until(kernel, lambda m: (_custom(m) or {}).get("kind") == "status")
    iopub_until(kernel, lambda m: (_custom(m) or {}).get("kind") == "status")

    kernel.execute(COMPARE_CELL)
    request, _ = iopub_until(kernel, lambda m: (_custom(m) or {}).get("kind") == "compare")
    header = _custom(request)
    assert (header["referenceId"], header["otherId"], header["subset"]) == (
        reference_id,
        other_id,
        False,
    )
    content, buffers = compared_reply(header["id"], reference_id, 2, 30, globalDelta=-0.125)
    # Answered at once: the request went out with its reply already routed (send_routed).
    _send_custom(kernel, comm_id, content, buffers)
    done, seen = iopub_until(kernel, lambda m: "compared:" in m["content"].get("text", ""))
    text = done["content"]["text"]
    assert text.startswith("compared: browser 30 -0.125 (-0.375, -0.125) [6.   6.01]"), text
    errors = [m for m in seen if m["msg_type"] == "error"]
    assert errors == []
