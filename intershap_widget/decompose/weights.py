r"""The weight matrices that turn a value table into every quantity of SPEC §2 and §4.

In terms of the Möbius coefficients (Harsanyi dividends) ``m(T) = Σ_{S⊆T} (−1)^{|T|−|S|} v(S)``
the quantities are::

    φ_i     = Σ_{T∋i}      m(T) / |T|
    Φ_ij    = Σ_{T⊇{i,j}}  m(T) / (2 (|T| − 1))             (i ≠ j; = SII({i,j}) / 2)
    Φ_ii    = φ_i − Σ_{j≠i} Φ_ij
    Mass_k  = Σ_{|T|=k}    m(T)
    SII(S)  = Σ_{T⊇S}      m(T) / (|T| − |S| + 1)

and the weights on ``v`` itself (``s = |S|``, ``U`` a coalition, ``t = |U \ S|``) are::

    SII(S)  = Σ_U (−1)^{|S \ U|} · t! (M − s − t)! / (M − s + 1)! · v(U)
    Mass_k  = Σ_U (−1)^{k − |U|} · C(M − |U|, k − |U|) · v(U)          (|U| ≤ k)

Every output is unchanged by adding a constant to a table (its weights sum to 0), so each row is
first centred on its own ``v(∅)`` (:func:`centred`). That makes a constant table (a model that
ignores every modality) give an exactly zero Φ and hence an *undefined* local score, as the
in-place Möbius transform of ``src/core`` and the paper's reference code do; without the centring,
rounding leaves ~1e-17 noise there and "undefined" becomes an arbitrary ratio.
"""

from __future__ import annotations

import math
from functools import cache, lru_cache

import numpy as np

from .validation import readonly

#: Up to this M the weight matrix yields the whole Φ directly (see :func:`value_weights`).
FULL_MATRIX_MAX_M = 8


@cache
def _coalition_bits(m: int) -> tuple[np.ndarray, np.ndarray]:
    """``(popcount (2**M,), membership (2**M, M) bool)`` for all coalitions."""
    b = np.arange(1 << m, dtype=np.int64)
    member = ((b[:, None] >> np.arange(m, dtype=np.int64)) & 1).astype(bool)
    pop = member.sum(axis=1)
    member.setflags(write=False)
    pop.setflags(write=False)
    return pop, member


def sii_weights(m: int, subset_mask: int) -> np.ndarray:
    """Weights ``w`` (2**M,) on ``v`` with ``SII(S) = values @ w`` (Grabisch–Roubens index)."""
    pop, member = _coalition_bits(m)
    players = [i for i in range(m) if subset_mask >> i & 1]
    s = len(players)
    inside = member[:, players].sum(axis=1)  # |U ∩ S|
    t = pop - inside  # |U \ S|
    missing = s - inside  # |S \ U|
    denom = math.factorial(m - s + 1)
    coef = np.array(
        [math.factorial(k) * math.factorial(m - s - k) / denom for k in range(m - s + 1)],
        dtype=np.float64,
    )
    return np.where(missing % 2 == 0, 1.0, -1.0) * coef[t]


def _pair_phi_weights(m: int) -> tuple[np.ndarray, np.ndarray]:
    """``(pairs (2**M, P), phi (2**M, M))`` weights on ``v``.

    ``P = M(M−1)/2`` columns hold ``Φ_ij = SII({i,j})/2`` in ``np.triu_indices(M, 1)`` order.
    """
    iu, ju = np.triu_indices(m, 1)
    size = 1 << m
    pairs = np.empty((size, iu.size), dtype=np.float64)
    for c, (i, j) in enumerate(zip(iu.tolist(), ju.tolist())):
        pairs[:, c] = 0.5 * sii_weights(m, (1 << i) | (1 << j))
    phi = np.empty((size, m), dtype=np.float64)
    for i in range(m):
        phi[:, i] = sii_weights(m, 1 << i)
    return pairs, phi


def _mass_weights(m: int) -> np.ndarray:
    """``(2**M, M)`` weights on ``v``; column ``k−1`` gives ``Mass_k``."""
    pop, _ = _coalition_bits(m)
    table = np.zeros((m + 1, m), dtype=np.float64)  # [|U|, k−1]
    for k in range(1, m + 1):
        for s in range(k + 1):
            table[s, k - 1] = (-1.0) ** (k - s) * math.comb(m - s, k - s)
    return table[pop]


def _full_matrix_weights(pairs: np.ndarray, phi: np.ndarray, m: int) -> np.ndarray:
    """Weights of the whole Φ, ``(2**M, M, M)``; diagonal = φ weights − off-diagonal row sums."""
    iu, ju = np.triu_indices(m, 1)
    full = np.zeros((pairs.shape[0], m, m), dtype=np.float64)
    full[:, iu, ju] = pairs
    full[:, ju, iu] = pairs
    d = np.arange(m)
    full[:, d, d] = phi - full.sum(axis=2)
    return full


@lru_cache(maxsize=8)
def value_weights(m: int) -> np.ndarray:
    """Weights on ``v`` used by :func:`decompose`; read-only, cached per M.

    For ``M <= FULL_MATRIX_MAX_M`` the columns are ``[Φ flattened (M*M) | φ (M) | Mass (M)]``,
    so Φ comes straight out of the matrix product. Above that they are
    ``[Φ_ij for i<j (P = M(M−1)/2) | φ (M) | Mass (M)]`` and Φ is assembled afterwards: about
    half the flops and memory (about 80 MB at M = 16). Each layout is the faster one on its side
    of the threshold (docs/BENCHMARKS.md).
    """
    pairs, phi = _pair_phi_weights(m)
    mass = _mass_weights(m)
    if m <= FULL_MATRIX_MAX_M:
        full = _full_matrix_weights(pairs, phi, m).reshape(-1, m * m)
        w = np.concatenate([full, phi, mass], axis=1)
    else:
        w = np.concatenate([pairs, phi, mass], axis=1)
    return readonly(w)


@lru_cache(maxsize=4)
def squared_value_weights(m: int) -> np.ndarray:
    """Squared weights on ``v``, ``(2**M, P + 2M)``: columns ``[Φ_ij, i<j (P) | Φ_ii | φ_i]``."""
    pairs, phi = _pair_phi_weights(m)
    iu, ju = np.triu_indices(m, 1)
    offsum = np.zeros_like(phi)  # Σ_{j≠i} weight(Φ_ij)
    for c, (i, j) in enumerate(zip(iu.tolist(), ju.tolist())):
        offsum[:, i] += pairs[:, c]
        offsum[:, j] += pairs[:, c]
    w = np.concatenate([pairs, phi - offsum, phi], axis=1)
    return readonly(w * w)


def centred(v: np.ndarray) -> np.ndarray:
    """``v − v(∅)`` per row (a new array): exact zeros for a constant table."""
    return v - v[:, :1]
