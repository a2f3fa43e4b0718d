"""The widget in batch mode (no browser): validation, results from the numpy twin, protocol."""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from intershap_widget import InterSHAP, protocol
from intershap_widget.widget import ENGINE_THREAD_NICENESS

GOLDEN = Path(__file__).resolve().parents[2] / "tests" / "golden" / "reference_games.json"


def golden_games() -> list[dict]:
    return json.loads(GOLDEN.read_text())["games"]


class Recorder:
    """Captures what the widget sends to the browser, standing in for the comm's wire.

    Every message is held to the check the browser makes (``protocol.parse_kernel_message`` and
    the buffer decoders, which say what src/protocol/messages.ts says) before it is recorded.
    """

    def __init__(self, widget: InterSHAP) -> None:
        self.messages: list[tuple[dict, list]] = []
        self.modalities: dict[str, int] = {}
        widget.send = self.receive

    def receive(self, content: dict, buffers: list | None = None) -> None:
        buffers = buffers or []
        header = protocol.parse_kernel_message(content)
        if header["kind"] == "dataset":
            self.modalities[header["modelId"]] = header["M"]
        elif header["kind"] == "chunk":
            protocol.decode_chunk(header, buffers, self.modalities[header["modelId"]])
        elif header["kind"] == "cohorts":
            protocol.decode_cohorts(header, buffers)
        else:
            assert buffers == [], f"{header['kind']} message: expected no buffers"
        self.messages.append((content, buffers))


@pytest.mark.parametrize("game", golden_games()[:4], ids=lambda g: f"{g['kind']}-M{g['M']}")
def test_results_match_the_reference_code(game: dict) -> None:
    m = game["M"]
    w = InterSHAP(values=np.array(game["values"]), names=[f"m{i}" for i in range(m)])
    r = w.results
    assert r.source == "numpy"
    assert r.global_intershap == pytest.approx(game["global_intershap"], abs=1e-9)
    np.testing.assert_allclose(r.matrices, np.array(game["matrices"]), atol=1e-9)


@pytest.mark.parametrize(
    ("values", "names", "message"),
    [
        (
            np.zeros((3, 6)),
            None,
            "values: expected shape (N, 2**M) with 2**M a power of two >= 4, got shape (3, 6)",
        ),
        (np.zeros((0, 4)), None, "values: expected at least one sample (N >= 1), got N = 0"),
        (np.array([[0.0, 1.0, np.nan, 1.0]]), None, "values: expected finite numbers, got nan"),
        (np.array([[0.0, 1.0, np.inf, 1.0]]), None, "values: expected finite numbers, got inf"),
        (np.zeros((2, 8)), ["a", "b"], "names: expected 3 names (M = log2(8)), got 2"),
        (np.zeros((2, 4)), ["a", "a"], "names: expected 2 distinct names, got ['a', 'a']"),
    ],
)
def test_bad_values_are_refused_before_anything_is_sent(values, names, message) -> None:
    with pytest.raises(ValueError) as error:
        InterSHAP(values=values, names=names)
    assert message in str(error.value)


def test_hello_sends_the_tables_as_binary_buffers() -> None:
    rng = np.random.default_rng(0)
    values = rng.random((5, 8))
    w = InterSHAP(values=values, names=["image", "text", "tabular"], labels=[0, 1, 0, 1, 1])
    wire = Recorder(w)
    w._on_browser_message(w, {"kind": "hello", "protocol": 1}, [])
    kinds = [content["kind"] for content, _ in wire.messages]
    assert kinds == ["dataset", "chunk", "status"]
    dataset, _ = wire.messages[0]
    assert dataset["names"] == ["image", "text", "tabular"] and dataset["nSamples"] == 5
    chunk, buffers = wire.messages[1]
    assert chunk["buffers"] == ["values", "label"]
    np.testing.assert_array_equal(np.frombuffer(buffers[0], dtype="<f8").reshape(5, 8), values)
    np.testing.assert_array_equal(np.frombuffer(buffers[1], dtype="<f8"), [0, 1, 0, 1, 1])


