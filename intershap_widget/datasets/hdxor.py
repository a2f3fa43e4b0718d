"""The HD-XOR benchmark of SPEC §6: seeded, made on the fly, no download."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

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
