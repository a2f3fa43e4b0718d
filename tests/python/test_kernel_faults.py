"""Kernel faults (issue 20): an interrupt during ``w.wait()`` stops the waiting, not the engine."""

from __future__ import annotations

import _thread
import threading
import time

import numpy as np
import pytest

from intershap_widget import InterSHAP


def slow_model(batch: dict[str, np.ndarray]) -> np.ndarray:
    time.sleep(0.02)
    s = batch["a"][:, 0] * batch["b"][:, 0]
    p = 1 / (1 + np.exp(-s))
    return np.stack([1 - p, p], axis=1)


def test_interrupt_during_wait_leaves_the_engine_running_until_cancel() -> None:
    rng = np.random.default_rng(0)
    mods = {"a": rng.normal(size=(400, 1)), "b": rng.normal(size=(400, 1))}
    w = InterSHAP(slow_model, mods, background=mods, draws=64, batch_rows=256, chunk_samples=8)
    # as the stop button does: KeyboardInterrupt raised in the main thread, where wait() blocks
    timer = threading.Timer(0.3, _thread.interrupt_main)
    timer.start()
    t0 = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        w.wait(verbose=False)
    assert time.perf_counter() - t0 < 2.0  # promptly, not when the model is done
    assert w.progress[0]["state"] == "running"
    done = w.progress[0]["done"]
    time.sleep(0.3)
    assert w.progress[0]["done"] > done  # still computing in its thread
    w.cancel()
    w.wait(timeout=10, verbose=False)
    assert w.progress[0]["state"] == "cancelled"
    assert 0 < w.progress[0]["done"] < 400