def test_browser_results_are_used_once_they_cover_every_sample() -> None:
    rng = np.random.default_rng(1)
    values = rng.random((6, 4))
    w = InterSHAP(values=values, names=["a", "b"])
    twin = w.results
    run = next(iter(w._runs.values()))
    content = {
        "kind": "results",
        "modelId": run.model_id,
        "n": 6,
        "globalIntershap": twin.global_intershap,
        "localMean": twin.local_mean,
        "nUndefined": 0,
        "interval": [0.1, 0.9],
        "buffers": list(protocol.RESULT_BUFFERS),
    }
    buffers = [
        a.astype("<f8").tobytes()
        for a in (
            twin.mean_matrix.ravel(),
            twin.modality_contributions,
            twin.order_mass,
            twin.local,
        )
    ]
    w._on_browser_message(w, content, buffers)
    r = w.results
    assert r.source == "browser"
    assert r.interval == (0.1, 0.9)
    assert r.global_intershap == pytest.approx(twin.global_intershap, abs=1e-12)


def test_malformed_results_message_names_what_is_wrong() -> None:
    w = InterSHAP(values=np.zeros((2, 4)) + np.arange(4), names=["a", "b"])
    run = next(iter(w._runs.values()))
    with pytest.raises(protocol.ProtocolError, match="expected a 2x2 matrix"):
        protocol.parse_results(
            {"kind": "results", "modelId": run.model_id, "buffers": list(protocol.RESULT_BUFFERS)},
            [b"\0" * 8] * 4,
            2,
        )


def test_to_dataframe_has_one_row_per_sample() -> None:
    rng = np.random.default_rng(2)
    w = InterSHAP(values=rng.random((4, 4)), names=["img", "txt"], labels=[1, 0, 1, 0])
    frame = w.results.to_dataframe()
    assert list(frame.columns) == [
        "local_intershap",
        "shapley[img]",
        "shapley[txt]",
        "main[img]",
        "main[txt]",
        "label",
    ]
    assert len(frame) == 4


# ------------------------------------------------------------------------------------------------
# A model behind the widget: streaming, cancel, errors


def _toy_modalities(n: int = 120, seed: int = 0) -> tuple[dict, dict]:
    rng = np.random.default_rng(seed)
    samples = {"a": rng.normal(size=(n, 3)), "b": rng.normal(size=(n, 2))}
    background = {"a": rng.normal(size=(40, 3)), "b": rng.normal(size=(40, 2))}
    return samples, background


def _xor_like(batch: dict) -> np.ndarray:
    z = batch["a"].sum(1) * batch["b"].sum(1)
    p = 1 / (1 + np.exp(-z))
    return np.stack([1 - p, p], 1)


def test_streamed_values_reach_the_browser_in_binary_chunks_and_match_the_engine() -> None:
    from intershap_widget.values import ValueEngine

    samples, background = _toy_modalities()
    w = InterSHAP(_xor_like, samples, background=background, draws=30, seed=3, chunk_samples=50)
    wire = Recorder(w)
    w._on_browser_message(w, {"kind": "hello", "protocol": 1}, [])
    w.wait(verbose=False)
    chunks = [(c, b) for c, b in wire.messages if c["kind"] == "chunk"]
    assert chunks, "no chunk reached the browser"
    received = np.full((120, 4), np.nan)
    for content, buffers in chunks:
        block = np.frombuffer(buffers[0], dtype="<f8").reshape(content["count"], 4)
        received[content["start"] : content["start"] + content["count"]] = block
    expected = ValueEngine(
        _xor_like, samples, background=background, draws=30, seed=3
    ).compute_all()
    np.testing.assert_array_equal(received, expected.values)
    assert wire.messages[-1][0] == {
        "kind": "status",
        "modelId": chunks[0][0]["modelId"],
        "state": "done",
        "message": "",
    }
    assert any(c["kind"] == "progress" and c["done"] == 120 for c, _ in wire.messages)


def test_a_model_that_fails_midway_keeps_what_was_computed_and_wait_reraises() -> None:
    samples, background = _toy_modalities()
    calls = {"n": 0}

    def flaky(batch: dict) -> np.ndarray:
        calls["n"] += 1
        # the probe, v(∅) and the two calls that stratify the background come first, then the
        # model fails on its fifth coalition batch
        if batch["a"].shape[0] > 10 and calls["n"] > 8:
            raise RuntimeError("GPU on fire")
        return _xor_like(batch)

    w = InterSHAP(flaky, samples, background=background, draws=20, chunk_samples=10, batch_rows=200)
    with pytest.raises(Exception, match="GPU on fire"):
        w.wait(verbose=False)
    run = next(iter(w._runs.values()))
    assert run.state == "error"
    assert 0 < run.filled < 120
    assert w.results.n == run.filled  # what was computed before the failure is still usable


