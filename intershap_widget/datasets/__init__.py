"""Synthetic multimodal data made on the fly: HD-XOR (SPEC §6), and the models trained on it.

``hd_xor`` builds the paper's high-dimensional XOR benchmark (Wenderoth et al., AAAI-25) for
2–4 modalities, seeded so that runs repeat, with no download. ``train_early_fusion_mlp`` trains
the paper's early-fusion MLP on the concatenated modalities, ``train_fusion_mlp`` an
intermediate- or late-fusion MLP with one trained branch per modality. Both import torch lazily,
so this package (and ``intershap_widget``) import without torch.

Parts: ``hdxor`` (the data), ``training`` (the training loop and the early-fusion MLP),
``fusion`` (intermediate and late fusion, and the ``FusionMLP`` module).
"""

from __future__ import annotations

from typing import Any

from .fusion import FUSION_KINDS, fusion_class, train_fusion_mlp
from .hdxor import HDXOR, HDXOR_SETTINGS, MODALITY_DIMS, hd_xor
from .training import train_early_fusion_mlp

__all__ = [
    "FUSION_KINDS",
    "HDXOR",
    "HDXOR_SETTINGS",
    "MODALITY_DIMS",
    "hd_xor",
    "train_early_fusion_mlp",
    "train_fusion_mlp",
]


def __getattr__(name: str) -> Any:
    # ``datasets.FusionMLP`` is built on first access, so importing this package needs no torch
    # (and a pickled FusionMLP finds its class here: its ``__module__`` is this package).
    if name == "FusionMLP":
        return fusion_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
