"""Data, models and shortcuts shared by the value-engine tests (test_values, test_draws, test_models)."""

from __future__ import annotations

from typing import Any

import numpy as np

from intershap_widget.engine import ValueEngine
from intershap_widget.models import softmax


def data(n: int, n_bg: int, dims: tuple[int, ...] = (2, 3), seed: int = 0) -> tuple[dict, dict]:
    rng = np.random.default_rng(seed)
    names = [f"m{i}" for i in range(len(dims))]
    x = {name: rng.normal(size=(n, d)) for name, d in zip(names, dims, strict=True)}
    bg = {name: rng.normal(size=(n_bg, d)) for name, d in zip(names, dims, strict=True)}
    return x, bg


def logits_fn(batch: dict[str, np.ndarray]) -> np.ndarray:
    """A small nonlinear 3-class model of two modalities m0 (2,) and m1 (3,)."""
    a, b = batch["m0"], batch["m1"]
    z0 = np.tanh(a[:, 0] * b[:, 1]) + 0.5 * a[:, 1]
    z1 = np.sin(a.sum(axis=1)) * b[:, 0] - b[:, 2] ** 2 * 0.3
    z2 = 0.2 * a[:, 0] * b.sum(axis=1)
    return 2.0 * np.stack([z0, z1, z2], axis=1)


def probs_fn(batch: dict[str, np.ndarray]) -> np.ndarray:
    return softmax(logits_fn(batch))


def coalition_batch(x: dict, z: dict, mask: int, names: list[str]) -> dict[str, np.ndarray]:
    """x_S with the absent modalities taken from z (broadcast when z has one row)."""
    n = len(next(iter(x.values())))
    out = {}
    for m, name in enumerate(names):
        src = x[name] if (mask >> m) & 1 else np.broadcast_to(z[name], (n, *x[name].shape[1:]))
        out[name] = np.array(src, dtype=np.float64)
    return out


def compute(model: Any, x: dict, bg: dict | None, **kw: Any):
    return ValueEngine(model, x, bg, **kw).compute_all()
