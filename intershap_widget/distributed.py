"""Coalition evaluation on an executor: a Dask cluster or a ``concurrent.futures`` pool (issue 14).

``ValueEngine(..., executor=...)`` (and ``InterSHAP(..., executor=...)``) takes:

- ``None``: the engine runs in the kernel, as it always has;
- a ``dask.distributed.Client`` (or its ``client.get_executor()``);
- any ``concurrent.futures.Executor``: a ``ProcessPoolExecutor``, a ``ThreadPoolExecutor``, ...

What runs where. The kernel does everything the engine does once per job: the probe (the
model's number of outputs, logits or probabilities), ``v(∅)``, the stratified order of the
background and the seeded windows (``targets.py``, ``draws.py``). Then it ships the *prepared*
engine (its arrays, its draw state and the model, not the kernel's buffers, locks or executor)
to the workers once: ``client.scatter(..., broadcast=True)`` on Dask, whose future every task
takes as an argument; a pickle file that each worker process loads on its first task for a
process pool (tasks carry its path, not the data); the object itself for a thread pool. Each
task computes one chunk of samples (``ChunksMixin._compute_chunk``) and returns its value
tables. A worker thread builds its own engine from the shipped one (sharing its arrays) once
per job, so the reused input buffers are never shared between threads.

Every value depends only on the seed and the sample's index (``draws.py``), never on which
chunk, worker or thread computed it, so values are bit-identical to the local run for the
same seed whatever the executor, the number of workers or the chunk size (the tests check it
with ``np.array_equal``).

Scheduling. At most one task per worker thread is in flight (``TASKS_PER_SLOT``); the next
chunk is sent when one comes back. Chunks come back in any order and stream on as they come
(the browser and ``ModelRun`` place each by its first sample). Cancel sends no further chunk
and waits for the ones running: it stops within one chunk per worker, and keeps them. A task
that raises, or whose worker dies, becomes a :class:`ChunkFailure` naming its samples; the
other chunks go on. On Dask a worker that dies is restarted by its nanny and its task tried on
another worker up to ``distributed.scheduler.allowed-failures`` times (default 3) before it is
reported. A process pool breaks when one of its processes dies (``BrokenProcessPool``): every
chunk not yet back fails, and a retry needs a new pool (``w.retry(executor=...)``).

The model must be picklable: ``pickle`` for a process pool, cloudpickle for Dask (which also
takes lambdas and closures, not locks, open files or sessions). That is checked before any task
is sent, with an error that names ``executor`` and the model. The workers need this package
installed (the tasks are functions of this module). The model is called on each worker as it
is unpickled there: a torch module comes back on the device it was pickled from when the
worker has it, so on GPU workers move it to each worker's device inside the model if needed.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import copy
import dataclasses
import os
import pickle
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from typing import Any

import numpy as np

from .inputs import Modalities, describe
from .models import adapt_model
from .value_tables import ValueChunk

__all__ = [
    "ChunkFailure",
    "ChunksFailed",
    "ExecutorStats",
    "check_executor",
    "engine_outcomes",
    "failure_message",
    "iter_outcomes",
    "use_executor",
]

#: Tasks in flight per worker thread: one, so that a cancel stops within one chunk per worker.
TASKS_PER_SLOT = 1
#: Seconds between two looks at the cancel flag while waiting for a chunk.
POLL_S = 0.1
#: Seconds between two asks of a Dask scheduler how many worker threads it has.
SLOTS_REFRESH_S = 2.0
#: Pickle the payload once more to report its size on Dask (the benchmark sets it; it costs a copy).
MEASURE_PAYLOAD = False
#: The engine's attributes that stay in the kernel: the model adapter is rebuilt on each worker
#: from the model itself (its calling closures do not pickle), locks and buffers are per thread.
_KERNEL_ONLY = (
    "_adapter",
    "_cancel",
    "_lock",
    "_buffers",
    "_largest",
    "_filler",
    "_background",
    "_modalities",
    "executor",
    "_backend",
    "_model_source",
    "_remote_rows",
    "executor_stats",
)


# ------------------------------------------------------------------------------------------------
# What goes wrong


@dataclasses.dataclass
class ChunkFailure:
    """A chunk of samples ``start .. stop - 1`` whose task raised, or whose worker died."""

    start: int
    stop: int
    error: BaseException

    @property
    def text(self) -> str:
        """The error as ``Type: message``."""
        return f"{type(self.error).__name__}: {self.error}".strip()


def _samples(start: int, stop: int) -> str:
    """``samples 4,000–5,999`` (or ``sample 7``) for the half-open range ``start .. stop``."""
    if stop - start == 1:
        return f"sample {start:,}"
    return f"samples {start:,}–{stop - 1:,}"


def failure_message(failures: list[ChunkFailure], limit: int = 3) -> str:
    """What the widget's status says about failed chunks.

    Adjacent chunks that failed with the same error are merged into one range.

    Args:
        failures: The failed chunks, in any order.
        limit: At most this many ranges are spelled out; the rest are counted.

    Returns:
        For example ``samples 4,000–5,999 failed: KilledWorker: ...; w.retry() computes them
        again``.
    """
    merged: list[list[Any]] = []
    for failure in sorted(failures, key=lambda f: f.start):
        if merged and merged[-1][1] == failure.start and merged[-1][2] == failure.text:
            merged[-1][1] = failure.stop
        else:
            merged.append([failure.start, failure.stop, failure.text])
    parts = [f"{_samples(a, b)} failed: {text}" for a, b, text in merged[:limit]]
    if len(merged) > limit:
        rest = sum(b - a for a, b, _ in merged[limit:])
        parts.append(f"and {rest:,} more samples in {len(merged) - limit} more ranges")
    hint = "w.retry() computes them again"
    if any(type(f.error).__name__ == "BrokenProcessPool" for f in failures):
        hint = "the process pool is broken: w.retry(executor=ProcessPoolExecutor(...)) computes them again"
    return "; ".join(parts) + f" ({hint})"


class ChunksFailed(RuntimeError):
    """Some chunks failed on the executor; every other chunk was computed.

    Attributes:
        failures: The failed chunks (:class:`ChunkFailure`).
    """

    def __init__(self, failures: list[ChunkFailure]) -> None:
        super().__init__(failure_message(failures))
        self.failures = list(failures)


# ------------------------------------------------------------------------------------------------
# Which executor


@dataclasses.dataclass
class _Backend:
    """How to reach the workers: ``kind`` is ``"dask"``, ``"processes"`` or ``"threads"``."""

    kind: str
    executor: cf.Executor
    client: Any = None


def _dask_client(executor: Any) -> Any:
    """The Dask client behind ``executor`` (a Client or a ClientExecutor), or None."""
    module = type(executor).__module__ or ""
    if not module.startswith("distributed"):
        return None
    if type(executor).__name__ == "ClientExecutor":
        return executor._client
    if hasattr(executor, "scatter") and hasattr(executor, "get_executor"):
        return executor
    return None


def check_executor(executor: Any) -> _Backend | None:
    """Checks ``executor=`` and says how tasks reach its workers.

    Args:
        executor: None, a ``dask.distributed.Client`` (or its ``get_executor()``), or a
            ``concurrent.futures.Executor``.

    Returns:
        None for the kernel's own thread, else how to reach the workers.

    Raises:
        TypeError: ``executor`` is none of these.
    """
    if executor is None:
        return None
    client = _dask_client(executor)
    if client is not None:
        return _Backend("dask", client.get_executor(pure=False), client)
    if isinstance(executor, cf.ThreadPoolExecutor):
        return _Backend("threads", executor)
    if isinstance(executor, cf.Executor):
        return _Backend("processes", executor)
    raise TypeError(
        "executor: expected None (the kernel), a dask.distributed.Client or a"
        " concurrent.futures.Executor (e.g. ProcessPoolExecutor(), client.get_executor()),"
        f" got {describe(executor)}"
    )


def check_picklable(model: Any, backend: _Backend | None, executor: Any) -> None:
    """Refuses, before any task is sent, a model that cannot travel to the workers.

    Args:
        model: The model as the user gave it.
        backend: From :func:`check_executor` (nothing to check for None or threads).
        executor: The executor as the user gave it, for the message.

    Raises:
        TypeError: The model does not pickle (``pickle`` for processes, cloudpickle for Dask).
    """
    if backend is None or backend.kind == "threads":
        return
    try:
        if backend.kind == "dask":
            import cloudpickle

            cloudpickle.dumps(model)
        else:
            pickle.dumps(model)
    except Exception as error:
        how = "cloudpickle" if backend.kind == "dask" else "pickle"
        raise TypeError(
            f"executor: the model {_describe_model(model)} cannot be sent to the workers of"
            f" {type(executor).__name__} ({how} failed: {type(error).__name__}: {error}). Define"
            " the model (a function or a class) at module level in a module the workers can"
            " import, keep locks, open files and sessions out of it (create them on first call),"
            " or pass executor=None to run it in the kernel"
        ) from error


def _describe_model(model: Any) -> str:
    name = getattr(model, "__qualname__", None) or type(model).__qualname__
    return f"{name!r} ({describe(model)})"


def worker_slots(backend: _Backend) -> int:
    """How many chunks the workers can compute at once (their threads).

    Args:
        backend: From :func:`check_executor`.

    Returns:
        The number of worker threads (a Dask cluster's, or the pool's ``max_workers``), at
        least 1.
    """
    if backend.kind == "dask":
        try:
            return max(1, sum(backend.client.nthreads().values()))
        except Exception:  # noqa: BLE001 - a scheduler that does not answer: one at a time
            return 1
    count = getattr(backend.executor, "_max_workers", None)
    return max(1, int(count if count else (os.cpu_count() or 1)))


# ------------------------------------------------------------------------------------------------
# What travels to the workers, and what a worker does with it


class _Payload:
    """The prepared engine's state and the model, as shipped once per job to every worker.

    On a worker, :meth:`engine` gives each thread its own engine built from this state (one per
    thread and job, sharing the arrays), so that the reused input buffers are never shared.
    """

    def __init__(self, token: str, state: dict[str, Any], model: Any, adapter: dict[str, Any]):
        self.token = token
        self.state = state
        self.model = model
        self.adapter = adapter
        self._engines: dict[int, Any] = {}
        self._guard = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {
            "token": self.token,
            "state": self.state,
            "model": self.model,
            "adapter": self.adapter,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._engines = {}
        self._guard = threading.Lock()

    def engine(self) -> Any:
        """This thread's engine for this job (built on its first task)."""
        key = threading.get_ident()
        with self._guard:
            engine = self._engines.get(key)
        if engine is None:
            engine = _engine_from(self)
            with self._guard:
                self._engines[key] = engine
        return engine


