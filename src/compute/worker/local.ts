/**
 * What the local view shows about one sample, derived from its value table and Φ matrix: the
 * waterfall from v(∅) to the prediction, and the value table as rows. Pure functions, used by the
 * engine's 'sample' request.
 */
import type { CoalitionRow, WaterfallStep } from '../types';

/**
 * v(∅), then each main effect Φ_ii, then each pair interaction Φ_ij + Φ_ji (i < j), then v(full).
 * The matrix sums to v(full) − v(∅) (efficiency, SPEC §2), so the bars land exactly on the
 * prediction: every higher-order effect is already folded into the pairs and the diagonal.
 */
export function waterfallSteps(
  values: ArrayLike<number>,
  matrix: ArrayLike<number>,
  M: number
): WaterfallStep[] {
  const steps: WaterfallStep[] = [{ kind: 'start', modalities: [], value: values[0] }];
  for (let i = 0; i < M; i++) {
    steps.push({ kind: 'main', modalities: [i], value: matrix[i * M + i] });
  }
  for (let i = 0; i < M; i++) {
    for (let j = i + 1; j < M; j++) {
      steps.push({
        kind: 'pair',
        modalities: [i, j],
        value: matrix[i * M + j] + matrix[j * M + i]
      });
    }
  }
  const full = (1 << M) - 1;
  steps.push({ kind: 'end', modalities: allModalities(M), value: values[full] });
  return steps;
}

/** The 2^M coalitions, smallest first (then in bitmask order), with their values and errors. */
export function coalitionRows(
  values: ArrayLike<number>,
  se: ArrayLike<number> | null,
  M: number
): CoalitionRow[] {
  const rows: CoalitionRow[] = [];
  for (let mask = 0; mask < 1 << M; mask++) {
    rows.push({
      mask,
      modalities: membersOf(mask, M),
      value: values[mask],
      se: se === null ? NaN : se[mask]
    });
  }
  return rows.sort((a, b) => a.modalities.length - b.modalities.length || a.mask - b.mask);
}

/** The modalities present in a coalition bitmask, in index order. */
export function membersOf(mask: number, M: number): number[] {
  const members: number[] = [];
  for (let m = 0; m < M; m++) {
    if (mask & (1 << m)) {
      members.push(m);
    }
  }
  return members;
}

function allModalities(M: number): number[] {
  return Array.from({ length: M }, (_, m) => m);
}
