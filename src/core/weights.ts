/**
 * The weights and small formulas of the decomposition (SPEC.md §2), written once: the coalition
 * plans (coalitions.ts), every kernel generator (kernels.ts, compiled.ts, blocked.ts and simd.ts,
 * through the statements it translates), the standard errors (uncertainty.ts) and the aggregates
 * take them from here.
 *
 * For a coalition T with |T| = k members and Möbius coefficient m(T) (mobius.ts):
 * φ_i = Σ_{T∋i} m(T)·shapleyWeight(|T|), Φ_ij = Σ_{T⊇{i,j}} m(T)·pairWeight(|T|) for i ≠ j, and
 * Φ_ii = Σ_{T∋i} m(T)·diagonalWeight(|T|).
 */

/** The weight 1/k that turns m(T), |T| = k ≥ 1, into its share of each φ_i, i ∈ T. */
export function shapleyWeight(size: number): number {
  return 1 / size;
}

/**
 * The weight 1/(2(k−1)) that turns m(T), |T| = k ≥ 2, into its share of each Φ_ij, i,j ∈ T:
 * half the Grabisch–Roubens pair weight, as InterSHAP halves SII.
 */
export function pairWeight(size: number): number {
  return 1 / (2 * (size - 1));
}

/**
 * The weight that turns m(T), |T| = k ≥ 1, into its share of each main effect Φ_ii, i ∈ T:
 * Φ_ii = φ_i − Σ_{j≠i} Φ_ij = Σ_{T∋i} m(T)·(1/k − [k ≥ 2]/2), so 1 for k = 1, 0 for k = 2 and
 * (2 − k)/(2k) above (one rounding, from the exact numerator and denominator).
 */
export function diagonalWeight(size: number): number {
  return size === 1 ? 1 : (2 - size) / (2 * size);
}

/**
 * part / total, undefined (NaN) when the total is exactly 0, never a silent 0/0 (SPEC §2, §3): the
 * local score, the global score and each modality's contribution are such shares of Σ|Φ|.
 */
export function share(part: number, total: number): number {
  return total === 0 ? NaN : part / total;
}

/**
 * The local score Σ_{i≠j}|Φ_ij| / Σ|Φ_ij| from its numerator and denominator (the global score is
 * the same over the mean matrix). An exactly-zero total means the model ignores every modality.
 */
export const localScore: (offDiagonal: number, total: number) => number = share;
