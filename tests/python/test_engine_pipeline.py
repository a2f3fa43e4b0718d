"""Double buffering (intershap_widget/engine/pipeline.py): the next batch built while the model runs.

Values must be bit-identical with and without it, for every path a batch can take (the tile, the
regular plan, mean and baseline masking, draws="auto", dict and early fusion), and so must what a
cancel or a model error leaves. Also: the model is called from the engine's thread only, the
helper inherits the engine thread's lowered priority, and the old module paths still import.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from contextlib import closing
from typing import Any

import numpy as np
import pytest
from engine_helpers import data, probs_fn

from intershap_widget.engine import ValueEngine, pipeline
from intershap_widget.models import ModelError
from intershap_widget.runs import lower_this_threads_priority

FIELDS = ("values", "se", "prediction", "draws", "predicted_class")


def assert_same(a: Any, b: Any) -> None:
    for field in FIELDS:
        x, y = getattr(a, field), getattr(b, field)
        if x is None or y is None:
            assert x is None and y is None, field
        else:
            assert np.array_equal(x, y), field
    assert a.model_rows == b.model_rows
    assert a.complete == b.complete


def early(batch: np.ndarray) -> np.ndarray:
    return probs_fn({"m0": batch[:, :2], "m1": batch[:, 2:]})


def both(model: Any, x: dict, bg: Any, chunk_samples: int = 240, **kw: Any) -> tuple[Any, Any]:
    """The same job single- then double-buffered; returns both results (after checking the mode)."""
    out = []
    for double in (False, True):
        engine = ValueEngine(model, x, bg, double_buffer=double, **kw)
        assert engine.double_buffer is double
        out.append(engine.compute_all(chunk_samples=chunk_samples))
    return out[0], out[1]


@pytest.mark.parametrize("fusion", ["dict", "early"])
@pytest.mark.parametrize(
    ("batch_rows", "chunk_samples"),
    [
        (100_000, 25),  # the tile, several blocks per call; chunks start inside blocks
        (250, 256),  # the tile, a block split over 12 calls
        (120, 24),  # one window per call
        (None, 240),  # the default batch size
    ],
)
def test_random_masking_fixed_draws_identical(
    fusion: str, batch_rows: int | None, chunk_samples: int
) -> None:
    x, bg = data(60, 30)  # 100 draws from 30 rows: 12 slots
    model = early if fusion == "early" else probs_fn
    single, double = both(
        model, x, bg, chunk_samples, draws=100, seed=2, batch_rows=batch_rows, fusion=fusion
    )
    assert_same(single, double)


def test_regular_batches_without_the_tile_identical(monkeypatch: pytest.MonkeyPatch) -> None:
    import intershap_widget.engine.plan as plan_module

    monkeypatch.setattr(plan_module, "TILE_LIMIT_BYTES", 0)
    x, bg = data(50, 40, dims=(2, 3, 2))
    single, double = both(probs_fn, x, bg, 16, draws=30, seed=4, batch_rows=200, target="all")
    assert_same(single, double)


@pytest.mark.parametrize("masking", ["mean", "baseline"])
def test_mean_and_baseline_masking_identical(masking: str) -> None:
    x, bg = data(70, 25, dims=(2, 3, 2))
    kw: dict[str, Any] = {"masking": masking, "batch_rows": 64}
    if masking == "baseline":
        bg, kw["baseline"] = None, 0.5
    single, double = both(probs_fn, x, bg, 32, **kw)
    assert_same(single, double)


@pytest.mark.parametrize("fusion", ["dict", "early"])
def test_adaptive_draws_identical(fusion: str) -> None:
    x, bg = data(40, 300)
    model = early if fusion == "early" else probs_fn
    single, double = both(
        model, x, bg, 16, draws="auto", max_draws=200, batch_rows=500, fusion=fusion
    )
    assert_same(single, double)
    assert len(set(single.draws.tolist())) > 1  # samples stopped at different rounds


class CountingModel:
    """probs_fn that records its calls' threads, and cancels or raises at a given call."""

    def __init__(self, cancel_at: int | None = None, raise_at: int | None = None) -> None:
        self.calls = 0
        self.threads: set[int] = set()
        self.cancel_at, self.raise_at = cancel_at, raise_at
        self.engine: ValueEngine | None = None

    def __call__(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        self.calls += 1
        self.threads.add(threading.get_ident())
        if self.calls == self.raise_at:
            raise RuntimeError("model broke")
        if self.calls == self.cancel_at:
            assert self.engine is not None
            self.engine.cancel()
        return probs_fn(batch)


def run_counting(double: bool, **model_kw: Any) -> tuple[Any, CountingModel]:
    x, bg = data(90, 300)  # 100 draws from 300 rows: 12 slots; 2 tile regions per call
    model = CountingModel(**model_kw)
    engine = ValueEngine(model, x, bg, draws=100, seed=3, batch_rows=250, double_buffer=double)
    model.engine = engine
    try:
        result = engine.compute_all(chunk_samples=24)
    except ModelError as error:
        assert "model broke" in str(error)
        result = error.partial  # type: ignore[attr-defined]
    return result, model


def test_cancel_mid_run_identical() -> None:
    single, model_single = run_counting(False, cancel_at=40)
    double, model_double = run_counting(True, cancel_at=40)
    assert not single.complete and 0 < single.n_samples < 90
    assert_same(single, double)
    # the batch built ahead is dropped: the model is not called again after the cancel
    assert model_single.calls == model_double.calls == 40


def test_model_error_mid_run_gives_the_same_partial() -> None:
    single, _ = run_counting(False, raise_at=40)
    double, _ = run_counting(True, raise_at=40)
    assert not single.complete and 0 < single.n_samples < 90
    assert_same(single, double)


def test_engine_runs_again_after_an_error() -> None:
    x, bg = data(48, 300)
    model = CountingModel(raise_at=12)
    engine = ValueEngine(model, x, bg, draws=100, seed=1, batch_rows=250, double_buffer=True)
    with pytest.raises(ModelError, match="model broke"):
        engine.compute_all(chunk_samples=24)
    again = ValueEngine(probs_fn, x, bg, draws=100, seed=1, batch_rows=250, double_buffer=False)
    first, second = engine.compute_all(chunk_samples=24), again.compute_all(chunk_samples=24)
    assert first.complete and np.array_equal(first.values, second.values)
    assert np.array_equal(first.se, second.se)


def test_model_is_called_from_the_engine_thread_and_the_fill_from_a_helper(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from intershap_widget.engine.fill_numpy import NumpyFill

    fill_threads: list[str] = []
    prepare = NumpyFill.prepare

    def spy(self: Any, *args: Any) -> Any:
        fill_threads.append(threading.current_thread().name)
        return prepare(self, *args)

    monkeypatch.setattr(NumpyFill, "prepare", spy)
    _, model = run_counting(True)
    assert model.threads == {threading.get_ident()}
    assert fill_threads[0] == threading.current_thread().name  # the first batch of a round
    assert sum(name.startswith("intershap-fill") for name in fill_threads) > len(fill_threads) / 2
    assert not [t for t in threading.enumerate() if t.name.startswith("intershap-fill")]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_helper_thread_keeps_the_engine_threads_lowered_priority() -> None:
    seen: dict[str, Any] = {}

    def engine_thread() -> None:
        lower_this_threads_priority(3)
        seen["engine"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

        def prepare(item: int, slot: int) -> int:
            seen.setdefault("helper", set()).add(
                os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
            )
            return item

        with closing(pipeline.prefetched(range(5), prepare, ahead=True)) as items:
            seen["items"] = list(items)

    thread = threading.Thread(target=engine_thread)
    thread.start()
    thread.join()
    assert seen["items"] == [(i, i) for i in range(5)]
    assert seen["helper"] == {seen["engine"]}


def test_prefetched_slots_alternate_and_errors_come_in_their_turn() -> None:
    got = list(pipeline.prefetched(range(5), lambda item, slot: slot, ahead=True))
    assert got == [(0, 0), (1, 1), (2, 0), (3, 1), (4, 0)]
    assert list(pipeline.prefetched(range(3), lambda item, slot: slot, ahead=False)) == [
        (0, 0),
        (1, 0),
        (2, 0),
    ]

    def prepare(item: int, slot: int) -> int:
        if item == 2:
            raise ValueError("fill broke")
        return item

    seen = []
    with pytest.raises(ValueError, match="fill broke"):
        for item, _ in pipeline.prefetched(range(5), prepare, ahead=True):
            seen.append(item)
    assert seen == [0, 1]


def test_closing_early_waits_for_the_helper() -> None:
    started: list[int] = []
    finished: list[int] = []

    def prepare(item: int, slot: int) -> int:
        started.append(item)
        time.sleep(0.05)
        finished.append(item)
        return item

    with closing(pipeline.prefetched(range(10), prepare, ahead=True)) as items:
        for item, _ in items:
            if item == 1:
                break
    # the batch being built when the caller stopped was waited for; none was started after
    assert started == finished and finished[:2] == [0, 1] and len(finished) <= 3
    time.sleep(0.1)
    assert started == finished and len(finished) <= 3


def test_double_buffer_option_and_default(monkeypatch: pytest.MonkeyPatch) -> None:
    x, bg = data(8, 10)
    with pytest.raises(TypeError, match="double_buffer: expected True or False"):
        ValueEngine(probs_fn, x, bg, double_buffer="yes")
    monkeypatch.setattr(pipeline, "DOUBLE_BUFFER", None)
    for cpus, expected in ((1, False), (2, False), (3, True), (64, True)):
        monkeypatch.setattr(pipeline, "usable_cpus", lambda cpus=cpus: cpus)
        assert ValueEngine(probs_fn, x, bg).double_buffer is expected
    monkeypatch.setattr(pipeline, "DOUBLE_BUFFER", True)
    assert ValueEngine(probs_fn, x, bg).double_buffer is True
    assert ValueEngine(probs_fn, x, bg, double_buffer=False).double_buffer is False
    assert "double_buffer=True" in repr(ValueEngine(probs_fn, x, bg))


def test_former_module_paths_reexport_the_engine() -> None:
    from intershap_widget import batching, chunks, draws, engine, targets, values
    from intershap_widget.engine import chunks as new_chunks
    from intershap_widget.engine import draws as new_draws
    from intershap_widget.engine import plan
    from intershap_widget.engine import targets as new_targets

    assert values.ValueEngine is engine.ValueEngine
    assert values.compute_values is engine.compute_values
    assert values.ValueResult is engine.ValueResult
    assert values.FIRST_ROUND == new_draws.FIRST_ROUND
    assert values.DEFAULT_TOLERANCE == new_targets.DEFAULT_TOLERANCE
    assert draws.BackgroundWindows is new_draws.BackgroundWindows
    assert targets.TargetsMixin is new_targets.TargetsMixin
    assert chunks.ChunksMixin is new_chunks.ChunksMixin
    assert batching._Tile is plan._Tile and batching._Batch is plan._Batch
    assert issubclass(engine.ValueEngine, batching.PlanMixin)
