"""Synthetic multimodal data made on the fly: HD-XOR (SPEC §6), and the models trained on it.

``hd_xor`` builds the paper's high-dimensional XOR benchmark (Wenderoth et al., AAAI-25) for
2–4 modalities, seeded so that runs repeat, with no download. ``train_early_fusion_mlp`` trains
the paper's early-fusion MLP on the concatenated modalities, ``train_fusion_mlp`` an
intermediate- or late-fusion MLP with one trained branch per modality. Both import torch lazily,
so this module (and the package) import without torch.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = [
    "FUSION_KINDS",
    "HDXOR",
    "HDXOR_SETTINGS",
    "MODALITY_DIMS",
    "hd_xor",
    "train_early_fusion_mlp",
    "train_fusion_mlp",
]

#: Modality sizes per number of modalities (SPEC §6).
MODALITY_DIMS: dict[int, tuple[int, ...]] = {
    2: (200, 100),
    3: (200, 100, 150),
    4: (200, 100, 150, 100),
}

#: Settings accepted by :func:`hd_xor` (``uniqueness{k}`` for every modality k < n_modalities).
HDXOR_SETTINGS = ("synergy", "uniqueness", "uniqueness{k}", "redundancy", "random")

_SPLITS = ("train", "val", "test", "explain")
_SPLIT_ALIASES = {"validation": "val", "valid": "val", "background": "val"}
_N_EXPLAIN = 2000


@dataclass(frozen=True, eq=False)
class HDXOR:
    """One HD-XOR data set, split 70/15/15 into train / val (the masking background) / test.

    Attributes:
        setting: the normalised setting ("synergy", "uniqueness0", ..., "redundancy", "random").
        n_modalities: M.
        seed: the seed it was generated from.
        names: modality names ``["m0", "m1", ...]``, in modality (bit) order.
        dims: modality name -> number of features.
        train, val, test, explain: modality name -> float32 array ``(n_split, dims[name])``.
            ``explain`` is the first ``min(2000, n_test)`` test rows (a copy).
        y_train, y_val, y_test, y_explain: int64 labels in {0, 1}.
        bits: split name -> the latent bits ``(n_split, n_bits)`` (uint8) behind the labels;
            ``n_bits`` is M for synergy, 2 for uniqueness / redundancy, 0 for random.
        projections: modality name -> the projection P_m ``(dims[name], latent_dim)`` (float64).
    """

    setting: str
    n_modalities: int
    seed: int
    names: list[str]
    dims: dict[str, int]
    train: dict[str, np.ndarray]
    val: dict[str, np.ndarray]
    test: dict[str, np.ndarray]
    explain: dict[str, np.ndarray]
    y_train: np.ndarray
    y_val: np.ndarray
    y_test: np.ndarray
    y_explain: np.ndarray
    bits: dict[str, np.ndarray]
    projections: dict[str, np.ndarray]

    @staticmethod
    def _split_name(split: str) -> str:
        name = _SPLIT_ALIASES.get(split, split)
        if name not in _SPLITS:
            raise ValueError(
                f"split: expected one of {list(_SPLITS)} (or 'validation'/'background' for "
                f"'val'), got {split!r}"
            )
        return name

    def modalities(self, split: str) -> dict[str, np.ndarray]:
        """The modality dict of ``split`` ("train", "val", "test" or "explain")."""
        return getattr(self, self._split_name(split))

    def labels(self, split: str) -> np.ndarray:
        """The labels of ``split``."""
        return getattr(self, "y_" + self._split_name(split))

    def concat(self, split: str) -> np.ndarray:
        """Early-fusion input: the modalities of ``split`` concatenated in ``names`` order.

        Returns a float32 array of shape ``(n_split, sum(dims))``.
        """
        mods = self.modalities(split)
        return np.concatenate([mods[name] for name in self.names], axis=1)


def _parse_setting(setting: Any, n_modalities: int) -> tuple[str, int | None]:
    """Return ``(kind, unique_modality)``; kind in synergy/uniqueness/redundancy/random."""
    allowed = (
        ["synergy"]
        + [f"uniqueness{k}" for k in range(n_modalities)]
        + ["uniqueness", "redundancy", "random"]
    )
    if isinstance(setting, str):
        s = setting.strip().lower()
        if s in ("synergy", "redundancy", "random"):
            return s, None
        if s == "uniqueness":
            return "uniqueness", 0
        match = re.fullmatch(r"uniqueness_?(\d+)", s)
        if match and int(match.group(1)) < n_modalities:
            return "uniqueness", int(match.group(1))
    raise ValueError(
        f"setting: expected one of {allowed} for n_modalities = {n_modalities}, got {setting!r}"
    )


def _lift(
    bits: np.ndarray, mu: float, sigma: float, dims: int, rng: np.random.Generator
) -> np.ndarray:
    """Each bit column -> ``dims`` draws from N(+mu, sigma) (bit 1) or N(−mu, sigma) (bit 0).

    ``bits`` (n, k) -> (n, k * dims), the blocks concatenated in bit order.
    """
    n, k = bits.shape
    loc = np.where(bits == 1, mu, -mu).astype(np.float64)  # (n, k)
    noise = rng.standard_normal((n, k, dims))
    noise *= sigma
    noise += loc[:, :, None]
    return noise.reshape(n, k * dims)


def _balanced_synergy_bits(n: int, m: int, rng: np.random.Generator) -> np.ndarray:
    """M bits with P(label = 1) = 1/2, label = "exactly one bit is 1".

    With M independent fair bits the label would be 1 with probability only M / 2**M (37.5% for
    M = 3, 25% for M = 4). So, as the paper's generator does in effect (it draws fair bits and
    keeps equal numbers of each label), we draw the label first, y ~ Bernoulli(1/2), and then the
    bit vector uniformly among the vectors consistent with it: one of the M one-hot vectors when
    y = 1, one of the 2**M − M other vectors when y = 0. Within each label the bits are thus
    distributed exactly as independent fair bits conditioned on the label. (Each bit's marginal is
    no longer 1/2: P(b_m = 1) = 1/(2M) + (2**(M−1) − 1) / (2 (2**M − M)).)
    """
    y = rng.integers(0, 2, size=n)
    all_vecs = (np.arange(1 << m)[:, None] >> np.arange(m)) & 1  # (2**M, M), bitmask order
    one_hot = all_vecs.sum(axis=1) == 1
    pos, neg = all_vecs[one_hot], all_vecs[~one_hot]
    pick_pos = rng.integers(0, pos.shape[0], size=n)
    pick_neg = rng.integers(0, neg.shape[0], size=n)
    return np.where(y[:, None] == 1, pos[pick_pos], neg[pick_neg]).astype(np.uint8)


def hd_xor(
    setting: str,
    n_modalities: int = 2,
    seed: int = 0,
    n_samples: int = 20000,
    latent_dim: int = 200,
) -> HDXOR:
    """Generate the HD-XOR benchmark of SPEC §6.

    Args:
        setting: "synergy", "uniqueness{k}" (modality k alone carries the label; "uniqueness" means
            "uniqueness0"), "redundancy" or "random".
        n_modalities: M, 2 to 4. Modality sizes: 200, 100 (M = 2); 200, 100, 150 (M = 3);
            200, 100, 150, 100 (M = 4).
        seed: seed of ``np.random.default_rng``; the same arguments give the same arrays.
        n_samples: N before the 70/15/15 split (at least 20, so that every split is non-empty).
        latent_dim: d, the latent size of every modality (even, since two-bit latents are two
            blocks of d/2).

    Generation (bits b ~ Bernoulli(1/2); "lift" = N(+μ, σ) for a 1 bit, N(−μ, σ) for a 0 bit):

    - synergy: M bits (balanced to 50% label 1 for M >= 3, see ``_balanced_synergy_bits``);
      modality m's latent is bit m lifted to N(±0.35, 2) in d dims; label = exactly one bit set
      (XOR for M = 2).
    - uniqueness_k: 2 bits, label = XOR; modality k's latent is the two bits lifted to
      N(±0.35, 1) in d/2 dims each, concatenated; every other modality's latent is N(0, 1) noise.
    - redundancy: 2 bits, label = XOR; one latent (bits lifted to N(±0.25, 1), d/2 dims each)
      shared by all modalities.
    - random: one N(0.5, 1) latent shared by all modalities; labels ~ Bernoulli(1/2), independent.

    Each modality is ``x_m = P_m · latent_m`` with ``P_m`` of shape ``dim_m × d``, entries
    U(−0.5, 0.5). The samples are i.i.d., so the split is by position: the first 70% train, the
    next 15% validation (the background set for masking), the last 15% test.
    """
    if (
        isinstance(n_modalities, (bool, np.bool_))
        or not isinstance(n_modalities, (int, np.integer))
        or int(n_modalities) not in MODALITY_DIMS
    ):
        raise ValueError(
            f"n_modalities: expected an integer in 2..4 (the sizes SPEC §6 defines), "
            f"got {n_modalities!r}"
        )
    m = int(n_modalities)
    kind, unique = _parse_setting(setting, m)
    if (
        isinstance(n_samples, (bool, np.bool_))
        or not isinstance(n_samples, (int, np.integer))
        or n_samples < 20
    ):
        raise ValueError(f"n_samples: expected an integer >= 20, got {n_samples!r}")
    if (
        isinstance(latent_dim, (bool, np.bool_))
        or not isinstance(latent_dim, (int, np.integer))
        or latent_dim < 2
        or latent_dim % 2
    ):
        raise ValueError(f"latent_dim: expected an even integer >= 2, got {latent_dim!r}")
    n, d = int(n_samples), int(latent_dim)
    rng = np.random.default_rng(seed)
    dims = MODALITY_DIMS[m]
    names = [f"m{i}" for i in range(m)]

    # 1. Bits and labels.
    if kind == "synergy":
        if m == 2:  # two fair bits already give 50% label 1 (XOR)
            bits = rng.integers(0, 2, size=(n, 2)).astype(np.uint8)
        else:
            bits = _balanced_synergy_bits(n, m, rng)
    elif kind == "random":
        bits = np.zeros((n, 0), dtype=np.uint8)
    else:
        bits = rng.integers(0, 2, size=(n, 2)).astype(np.uint8)
    if kind == "random":
        y = rng.integers(0, 2, size=n).astype(np.int64)
    else:
        y = (bits.sum(axis=1) == 1).astype(np.int64)

    # 2. Latents, one (n, d) array per modality (shared arrays where the setting shares them).
    if kind == "synergy":
        latents = [_lift(bits[:, [i]], 0.35, 2.0, d, rng) for i in range(m)]
    elif kind == "uniqueness":
        latents = [
            _lift(bits, 0.35, 1.0, d // 2, rng) if i == unique else rng.standard_normal((n, d))
            for i in range(m)
        ]
    elif kind == "redundancy":
        shared = _lift(bits, 0.25, 1.0, d // 2, rng)
        latents = [shared] * m
    else:  # random
        shared = rng.normal(0.5, 1.0, size=(n, d))
        latents = [shared] * m

    # 3. Projections and modalities.
    projections = {name: rng.uniform(-0.5, 0.5, size=(dim, d)) for name, dim in zip(names, dims)}
    data = {
        name: (lat @ projections[name].T).astype(np.float32) for name, lat in zip(names, latents)
    }

    # 4. Split 70 / 15 / 15 by position.
    n_train = round(0.70 * n)
    n_val = round(0.15 * n)
    cuts = {
        "train": slice(0, n_train),
        "val": slice(n_train, n_train + n_val),
        "test": slice(n_train + n_val, n),
    }
    split = {k: {name: data[name][s] for name in names} for k, s in cuts.items()}
    n_explain = min(_N_EXPLAIN, n - n_train - n_val)
    explain = {name: split["test"][name][:n_explain].copy() for name in names}
    y_split = {k: y[s] for k, s in cuts.items()}
    bits_split = {k: bits[s] for k, s in cuts.items()}
    bits_split["explain"] = bits_split["test"][:n_explain]
    setting_name = f"uniqueness{unique}" if kind == "uniqueness" else kind
    return HDXOR(
        setting=setting_name,
        n_modalities=m,
        seed=seed,
        names=names,
        dims=dict(zip(names, dims)),
        train=split["train"],
        val=split["val"],
        test=split["test"],
        explain=explain,
        y_train=y_split["train"],
        y_val=y_split["val"],
        y_test=y_split["test"],
        y_explain=y_split["test"][:n_explain].copy(),
        bits=bits_split,
        projections=projections,
    )


def _available_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def _train(
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
        num_threads: torch intra-op threads during training (default 1). The layers are small
            (batch 400 × a few hundred features), so extra threads gain little: on the project's
            2-core machine 2 threads took 0.076 s/epoch against ~0.085 s/epoch for 1 thread when
            idle, but 0.5–2.4 s/epoch against 0.09–0.14 s/epoch when other processes were busy
            (OpenMP threads spinning on a shared core). The previous setting is restored
            afterwards.
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

    return _train(
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


# ---------------------------------------------------------------------------------------------
# Intermediate and late fusion (SPEC §6, "Other fusions")
# ---------------------------------------------------------------------------------------------

FUSION_KINDS = ("intermediate", "late")
_FUSION_CLASS: Any = None


def _fusion_class() -> Any:
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

    FusionMLP.__module__ = __name__
    FusionMLP.__qualname__ = "FusionMLP"
    _FUSION_CLASS = FusionMLP
    return FusionMLP


def __getattr__(name: str) -> Any:
    # ``datasets.FusionMLP`` is built on first access, so importing this module needs no torch
    # (and a pickled FusionMLP finds its class here).
    if name == "FusionMLP":
        return _fusion_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    return _train(
        lambda: _fusion_class()([x.shape[1] for x in xs], fusion, names),
        xs,
        y,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        weight_decay=weight_decay,
        seed=seed,
        num_threads=num_threads,
    )
