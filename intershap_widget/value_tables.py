"""What the value engine returns (:class:`ValueChunk`, :class:`ValueResult`) and what a chunk sums."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["ValueChunk", "ValueResult"]


@dataclass
class ValueChunk:
    """Value tables of the samples ``start .. start + n - 1``.

    ``values``/``se``: ``(n, 2**M)`` float64 in bitmask order (``(n, K, 2**M)`` for
    ``target="all"``). ``predicted_class``: ``(n,)`` int64, the argmax class on the full sample (None
    for a single-output model). ``prediction``: ``(n,)`` float64, ``v(full)``, the explained output
    on the unmasked sample (for ``target="all"``: the predicted class's probability). ``draws``: ``(n,)`` draws per coalition actually used (1 for
    mean/baseline masking). ``model_rows``: model rows evaluated for this chunk.
    """

    start: int
    values: np.ndarray
    se: np.ndarray
    predicted_class: np.ndarray | None
    prediction: np.ndarray
    draws: np.ndarray
    model_rows: int

    @property
    def stop(self) -> int:
        """One past the last sample of the chunk."""
        return self.start + int(self.values.shape[0])

    def __len__(self) -> int:
        return int(self.values.shape[0])


@dataclass
class ValueResult:
    """All computed value tables (see :class:`ValueChunk` for the per-sample arrays).

    ``complete`` is False when the run was cancelled (or failed) and only the first
    ``values.shape[0]`` samples are present. ``empty_value``/``empty_se``: ``v(∅)`` per class
    (shape ``(K,)``) or a 0-d array for ``target="output"``.
    """

    names: tuple[str, ...]
    values: np.ndarray
    se: np.ndarray
    predicted_class: np.ndarray | None
    prediction: np.ndarray
    draws: np.ndarray
    model_rows: int
    n_classes: int
    target: str | int
    masking: str
    empty_value: np.ndarray
    empty_se: np.ndarray
    complete: bool
    seconds: float = 0.0
    n_total: int = field(default=0)

    @property
    def n_samples(self) -> int:
        """Number of samples present (``n_total`` when complete)."""
        return int(self.values.shape[0])


@dataclass
class _ChunkState:
    """What one chunk accumulates while it draws.

    Per sample and coalition the sums of the explained values (minus ``shift``, for numerical
    accuracy) and of their squares, and the draws made so far.
    """

    start: int
    samples: np.ndarray
    shift: np.ndarray
    prediction: np.ndarray
    classes: np.ndarray | None
    s1: np.ndarray
    s2: np.ndarray
    drawn: np.ndarray
    target_draws: np.ndarray
    rows_before: int