def _payload(engine: Any) -> _Payload:
    """The prepared engine as it travels (see :class:`_Payload`)."""
    state = {k: v for k, v in engine.__dict__.items() if k not in _KERNEL_ONLY}
    if state.get("_tile") is not None:
        state["_tile"] = dataclasses.replace(state["_tile"], buffers=None)
    windows = state.get("_windows")
    if windows is not None and windows.reordered and engine.masking == "random":
        # the draws read the reordered copy (pool); the rows in their first order are not needed
        windows = copy.copy(windows)
        windows._rows = None
        state["_windows"] = windows
        state["_rows"] = None
    mods = engine._modalities
    state["_shapes"] = mods.shapes
    adapter = engine._adapter
    spec = {
        "names": mods.names,
        "shapes": mods.shapes,
        "fusion": adapter.fusion,
        "n_outputs": adapter.n_outputs,
        "output_ndim": adapter.output_ndim,
    }
    return _Payload(uuid.uuid4().hex, state, engine._model_source, spec)


def _engine_from(payload: _Payload) -> Any:
    """A worker's engine: the shipped state, a fresh model adapter, its own buffers and locks."""
    from .engine import ValueEngine

    engine = ValueEngine.__new__(ValueEngine)
    state = dict(payload.state)
    shapes = state.pop("_shapes")
    engine.__dict__.update(state)
    if engine._tile is not None:
        engine._tile = dataclasses.replace(engine._tile, buffers=None)
    names = payload.adapter["names"]
    engine._modalities = Modalities(
        names=tuple(names),
        arrays={
            n: x.reshape(x.shape[0], *shapes[n]) for n, x in zip(names, engine._x, strict=True)
        },
    )
    adapter = adapt_model(
        payload.model, names, payload.adapter["shapes"], payload.adapter["fusion"]
    )
    adapter.n_outputs = payload.adapter["n_outputs"]
    adapter.output_ndim = payload.adapter["output_ndim"]
    engine._adapter = adapter
    if engine.fill == "torch":  # the worker's own device tensors, on its model's device
        from .engine.fill_torch import resolve_fill

        device = None if adapter.kind == "torch" else engine.device
        engine.fill, engine.device = resolve_fill("torch", device, adapter)
    engine._filler = None
    engine._buffers = None
    engine._largest = None
    engine._cancel = threading.Event()
    engine._lock = threading.Lock()
    engine._remote_rows = 0
    engine._backend = None
    engine.executor = None
    return engine


