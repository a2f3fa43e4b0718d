"""Coalition evaluation on executors (issue 14): a real Dask LocalCluster and a process pool.

Every value must be bit-identical to the local engine's for the same seed, whatever the executor
or chunk size; chunks arrive in any order; cancel stops within one chunk per worker; a failed
task or a dead worker is reported with its samples and ``w.retry()`` completes the run.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from distributed_helpers import FailOnce, Slow, early_model, modalities, xor_model
from test_widget import Recorder

from intershap_widget import InterSHAP
from intershap_widget.distributed import ChunkFailure, ChunksFailed, failure_message
from intershap_widget.engine import ValueEngine

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")

WORKERS = 2


@pytest.fixture(scope="module")
def client() -> Any:
    # a worker that dies fails its task at once (the default tries it on 3 more workers)
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = distributed.LocalCluster(
            n_workers=WORKERS, processes=True, threads_per_worker=1, dashboard_address=None
        )
        client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def pool() -> Any:
    with cf.ProcessPoolExecutor(WORKERS, mp_context=multiprocessing.get_context("fork")) as pool:
        yield pool


def local(model: Any = xor_model, n: int = 120, **options: Any) -> Any:
    samples, background = modalities(n)
    return ValueEngine(model, samples, background, seed=3, **options).compute_all()


def assert_same(got: Any, expected: Any) -> None:
    for field in ("values", "se", "prediction", "draws", "predicted_class"):
        assert np.array_equal(getattr(got, field), getattr(expected, field)), field


# --------------------------------------------------------------------------------------------
# The same values, whatever the executor and chunk size


@pytest.mark.parametrize("kind", ["dask", "dask executor", "processes", "threads"])
def test_values_are_bit_identical_to_the_local_run(kind: str, client: Any, pool: Any) -> None:
    executor = {
        "dask": client,
        "dask executor": client.get_executor(),
        "processes": pool,
        "threads": cf.ThreadPoolExecutor(WORKERS),
    }[kind]
    samples, background = modalities(120)
    settings: list[tuple[Any, dict]] = [
        (xor_model, {"draws": 30}),
        (xor_model, {"draws": "auto", "tolerance": 0.02}),
        (xor_model, {"draws": 25, "target": "all"}),
        (early_model, {"draws": 30, "fusion": "early"}),
        (xor_model, {"masking": "mean"}),
    ]
    for model, options in settings:
        expected = local(model, **options)
        for chunk_samples in (7, 50, 240):
            engine = ValueEngine(model, samples, background, seed=3, executor=executor, **options)
            got = engine.compute_all(chunk_samples=chunk_samples)
            assert got.complete
            assert_same(got, expected)
            assert got.model_rows == expected.model_rows  # the kernel's rows + the workers'
            assert engine.executor_stats.tasks == -(-120 // chunk_samples)


# --------------------------------------------------------------------------------------------
# The widget: out of order, cancel, failures, retry


def test_chunks_arriving_out_of_order_fill_the_right_samples(client: Any) -> None:
    samples, background = modalities(120)
    # the first chunk is slow, so the other worker sends chunks after it first
    model = Slow(0.3, stop=20)
    w = InterSHAP(model, samples, background=background, draws=30, seed=3, chunk_samples=20,
                  executor=client)  # fmt: skip
    wire = Recorder(w)
    w._on_browser_message(w, {"kind": "hello", "protocol": 1}, [])
    w.wait(verbose=False)
    chunks = [(c, b) for c, b in wire.messages if c["kind"] == "chunk"]
    starts = [c["start"] for c, _ in chunks]
    assert starts != sorted(starts), "the chunks came in order: nothing was tested"
    assert starts[-1] == 0  # the slow first chunk came last
    received = np.full((120, 4), np.nan)
    for content, buffers in chunks:
        block = np.frombuffer(buffers[0], dtype="<f8").reshape(content["count"], 4)
        received[content["start"] : content["start"] + content["count"]] = block
    expected = local(draws=30)
    assert np.array_equal(received, expected.values)
    assert np.array_equal(w._runs[next(iter(w._runs))].values, expected.values)
    done = [c["done"] for c, _ in wire.messages if c["kind"] == "progress"]
    assert done == sorted(done) and done[-1] == 120  # progress counts samples completed
    assert wire.messages[-1][0]["state"] == "done"
    assert w.results.n == 120


@pytest.mark.parametrize("kind", ["dask", "processes"])
def test_cancel_stops_within_one_chunk_per_worker(kind: str, client: Any, pool: Any) -> None:
    samples, background = modalities(400)
    w = InterSHAP(Slow(0.1), samples, background=background, draws=20, seed=3, chunk_samples=20,
                  executor=client if kind == "dask" else pool)  # fmt: skip
    run = next(iter(w._runs.values()))
    deadline = time.monotonic() + 60
    while run.n_done == 0 and time.monotonic() < deadline:
        time.sleep(0.005)
    done_then = run.n_done
    w.cancel()
    w.wait(verbose=False)
    assert run.state == "cancelled"
    assert 0 < done_then <= run.n_done <= done_then + WORKERS * 20 < 400
    assert run.filled == run.n_done  # chunks are sent in order, so what came back has no gap
    assert np.array_equal(run.values[: run.filled], local(n=400, draws=20).values[: run.filled])
    w.retry().wait(verbose=False)  # a retry computes what the cancel left out
    assert run.state == "done" and run.n_done == 400


def test_a_task_that_raises_is_reported_with_its_samples_and_retry_completes_it(
    client: Any, tmp_path: Path
) -> None:
    marker = tmp_path / "curse"
    marker.touch()
    samples, background = modalities(120)
    w = InterSHAP(FailOnce(str(marker), sample=50), samples, background=background, draws=30,
                  seed=3, chunk_samples=20, executor=client)  # fmt: skip
    wire = Recorder(w)
    w._on_browser_message(w, {"kind": "hello", "protocol": 1}, [])
    with pytest.raises(
        ChunksFailed, match=r"samples 40–59 failed: ModelError: .*sample 50 is cursed"
    ):
        w.wait(verbose=False)
    run = next(iter(w._runs.values()))
    assert run.state == "error" and run.n_done == 100 and run.filled == 40
    assert run.message.startswith("samples 40–59 failed: ")
    assert "w.retry()" in run.message
    status = [c for c, _ in wire.messages if c["kind"] == "status"]
    assert status[-1]["state"] == "error" and status[-1]["message"] == run.message
    expected = local(draws=30)
    kept = run.done
    assert kept is not None and not kept[40:60].any() and kept.sum() == 100
    assert np.array_equal(run.values[kept], expected.values[kept])  # the rest was kept
    w.retry().wait(verbose=False)
    assert run.state == "done" and run.message == "" and run.n_done == 120
    assert np.array_equal(run.values, expected.values)
    assert wire.messages[-1][0]["state"] == "done"
    # the retried chunk was sent to the browser, and only that one
    resent = [c["start"] for c, _ in wire.messages[len(status) :] if c["kind"] == "chunk"]
    assert 40 in resent


def test_a_dask_worker_killed_midrun_is_reported_and_retry_completes_it(
    client: Any, tmp_path: Path
) -> None:
    marker = tmp_path / "kill"
    marker.touch()
    samples, background = modalities(160)
    w = InterSHAP(FailOnce(str(marker), sample=70, how="exit"), samples, background=background,
                  draws=30, seed=3, chunk_samples=20, executor=client)  # fmt: skip
    with pytest.raises(ChunksFailed, match=r"samples 60–79 failed: KilledWorker"):
        w.wait(timeout=120, verbose=False)
    run = next(iter(w._runs.values()))
    assert not marker.exists()  # a worker did die
    assert run.n_done == 140 and not run.done[60:80].any()  # everything else was kept
    client.wait_for_workers(WORKERS, timeout=60)  # its nanny starts it again
    w.retry().wait(timeout=120, verbose=False)
    assert run.state == "done"
    assert np.array_equal(run.values, local(n=160, draws=30).values)


def test_a_process_pool_whose_worker_dies_is_reported_and_retry_takes_a_new_pool(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "kill"
    marker.touch()
    samples, background = modalities(120)
    context = multiprocessing.get_context("fork")
    broken = cf.ProcessPoolExecutor(WORKERS, mp_context=context)
    w = InterSHAP(FailOnce(str(marker), sample=50, how="exit"), samples, background=background,
                  draws=30, seed=3, chunk_samples=20, executor=broken)  # fmt: skip
    # a broken pool fails every chunk not yet back (the other worker's too), and every later one
    with pytest.raises(ChunksFailed, match=r"samples \d+–\d+ failed: BrokenProcessPool"):
        w.wait(timeout=120, verbose=False)
    run = next(iter(w._runs.values()))
    assert "w.retry(executor=ProcessPoolExecutor(...))" in run.message
    assert run.done is not None and not run.done[40:60].any()
    assert run.n_done >= 20  # what came back before the pool broke is kept
    with cf.ProcessPoolExecutor(WORKERS, mp_context=context) as fresh:
        w.retry(executor=fresh).wait(timeout=120, verbose=False)
    assert run.state == "done"
    assert np.array_equal(run.values, local(draws=30).values)
    broken.shutdown()


# --------------------------------------------------------------------------------------------
# What is refused before any task is sent


def test_a_model_that_cannot_be_pickled_is_refused_naming_executor_and_the_model(
    client: Any, pool: Any
) -> None:
    lock = threading.Lock()
    calls = []

    def locked(batch: dict) -> np.ndarray:
        calls.append(1)
        with lock:
            return xor_model(batch)

    samples, background = modalities(20)
    for executor, how in ((client, "cloudpickle"), (pool, "pickle")):
        with pytest.raises(TypeError, match=rf"executor: the model '.*locked' .* \({how} failed"):
            InterSHAP(locked, samples, background=background, executor=executor)
    # pickle (a process pool) cannot take a lambda; cloudpickle (Dask) can
    with pytest.raises(TypeError, match=r"executor: the model '.*<lambda>' .*pickle failed"):
        ValueEngine(lambda b: xor_model(b), samples, background, executor=pool)
    assert calls == []  # refused before the model was called at all
    with pytest.raises(TypeError, match=r"executor: expected None .* got 'dask'"):
        ValueEngine(xor_model, samples, background, executor="dask")


def test_failure_message_merges_adjacent_chunks_and_names_the_samples() -> None:
    boom = RuntimeError("worker lost")
    failures = [
        ChunkFailure(5000, 6000, boom),
        ChunkFailure(4000, 5000, boom),
        ChunkFailure(9000, 9001, ValueError("bad")),
    ]
    assert failure_message(failures) == (
        "samples 4,000–5,999 failed: RuntimeError: worker lost; sample 9,000 failed:"
        " ValueError: bad (w.retry() computes them again)"
    )
