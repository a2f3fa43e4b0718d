"""The results of the decomposition: one per set of samples, and its aggregates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Decomposition:
    """Per-sample InterSHAP decomposition of ``N`` value tables with ``M`` modalities.

    All arrays are float64 and read-only.

    Attributes:
        M: number of modalities (players).
        shapley: ``(N, M)`` Shapley value φ_i of each modality.
        matrices: ``(N, M, M)`` InterSHAP matrix Φ: off-diagonal ``SII({i,j})/2``, diagonal the
            main effect ``φ_i − Σ_{j≠i} Φ_ij``. Rows sum to φ; the matrix sums to
            ``v(full) − v(∅)``.
        local: ``(N,)`` local InterSHAP score ``Σ_{i≠j}|Φ_ij| / Σ_{i,j}|Φ_ij|``; NaN where the
            denominator is exactly 0 (undefined).
        order_mass: ``(N, M)``; column ``k−1`` is ``Mass_k = Σ_{|T|=k} m(T)`` for ``k = 1..M``.
            Rows sum to ``v(full) − v(∅)``.
    """

    M: int
    shapley: np.ndarray
    matrices: np.ndarray
    local: np.ndarray
    order_mass: np.ndarray

    @property
    def n(self) -> int:
        """Number of samples."""
        return int(self.shapley.shape[0])

    @property
    def n_undefined(self) -> int:
        """Number of samples whose local score is undefined."""
        return int(np.count_nonzero(np.isnan(self.local)))


@dataclass(frozen=True, eq=False)
class Aggregate:
    """Aggregates of a :class:`Decomposition` over a set of samples (SPEC §3).

    For an empty set every number is NaN and ``n == 0``.

    Attributes:
        n: number of samples aggregated.
        M: number of modalities.
        mean_matrix: ``(M, M)`` signed mean Φ̄ of the per-sample matrices.
        global_intershap: ``Σ_{i≠j}|Φ̄_ij| / Σ_{i,j}|Φ̄_ij|``; NaN when the denominator is 0.
        local_mean: mean of the local scores over the samples where they are defined; NaN if none.
        n_undefined: number of samples whose local score is undefined (left out of local_mean).
        modality_contributions: ``(M,)`` ``|Φ̄_ii| / Σ_{i,j}|Φ̄_ij|``; NaN when undefined.
        interaction_share: share of interactions in Φ̄; equal to ``global_intershap`` by definition
            (so that ``interaction_share + Σ modality_contributions == 1``).
        order_mass: ``(M,)`` mean order masses ``Mass_1 .. Mass_M``.
        mean_shapley: ``(M,)`` mean Shapley values.
    """

    n: int
    M: int
    mean_matrix: np.ndarray
    global_intershap: float
    local_mean: float
    n_undefined: int
    modality_contributions: np.ndarray
    interaction_share: float
    order_mass: np.ndarray
    mean_shapley: np.ndarray