#: Payloads loaded from files in this process (process pools), by token: the last few jobs.
_LOADED: dict[str, _Payload] = {}
_LOADED_GUARD = threading.Lock()
_LOADED_KEEP = 2


def _load(path: str, token: str) -> _Payload:
    """The payload of a job, read from its file once per process."""
    with _LOADED_GUARD:
        payload = _LOADED.get(token)
        if payload is None:
            with open(path, "rb") as file:
                payload = pickle.load(file)
            _LOADED[token] = payload
            while len(_LOADED) > _LOADED_KEEP:
                _LOADED.pop(next(iter(_LOADED)))
    return payload


def _compute(payload: _Payload, start: int, stop: int) -> tuple[ValueChunk, float]:
    """A task: the value chunk of samples ``start .. stop - 1``, and the seconds it took."""
    t0 = time.perf_counter()
    chunk = payload.engine()._compute_chunk(start, stop)
    return chunk, time.perf_counter() - t0


def _compute_from_file(path: str, token: str, start: int, stop: int) -> tuple[ValueChunk, float]:
    """A process pool's task: :func:`_compute` on the payload in the job's file."""
    return _compute(_load(path, token), start, stop)


# ------------------------------------------------------------------------------------------------
# The kernel's side


@dataclasses.dataclass
class ExecutorStats:
    """What the last run on an executor cost (the benchmark prints these).

    ``ship_s``: seconds to pickle and send (or write) the prepared engine; ``payload_bytes``:
    its pickled size (0 for threads); ``tasks``: chunks that came back; ``task_s``: seconds
    spent computing them on the workers, summed; ``round_trip_s``: seconds from each chunk's
    submission to its result in the kernel, summed; ``slots``: tasks in flight at most.
    """

    ship_s: float = 0.0
    payload_bytes: int = 0
    tasks: int = 0
    task_s: float = 0.0
    round_trip_s: float = 0.0
    slots: int = 0

    @property
    def overhead_per_task_s(self) -> float:
        """Mean seconds a task spent outside the model's chunk: serialisation, scheduling, transfer."""
        return (self.round_trip_s - self.task_s) / self.tasks if self.tasks else 0.0


