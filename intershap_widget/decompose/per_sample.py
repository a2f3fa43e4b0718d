"""The decomposition of each sample's value table (SPEC §2, §4), and its standard errors."""

from __future__ import annotations

import operator

import numpy as np

from .result_types import Decomposition
from .validation import readonly, validate_values
from .weights import FULL_MATRIX_MAX_M, centred, sii_weights, squared_value_weights, value_weights


def _assemble(pairs: np.ndarray, phi: np.ndarray, m: int) -> np.ndarray:
    """Build Φ (N, M, M) from the upper-triangle pair values and φ."""
    n = phi.shape[0]
    iu, ju = np.triu_indices(m, 1)
    mat = np.zeros((n, m, m), dtype=np.float64)
    mat[:, iu, ju] = pairs
    mat[:, ju, iu] = pairs
    d = np.arange(m)
    mat[:, d, d] = phi - mat.sum(axis=2)
    return mat


#: Rows per block of the product: its temporaries stay a few MB whatever N (docs/BENCHMARKS.md).
_DECOMPOSE_BLOCK_ROWS = 16_384


def decompose(values: np.ndarray) -> Decomposition:
    """Decompose value tables ``values`` of shape ``(N, 2**M)`` (bitmask order), M in 2..16.

    Raises:
        ValueError: if ``values`` is not a finite 2-D array with ``N >= 1`` rows and ``2**M``
            columns for ``M`` in 2..16.
    """
    v, m = validate_values(values, "values")
    n = v.shape[0]
    weights = value_weights(m)
    shapley = np.empty((n, m))
    matrices = np.empty((n, m, m))
    order_mass = np.empty((n, m))
    local = np.empty(n)
    # In blocks, straight into the result arrays: one pass over a million tables allocates a few
    # MB at a time instead of the product, its copies and |Φ| over all of them (5x the table).
    for start in range(0, n, _DECOMPOSE_BLOCK_ROWS):
        rows = slice(start, min(n, start + _DECOMPOSE_BLOCK_ROWS))
        out = centred(v[rows]) @ weights
        shapley[rows], matrices[rows], order_mass[rows], local[rows] = _split(out, m)
    return Decomposition(
        M=m,
        shapley=readonly(shapley),
        matrices=readonly(matrices),
        local=readonly(local),
        order_mass=readonly(order_mass),
    )


def _split(
    out: np.ndarray, m: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(φ, Φ, order masses, local score)`` of a block of the product with ``value_weights``."""
    n = out.shape[0]
    d = np.arange(m)
    if m <= FULL_MATRIX_MAX_M:
        q = m * m
        flat = out[:, :q]
        mat = flat.reshape(n, m, m)
        absum = np.abs(flat)
        den = absum.sum(axis=1)
        off = den - absum[:, d * (m + 1)].sum(axis=1)
    else:
        q = m * (m - 1) // 2
        pairs = out[:, :q]
        mat = _assemble(pairs, out[:, q : q + m], m)
        off = 2.0 * np.abs(pairs).sum(axis=1)
        den = off + np.abs(mat[:, d, d]).sum(axis=1)
    local = np.full(n, np.nan)
    np.divide(off, den, out=local, where=den != 0)
    return out[:, q : q + m], mat, out[:, q + m :], local


def sii(values: np.ndarray, subset_mask: int) -> np.ndarray:
    """Shapley interaction index (Grabisch–Roubens) of the coalition ``subset_mask``, per sample.

    ``SII(S) = Σ_{T⊇S} m(T) / (|T| − |S| + 1)``. For a single modality it is its Shapley value;
    for a pair it is twice the off-diagonal InterSHAP entry.

    Args:
        values: ``(N, 2**M)`` value tables in bitmask order.
        subset_mask: bitmask of S, ``1 <= subset_mask < 2**M``.

    Returns:
        ``(N,)`` float64.
    """
    v, m = validate_values(values, "values")
    try:
        mask = -1 if isinstance(subset_mask, (bool, np.bool_)) else operator.index(subset_mask)
    except TypeError:
        mask = -1
    if mask == -1:
        raise ValueError(
            f"subset_mask: expected an integer bitmask in 1..{(1 << m) - 1}, got "
            f"{type(subset_mask).__name__} {subset_mask!r}"
        )
    if not 1 <= mask < (1 << m):
        raise ValueError(
            f"subset_mask: expected a non-empty coalition bitmask in 1..{(1 << m) - 1} for "
            f"M = {m}, got {mask}"
        )
    return centred(v) @ sii_weights(m, mask)


def propagate_standard_errors(se: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Standard errors of φ and Φ from per-coalition standard errors.

    Assumes the ``2**M`` coalition estimates of a sample are independent, so for any linear
    quantity ``q = Σ_S w_S v(S)``: ``SE(q) = sqrt(Σ_S w_S² se_S²)``. (With ``random`` masking the
    coalitions of one sample share background rows and are positively correlated, so this is an
    approximation; coalitions computed exactly — ``v(∅)``, ``v(full)`` — should have se 0.)

    Args:
        se: ``(N, 2**M)`` non-negative standard errors in bitmask order.

    Returns:
        ``(se_shapley (N, M), se_matrices (N, M, M))``.
    """
    s, m = validate_values(se, "se")
    if (s < 0).any():
        raise ValueError(f"se: expected non-negative standard errors, got minimum {float(s.min())}")
    p = m * (m - 1) // 2
    var = (s * s) @ squared_value_weights(m)
    sd = np.sqrt(var, out=var)
    iu, ju = np.triu_indices(m, 1)
    d = np.arange(m)
    mat = np.empty((s.shape[0], m, m), dtype=np.float64)
    mat[:, iu, ju] = sd[:, :p]
    mat[:, ju, iu] = sd[:, :p]
    mat[:, d, d] = sd[:, p : p + m]
    return np.ascontiguousarray(sd[:, p + m :]), mat
