"""Intermediate and late fusion (SPEC §6, "Other fusions"): one trained branch per modality."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .training import train

if TYPE_CHECKING:  # pragma: no cover
    import torch

FUSION_KINDS = ("intermediate", "late")
_FUSION_CLASS: Any = None


def fusion_class() -> Any:
    """Builds (once) the ``FusionMLP`` torch module class; torch is imported only here."""
    global _FUSION_CLASS
    if _FUSION_CLASS is not None:
        return _FUSION_CLASS
    import torch
    from torch import nn

    class FusionMLP(nn.Module):
        """A multimodal MLP with one trained branch per modality (see :func:`train_fusion_mlp`).

        ``forward`` takes the M modality tensors ``(n, d_m)`` as positional arguments
        (``model(x0, x1)``), or one list/tuple of them (``model([x0, x1])``), or one dict
        name -> tensor (``model({"m0": x0, "m1": x1})``, looked up by ``names``), so the engine can
        call it with ``fusion="args"`` (what ``fusion="auto"`` picks), ``"list"`` or ``"dict"``.
        Each tensor is flattened to ``(n, -1)``. Returns logits ``(n, 2)``.
        """

        def __init__(self, dims: Sequence[int], fusion: str, names: Sequence[str]) -> None:
            super().__init__()
            self.dims = tuple(int(d) for d in dims)
            self.fusion = str(fusion)
            self.names = tuple(str(n) for n in names)
            if self.fusion == "intermediate":
                self.encoders = nn.ModuleList(
                    nn.Sequential(nn.Linear(d, d // 2), nn.ReLU()) for d in self.dims
                )
                width = sum(d // 2 for d in self.dims)
                self.head = nn.Sequential(
                    nn.Linear(width, width // 2), nn.ReLU(), nn.Linear(width // 2, 2)
                )
            else:
                self.branches = nn.ModuleList(
                    nn.Sequential(
                        nn.Linear(d, d // 2),
                        nn.ReLU(),
                        nn.Linear(d // 2, d // 4),
                        nn.ReLU(),
                        nn.Linear(d // 4, 2),
                    )
                    for d in self.dims
                )

        def extra_repr(self) -> str:
            return f"fusion={self.fusion!r}, names={list(self.names)}, dims={list(self.dims)}"

        def _unpack(self, xs: tuple[Any, ...]) -> list[Any]:
            if len(xs) == 1 and isinstance(xs[0], dict):
                given = xs[0]
                missing = [n for n in self.names if n not in given]
                if missing:
                    raise ValueError(
                        f"inputs: expected a dict with the modalities {list(self.names)}, "
                        f"missing {missing}"
                    )
                xs = tuple(given[n] for n in self.names)
            elif len(xs) == 1 and isinstance(xs[0], (list, tuple)):
                xs = tuple(xs[0])
            if len(xs) != len(self.dims):
                raise ValueError(
                    f"inputs: expected {len(self.dims)} modality tensors {list(self.names)}, "
                    f"got {len(xs)}"
                )
            return [x.reshape(x.shape[0], -1) for x in xs]

        def forward(self, *xs: Any) -> Any:
            parts = self._unpack(xs)
            if self.fusion == "intermediate":
                encoded = [enc(x) for enc, x in zip(self.encoders, parts)]
                return self.head(torch.cat(encoded, dim=1))
            logits = [branch(x) for branch, x in zip(self.branches, parts)]
            return torch.stack(logits, dim=0).mean(dim=0)

    FusionMLP.__module__ = __package__  # "intershap_widget.datasets", where pickle looks it up
    FusionMLP.__qualname__ = "FusionMLP"
    _FUSION_CLASS = FusionMLP
    return FusionMLP


def train_fusion_mlp(
    x_by_modality: Sequence[np.ndarray] | dict[str, np.ndarray],
    y_train: np.ndarray,
    fusion: str = "intermediate",
    *,
    epochs: int = 200,
    lr: float = 1e-4,
    weight_decay: float = 1e-4,
    batch_size: int = 400,
    seed: int = 0,
    num_threads: int | None = None,
) -> torch.nn.Module:
    """Train an intermediate- or late-fusion MLP, every per-modality branch a trained parameter.

    The architectures mirror the paper's early-fusion MLP (``d_m`` = size of modality m,
    ``H = Σ_m d_m // 2``):

    - ``"intermediate"``: each modality has its own encoder ``Linear(d_m, d_m/2) → ReLU``; the
      encodings are concatenated (width H) and a joint head ``Linear(H, H/2) → ReLU →
      Linear(H/2, 2)`` gives the logits. For HD-XOR (M = 2: 200 + 100) the widths are those of the
      early-fusion MLP (300 → 150 → 75 → 2), with the first layer block-diagonal: the modalities
      meet only after their encoders, so the head can still learn interactions.
    - ``"late"``: each modality has its own classifier ``Linear(d_m, d_m/2) → ReLU →
      Linear(d_m/2, d_m/4) → ReLU → Linear(d_m/4, 2)``; the model's logits are the **mean** of the
      branch logits. The modalities meet only in that mean (then the softmax), so a late-fusion
      model cannot represent XOR-type synergy.

    The branches are held in ``nn.ModuleList`` s, so they are registered, trained parameters (the
    paper's reference code kept them in a plain Python list, where the optimiser never saw them).
    The whole model is trained end to end on the fused logits exactly like
    :func:`train_early_fusion_mlp`: Adam(lr 1e-4, weight decay 1e-4), cross-entropy, batches of
    400 reshuffled every epoch, ``epochs`` epochs, seeded, final model kept, returned in eval mode.

    The module's ``forward`` takes the modality tensors as positional arguments
    (``model(x0, x1)``), a list of them or a dict name -> tensor, so the engine calls it with
    ``fusion="auto"`` (→ ``"args"``), ``"list"`` or ``"dict"``.

    Args:
        x_by_modality: the training modalities, a list of ``(n, d_m)`` arrays in modality order
            (names ``m0, m1, ...``) or a dict name -> array (e.g. ``HDXOR.train``).
        y_train: ``(n,)`` integer labels in {0, 1}.
        fusion: ``"intermediate"`` or ``"late"``.
        epochs: training epochs.
        lr: Adam's learning rate.
        weight_decay: Adam's weight decay.
        batch_size: rows per mini-batch.
        seed: seeds the initial weights and the shuffles.
        num_threads: torch intra-op threads during training (default 1; see
            :func:`train_early_fusion_mlp`). The previous setting is restored afterwards.
    """
    try:
        import torch  # noqa: F401 - a missing torch is reported here, with how to install it
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("train_fusion_mlp needs PyTorch: pip install torch") from exc

    if not isinstance(fusion, str) or fusion not in FUSION_KINDS:
        raise ValueError(f"fusion: expected one of {list(FUSION_KINDS)}, got {fusion!r}")
    if isinstance(x_by_modality, dict):
        names = [str(k) for k in x_by_modality]
        arrays = list(x_by_modality.values())
    elif isinstance(x_by_modality, (list, tuple)):
        arrays = list(x_by_modality)
        names = [f"m{i}" for i in range(len(arrays))]
    else:
        raise TypeError(
            "x_by_modality: expected a list of (n, d_m) arrays (one per modality) or a dict "
            f"name -> array, got {type(x_by_modality).__name__}"
        )
    if len(arrays) < 2:
        raise ValueError(f"x_by_modality: expected at least 2 modalities, got {len(arrays)}")
    xs = [np.asarray(a, dtype=np.float32) for a in arrays]
    xs = [x.reshape(x.shape[0], -1) if x.ndim > 2 else x for x in xs]
    n = xs[0].shape[0] if xs[0].ndim >= 1 else 0
    for name, x in zip(names, xs):
        if x.ndim != 2 or x.shape[0] != n or n == 0 or x.shape[1] < 4:
            raise ValueError(
                f"x_by_modality[{name!r}]: expected a 2-D array (n, d) with the same n >= 1 for "
                f"every modality (n = {n}) and d >= 4, got shape {x.shape}"
            )
        if not np.isfinite(x).all():
            raise ValueError(f"x_by_modality[{name!r}]: expected finite numbers, got NaN or Inf")
    y = np.asarray(y_train)
    if y.shape != (n,):
        raise ValueError(f"y_train: expected shape ({n},) to match the modalities, got {y.shape}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError(
            f"y_train: expected labels in {{0, 1}}, got values {np.unique(y)[:10].tolist()}"
        )
    return train(
        lambda: fusion_class()([x.shape[1] for x in xs], fusion, names),
        xs,
        y,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        weight_decay=weight_decay,
        seed=seed,
        num_threads=num_threads,
    )