class _Shipment:
    """The prepared engine sent to the workers for one run; ``ref`` is what each task takes."""

    def __init__(self, engine: Any, backend: _Backend, stats: ExecutorStats) -> None:
        t0 = time.perf_counter()
        payload = _payload(engine)
        self._path: str | None = None
        self.backend = backend
        if backend.kind == "threads":
            self.ref: Any = payload
            self.args: tuple[Any, ...] = (payload,)
        elif backend.kind == "dask":
            if MEASURE_PAYLOAD:
                stats.payload_bytes = len(pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))
            self.ref = backend.client.scatter(payload, broadcast=True, hash=False)
            self.args = (self.ref,)
        else:
            fd, self._path = tempfile.mkstemp(prefix="intershap-job-", suffix=".pickle")
            with os.fdopen(fd, "wb") as file:
                pickle.dump(payload, file, protocol=pickle.HIGHEST_PROTOCOL)
                stats.payload_bytes = file.tell()
            self.args = (self._path, payload.token)
        stats.ship_s = time.perf_counter() - t0

    def submit(self, start: int, stop: int) -> cf.Future:
        """Sends the task of one chunk."""
        executor = self.backend.executor
        if self.backend.kind == "processes":
            return executor.submit(_compute_from_file, *self.args, start, stop)
        return executor.submit(_compute, *self.args, start, stop)

    def close(self) -> None:
        """Lets the workers drop the job (the file is removed, the Dask data released)."""
        if self._path is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._path)
            self._path = None
        if self.backend.kind == "dask":
            with contextlib.suppress(Exception):  # a client already closed has nothing to release
                self.ref.release()


