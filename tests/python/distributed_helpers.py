"""Models and data for test_distributed, at module level so that the workers can import them.

pytest puts tests/python on ``sys.path``; a process pool's workers (fork) and a Dask
``LocalCluster``'s worker processes (spawn, which hands the parent's ``sys.path`` on) import
this module by name when they unpickle a model defined here.

Each sample's modality ``a`` starts with ``ID_BASE + i`` (the background's never does), so a
model can tell which sample a row belongs to whenever ``a`` is present, as in every
chunk's first model call (the samples unmasked).
"""

from __future__ import annotations

import os
import time

import numpy as np

ID_BASE = 1000.0


def modalities(n: int = 120, n_bg: int = 40, seed: int = 0) -> tuple[dict, dict]:
    rng = np.random.default_rng(seed)
    samples = {"a": rng.normal(size=(n, 3)), "b": rng.normal(size=(n, 2))}
    samples["a"][:, 0] = ID_BASE + np.arange(n)
    background = {"a": rng.normal(size=(n_bg, 3)), "b": rng.normal(size=(n_bg, 2))}
    return samples, background


def xor_model(batch: dict) -> np.ndarray:
    """Two class probabilities of an interaction of ``a`` and ``b`` (the sample id is ignored)."""
    z = np.tanh(batch["a"][:, 1:].sum(1)) * batch["b"].sum(1)
    p = 1 / (1 + np.exp(-z))
    return np.stack([1 - p, p], 1)


def early_model(x: np.ndarray) -> np.ndarray:
    """``xor_model`` on the concatenated features (fusion='early')."""
    return xor_model({"a": x[:, :3], "b": x[:, 3:]})


def samples_in(batch: dict) -> np.ndarray:
    """The sample indices whose own ``a`` is in the batch."""
    ids = batch["a"][:, 0] - ID_BASE
    return np.unique(ids[ids >= 0]).astype(int)


class Slow:
    """``xor_model``, taking ``seconds`` per call on the samples ``first .. stop - 1`` (all: None)."""

    def __init__(self, seconds: float, stop: int | None = None, first: int = 0) -> None:
        self.seconds, self.first, self.stop = seconds, first, stop

    def __call__(self, batch: dict) -> np.ndarray:
        ids = samples_in(batch)
        hit = (
            len(ids) > 0
            if self.stop is None
            else bool(np.any((ids >= self.first) & (ids < self.stop)))
        )
        if hit:
            time.sleep(self.seconds)
        return xor_model(batch)


class FailOnce:
    """``xor_model``; in a worker, the first call that sees ``sample`` fails (raises or dies).

    ``marker`` is a file that exists until the failure happens, so that a retry succeeds.
    ``how``: ``"raise"`` raises ValueError, ``"exit"`` ends the worker process with
    ``os._exit(1)``. Never in the kernel (``kernel_pid``), whatever the sample.
    """

    def __init__(self, marker: str, sample: int, how: str = "raise") -> None:
        self.marker, self.sample, self.how = marker, sample, how
        self.kernel_pid = os.getpid()

    def __call__(self, batch: dict) -> np.ndarray:
        if (
            os.getpid() != self.kernel_pid
            and self.sample in samples_in(batch)
            and os.path.exists(self.marker)
        ):
            os.remove(self.marker)
            if self.how == "exit":
                os._exit(1)
            raise ValueError(f"sample {self.sample} is cursed")
        return xor_model(batch)
