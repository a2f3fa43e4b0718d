"""The paper's training loop, shared by every fusion, and its early-fusion MLP (SPEC §6)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import torch


def _available_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def train(
    build: Callable[[], Any],
    inputs: list[np.ndarray],
    y: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    weight_decay: float,
    seed: int,
    num_threads: int | None,
) -> Any:
    """The paper's training loop (Adam, cross-entropy, seeded shuffles), shared by every fusion.

    Validates ``epochs``, ``batch_size`` and ``num_threads`` (default 1), then, with that many
    torch threads (the previous setting is restored afterwards): seeds torch, builds the model with
    ``build()`` (so its initial weights are seeded), trains it on ``inputs`` (the arrays the model
    takes as positional arguments) and returns it in eval mode.
    """
    import torch
    from torch import nn

    for name, val in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < 1:
            raise ValueError(f"{name}: expected a positive integer, got {val!r}")
    if num_threads is None:
        num_threads = 1
    if isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1:
        raise ValueError(f"num_threads: expected a positive integer, got {num_threads!r}")

    previous_threads = torch.get_num_threads()
    torch.set_num_threads(min(num_threads, _available_cpus()))
    try:
        torch.manual_seed(seed)
        model = build()
        tensors = [torch.from_numpy(np.ascontiguousarray(x)) for x in inputs]
        yt = torch.from_numpy(y.astype(np.int64))
        optimiser = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
        loss_fn = nn.CrossEntropyLoss()
        gen = torch.Generator().manual_seed(seed)
        n = tensors[0].shape[0]
        model.train()
        for _ in range(int(epochs)):
            order = torch.randperm(n, generator=gen)
            for start in range(0, n, int(batch_size)):
                idx = order[start : start + int(batch_size)]
                optimiser.zero_grad(set_to_none=True)
                loss = loss_fn(model(*[t[idx] for t in tensors]), yt[idx])
                loss.backward()
                optimiser.step()
        model.eval()
    finally:
        torch.set_num_threads(previous_threads)
    return model


def train_early_fusion_mlp(
    x_train: np.ndarray,
    y_train: np.ndarray,
    *,
    epochs: int = 200,
    lr: float = 1e-4,
    weight_decay: float = 1e-4,
    batch_size: int = 400,
    seed: int = 0,
    hidden: Sequence[int] | None = None,
    num_threads: int | None = None,
) -> torch.nn.Module:
    """Train the paper's early-fusion MLP (SPEC §6) and return the final model, in eval mode.

    Layers ``Linear(D, D/2) → ReLU → Linear(D/2, D/4) → ReLU → Linear(D/4, 2)`` (``hidden``
    overrides the two hidden widths), Adam(lr, weight_decay), cross-entropy, mini-batches of
    ``batch_size`` reshuffled every epoch, ``epochs`` epochs (the paper: 200, or 250 for M = 4).
    The model outputs logits; apply softmax for probabilities. Seeded with ``torch.manual_seed``
    and a seeded generator for the shuffling, so a run repeats on the same machine.

    Args:
        x_train: ``(n, D)`` early-fusion input (e.g. ``HDXOR.concat("train")``).
        y_train: ``(n,)`` integer labels in {0, 1}.
        epochs: training epochs (the paper: 200, or 250 for M = 4).
        lr: Adam's learning rate.
        weight_decay: Adam's weight decay.
        batch_size: rows per mini-batch.
        seed: seeds the initial weights and the shuffles.
        hidden: the hidden layer widths (default ``(D // 2, D // 4)``).
        num_threads: torch intra-op threads during training (default 1). The layers are small
            (batch 400 × a few hundred features), so extra threads gain little when the machine
            is idle and cost a lot when it is busy (OpenMP threads spinning on a shared core;
            measured: docs/BENCHMARKS.md). The previous setting is restored afterwards.
    """
    try:
        from torch import nn
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("train_early_fusion_mlp needs PyTorch: pip install torch") from exc

    x = np.asarray(x_train, dtype=np.float32)
    y = np.asarray(y_train)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] < 4:
        raise ValueError(
            f"x_train: expected a 2-D array (n, D) with n >= 1 and D >= 4, got shape {x.shape}"
        )
    if y.shape != (x.shape[0],):
        raise ValueError(
            f"y_train: expected shape ({x.shape[0]},) to match x_train, got shape {y.shape}"
        )
    if not np.isfinite(x).all():
        raise ValueError("x_train: expected finite numbers, got NaN or Inf")
    if y.size and not np.isin(y, (0, 1)).all():
        raise ValueError(
            f"y_train: expected labels in {{0, 1}}, got values {np.unique(y)[:10].tolist()}"
        )
    dim = x.shape[1]
    widths = (dim // 2, dim // 4) if hidden is None else tuple(int(h) for h in hidden)
    if not widths or min(widths) < 1:
        raise ValueError(f"hidden: expected positive layer widths, got {hidden!r}")

    def build() -> nn.Module:
        layers: list[nn.Module] = []
        width_in = dim
        for width in widths:
            layers += [nn.Linear(width_in, width), nn.ReLU()]
            width_in = width
        layers.append(nn.Linear(width_in, 2))
        return nn.Sequential(*layers)

    return train(
        build,
        [x],
        y,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        weight_decay=weight_decay,
        seed=seed,
        num_threads=num_threads,
    )