def iter_outcomes(
    engine: Any, ranges: list[tuple[int, int]]
) -> Iterator[ValueChunk | ChunkFailure]:
    """Computes the chunks ``ranges`` on the engine's executor; yields each as it comes back.

    The engine is prepared here, in the kernel, if it is not yet (v(∅), the strata), then
    shipped once. Chunks come back in any order; a failed one is yielded as a
    :class:`ChunkFailure` and the others go on. ``engine.cancel()`` sends no further chunk; the
    ones running are waited for and yielded.

    Args:
        engine: A ``ValueEngine`` made with ``executor=``.
        ranges: Half-open sample ranges ``(start, stop)``, one task each, sent in this order.

    Yields:
        Value chunks and failures, as they complete.
    """
    backend = engine._backend
    assert backend is not None, "iter_outcomes needs an engine made with executor="
    if engine.cancelled or not ranges:
        return
    engine._prepare()
    stats = ExecutorStats()
    engine.executor_stats = stats
    shipment = _Shipment(engine, backend, stats)
    pending = deque(ranges)
    running: dict[cf.Future, tuple[int, int, float]] = {}
    slots = worker_slots(backend) * TASKS_PER_SLOT
    stats.slots = slots
    asked = time.monotonic()
    try:
        while pending or running:
            if backend.kind == "dask" and time.monotonic() - asked > SLOTS_REFRESH_S:
                slots = worker_slots(backend) * TASKS_PER_SLOT  # workers come and go
                stats.slots = max(stats.slots, slots)
                asked = time.monotonic()
            while pending and len(running) < slots and not engine.cancelled:
                start, stop = pending.popleft()
                sent = time.perf_counter()
                try:
                    future = shipment.submit(start, stop)
                except Exception as error:  # noqa: BLE001 - e.g. a broken pool: that chunk failed
                    yield ChunkFailure(start, stop, error)
                    continue
                running[future] = (start, stop, sent)
            if engine.cancelled:
                pending.clear()
            if not running:
                continue
            done, _ = cf.wait(list(running), timeout=POLL_S, return_when=cf.FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: running[f][0]):
                start, stop, sent = running.pop(future)
                try:
                    chunk, seconds = future.result()
                except BaseException as error:  # noqa: BLE001 - reported with its samples
                    yield ChunkFailure(start, stop, error)
                    continue
                stats.tasks += 1
                stats.task_s += seconds
                stats.round_trip_s += time.perf_counter() - sent
                engine._remote_rows += int(chunk.model_rows)
                yield chunk
    finally:
        for future in running:
            future.cancel()
        shipment.close()


def chunk_ranges(start: int, stop: int, chunk_samples: int) -> list[tuple[int, int]]:
    """The half-open ranges of ``chunk_samples`` samples that cover ``start .. stop - 1``."""
    return [(a, min(a + chunk_samples, stop)) for a in range(start, stop, chunk_samples)]


def missing_ranges(done: np.ndarray, chunk_samples: int) -> list[tuple[int, int]]:
    """Chunks of at most ``chunk_samples`` samples over the samples not ``done`` (a boolean mask)."""
    ranges: list[tuple[int, int]] = []
    missing = np.flatnonzero(~np.asarray(done, dtype=bool))
    if len(missing) == 0:
        return ranges
    breaks = np.flatnonzero(np.diff(missing) != 1)
    starts = np.concatenate([[missing[0]], missing[breaks + 1]])
    stops = np.concatenate([missing[breaks] + 1, [missing[-1] + 1]])
    for a, b in zip(starts.tolist(), stops.tolist(), strict=True):
        ranges.extend(chunk_ranges(a, b, chunk_samples))
    return ranges


def engine_outcomes(
    engine: Any, spans: list[tuple[int, int]], chunk_samples: int
) -> Iterator[ValueChunk | ChunkFailure]:
    """The chunks of the sample spans ``spans``, from the engine's executor or from the engine.

    Without an executor the chunks of each span come in order from ``engine.iter_chunks`` (a
    model error propagates, as always); with one, from :func:`iter_outcomes`, in any order, with
    failures yielded as :class:`ChunkFailure`.

    Args:
        engine: A ``ValueEngine``.
        spans: Half-open sample ranges to compute, each cut into chunks of ``chunk_samples``.
        chunk_samples: Samples per chunk.

    Yields:
        Value chunks (and, with an executor, failures).
    """
    if engine._backend is None:
        for start, stop in spans:
            yield from engine.iter_chunks(chunk_samples=chunk_samples, start=start, stop=stop)
        return
    ranges = [r for a, b in spans for r in chunk_ranges(a, b, chunk_samples)]
    yield from iter_outcomes(engine, ranges)


def use_executor(engine: Any, executor: Any) -> None:
    """Points an engine at another executor (a retry after a process pool broke, say).

    Args:
        engine: A ``ValueEngine``.
        executor: As ``ValueEngine(executor=...)`` takes it; checked like there.

    Raises:
        TypeError: ``executor`` is not one, or the model cannot be sent to its workers.
    """
    backend = check_executor(executor)
    check_picklable(engine._model_source, backend, executor)
    engine.executor, engine._backend = executor, backend
