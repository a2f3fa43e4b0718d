r"""InterSHAP decomposition of coalition value tables: the numpy twin of ``src/core``.

This package implements the formulas of SPEC §2–§4 (``docs/SPEC.md``) for a batch of samples at
once. A value table has one row per sample and ``2**M`` columns in bitmask order (column ``b``
holds ``v(S)`` with ``S = {m : bit m of b set}``).

Every quantity here (Shapley values, Shapley interaction indices, the InterSHAP matrix, the order
masses) is *linear* in the value table, so for each M the package builds once, from closed-form
coefficients, a weight matrix ``W`` of shape ``(2**M, K)`` and computes everything with one matrix
product (``weights``). That product is faster here than the in-place Möbius transform that
``src/core`` runs (docs/BENCHMARKS.md, "Python value engine").

Parts:

- ``result_types``: :class:`Decomposition` and :class:`Aggregate`.
- ``validation``: checks of value tables and sample subsets.
- ``weights``: the weight matrices ``W``.
- ``per_sample``: :func:`decompose`, :func:`sii`, :func:`propagate_standard_errors`.
- ``over_samples``: :func:`aggregate`, :func:`bootstrap_global` (SPEC §3, §4).
- ``compare``: two models on the same samples: :func:`paired_delta`, :func:`paired_bootstrap`.
- ``cli``: :func:`to_jsonable` and the command line.

Command line::

    python -m intershap_widget.decompose FILE.json

reads ``{"games": [{"M": ..., "values": [[...], ...]}, ...]}`` and prints the decomposition of
every game as JSON (undefined numbers are ``null``).
"""

from __future__ import annotations

from ..limits import MAX_MODALITIES, MIN_MODALITIES
from .cli import main, to_jsonable
from .compare import (
    PairedDelta,
    PairedInterval,
    mulberry32_uniform,
    paired_bootstrap,
    paired_delta,
    unpaired_bootstrap,
)
from .over_samples import aggregate, bootstrap_global
from .per_sample import decompose, propagate_standard_errors, sii
from .result_types import Aggregate, Decomposition
from .validation import validate_values

__all__ = [
    "MAX_MODALITIES",
    "MIN_MODALITIES",
    "Aggregate",
    "Decomposition",
    "PairedDelta",
    "PairedInterval",
    "aggregate",
    "bootstrap_global",
    "decompose",
    "main",
    "mulberry32_uniform",
    "paired_bootstrap",
    "paired_delta",
    "propagate_standard_errors",
    "sii",
    "to_jsonable",
    "unpaired_bootstrap",
    "validate_values",
]
