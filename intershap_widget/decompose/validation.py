"""Checks of what the decomposition is given: value tables and sets of samples."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..limits import MAX_MODALITIES, MIN_MODALITIES


def _describe(x: Any) -> str:
    shape = getattr(x, "shape", None)
    if shape is not None:
        return f"an array of shape {tuple(shape)} and dtype {getattr(x, 'dtype', '?')}"
    return f"a {type(x).__name__}"


def validate_values(values: Any, name: str = "values") -> tuple[np.ndarray, int]:
    """Return ``(float64 C-contiguous array (N, 2**M), M)`` or raise ValueError."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name}: expected a numeric array of shape (N, 2**M), got {_describe(values)} "
            f"that cannot be converted to float64 ({exc})"
        ) from None
    if arr.ndim != 2:
        raise ValueError(
            f"{name}: expected a 2-D array of shape (N, 2**M) (one row of coalition values per "
            f"sample), got {arr.ndim}-D shape {arr.shape}"
        )
    n, width = arr.shape
    if width < 4 or width & (width - 1) != 0:
        raise ValueError(
            f"{name}: expected shape (N, 2**M) with 2**M a power of two >= 4, got shape {arr.shape}"
        )
    m = width.bit_length() - 1
    if m > MAX_MODALITIES:
        raise ValueError(
            f"{name}: expected 2**M columns with M in the supported range "
            f"{MIN_MODALITIES}..{MAX_MODALITIES}, got {width} columns (M = {m})"
        )
    if n == 0:
        raise ValueError(f"{name}: expected at least one sample (N >= 1), got N = 0")
    finite = np.isfinite(arr)
    if not finite.all():
        bad = np.argwhere(~finite)[0]
        raise ValueError(
            f"{name}: expected finite numbers, got {arr[bad[0], bad[1]]} at row {bad[0]}, "
            f"column {bad[1]} ({int((~finite).sum())} non-finite entries in total)"
        )
    return np.ascontiguousarray(arr), m


def resolve_subset(subset: Any, n: int) -> np.ndarray | slice:
    """Turn ``None`` / boolean mask / index array into something that indexes axis 0."""
    if subset is None:
        return slice(None)
    arr = np.asarray(subset)
    if arr.ndim != 1:
        raise ValueError(
            f"subset: expected None, a 1-D boolean mask of length {n} or a 1-D array of sample "
            f"indices, got an array of shape {arr.shape}"
        )
    if arr.dtype == np.bool_:
        if arr.shape[0] != n:
            raise ValueError(
                f"subset: expected a boolean mask of length N = {n}, got length {arr.shape[0]}"
            )
        return np.flatnonzero(arr)
    if arr.size == 0:
        return np.empty(0, dtype=np.intp)
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(
            f"subset: expected a boolean mask or integer sample indices, got dtype {arr.dtype}"
        )
    lo, hi = int(arr.min()), int(arr.max())
    if lo < 0 or hi >= n:
        raise ValueError(
            f"subset: expected sample indices in 0..{n - 1}, got indices in {lo}..{hi}"
        )
    return arr.astype(np.intp, copy=False)


def readonly(a: np.ndarray) -> np.ndarray:
    """Marks ``a`` read-only and returns it."""
    a.setflags(write=False)
    return a