def test_cancel_stops_within_a_batch_and_keeps_finished_samples() -> None:
    import threading

    samples, background = _toy_modalities(n=400)
    second_chunk = threading.Event()

    def slow(batch: dict) -> np.ndarray:
        if second_chunk.is_set():
            w.cancel()
        return _xor_like(batch)

    w = InterSHAP(slow, samples, background=background, draws=20, chunk_samples=20, batch_rows=100)
    second_chunk.set()
    w.wait(verbose=False)
    run = next(iter(w._runs.values()))
    assert run.state == "cancelled"
    assert run.filled < 400
    if run.filled:
        assert w.results.n == run.filled


def test_target_all_gives_one_model_per_class() -> None:
    samples, background = _toy_modalities(n=60)
    w = InterSHAP(_xor_like, samples, background=background, draws=10, target="all", label="xor")
    w.wait(verbose=False)
    assert w.models == ["xor · class 0", "xor · class 1"]
    # v_class0 = 1 - v_class1 for every coalition, so the two decompositions mirror each other.
    r0, r1 = (w.results_for(label) for label in w.models)
    np.testing.assert_allclose(r0.matrices, -r1.matrices, atol=1e-12)


def test_cohorts_are_sent_as_codes_with_their_category_names() -> None:
    w = InterSHAP(values=np.arange(12.0).reshape(3, 4), names=["a", "b"], cohorts=["x", "y", "x"])
    wire = Recorder(w)
    w._on_browser_message(w, {"kind": "hello", "protocol": 1}, [])
    content, buffers = next((c, b) for c, b in wire.messages if c["kind"] == "cohorts")
    assert content == {"kind": "cohorts", "name": "cohort", "categories": ["x", "y"]}
    np.testing.assert_array_equal(np.frombuffer(buffers[0], dtype="<f8"), [0, 1, 0])
    with pytest.raises(
        ValueError, match=r"cohorts\['group'\]: expected one label per sample \(3\)"
    ):
        w.set_cohorts({"group": ["x", "y"]})


def test_results_carry_the_value_tables_they_were_computed_from() -> None:
    values = np.random.default_rng(5).random((7, 8))
    np.testing.assert_array_equal(
        InterSHAP(values=values, names=["a", "b", "c"]).results.values, values
    )


def test_python_shows_progress_while_waiting_and_after(capsys: pytest.CaptureFixture[str]) -> None:
    import threading

    samples, background = _toy_modalities(n=200)
    release = threading.Event()

    def gated(batch: dict) -> np.ndarray:
        release.wait(5)  # holds the first chunk back so that a running state can be seen
        return _xor_like(batch)

    w = InterSHAP(gated, samples, background=background, draws=20, chunk_samples=50, label="toy")
    running = w.progress[0]
    assert running["state"] == "running" and running["total"] == 200 and running["done"] < 200
    release.set()
    w.wait(verbose=True)
    printed = capsys.readouterr().out
    final = printed.strip().split("\r")[-1].strip()
    assert final.startswith("toy: 200/200 samples (100%), done, ")
    assert final.endswith(" model rows")
    rows = int(final.split(", ")[-1].split()[0].replace(",", ""))
    assert rows == w.progress[0]["model_rows"] > 200 * 2 * 20
    assert w.progress[0] | {"model_rows": 0} == {
        "model": "toy",
        "done": 200,
        "total": 200,
        "samples_per_s": 0.0,
        "seconds_left": None,
        "model_rows": 0,
        "state": "done",
    }


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="per-thread nice values are Linux's"
)
def test_the_model_runs_at_a_lower_priority_than_the_kernel_that_started_it() -> None:
    """The engine's thread gives way to the browser on a shared machine; the kernel does not."""
    samples, background = _toy_modalities()
    rows_by_niceness: dict[int, int] = {}

    def model(batch: dict) -> np.ndarray:
        niceness = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        rows_by_niceness[niceness] = rows_by_niceness.get(niceness, 0) + len(batch["a"])
        return _xor_like(batch)

    kernel_niceness = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    w = InterSHAP(model, samples, background=background, draws=10, seed=0)
    w.wait(verbose=False)
    lowered = min(19, kernel_niceness + ENGINE_THREAD_NICENESS)
    # The checks before streaming call the model on a few rows, on the caller's thread; every
    # value table row is computed on the engine's.
    assert set(rows_by_niceness) == {kernel_niceness, lowered}
    assert sum(rows_by_niceness.values()) == next(iter(w._runs.values())).model_rows
    assert rows_by_niceness[kernel_niceness] < 10 < rows_by_niceness[lowered]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == kernel_niceness
