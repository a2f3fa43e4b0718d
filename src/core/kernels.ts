/**
 * Batch kernels: Möbius transform + Shapley + pair interactions + diagonal + local score + order
 * masses for every sample of a flat value table.
 *
 * This file holds the table-driven `genericKernel`, valid for every M and needing no compiled
 * code. compiled.ts compiles faster kernels per M (they reach the same numbers through pruned
 * superset sums) and decompose.ts picks one. The generic kernel stays as the
 * fallback where compiling is forbidden and as the tests' independent reference.
 */
import { coalitionPlan } from './coalitions';
import type { CoalitionPlan } from './coalitions';
import { mobiusInPlace } from './mobius';
import { localScore } from './weights';

/**
 * Decomposes samples 0..n−1 of `values` into the (zero-filled) output arrays. Returns −1, or the
 * first sample whose value table is not finite (the caller reports it). The register kernels
 * (compiled.ts) also add the samples into `sums` (sums.ts) when it is not null; the others ignore
 * it and decomposeInto adds them afterwards.
 */
export type Kernel = (
  values: Float64Array,
  n: number,
  shapley: Float64Array,
  matrices: Float64Array,
  local: Float64Array,
  orderMass: Float64Array,
  sums: Float64Array | null
) => number;

/** The table-driven kernel: valid for every M, three scratch buffers of 2^M per call. */
export function genericKernel(M: number): Kernel {
  const plan = coalitionPlan(M);
  const coalitions = plan.coalitions;
  return (values, n, shapley, matrices, local, orderMass) => {
    const mobius = new Float64Array(coalitions);
    const shapleyShare = new Float64Array(coalitions);
    const pairShare = new Float64Array(coalitions);
    for (let a = 0; a < n; a++) {
      const start = a * coalitions;
      for (let b = 0; b < coalitions; b++) {
        mobius[b] = values[start + b];
      }
      mobiusInPlace(mobius, M);
      // m(full) is ± every v(S) summed, so it is finite exactly when the whole table is (barring
      // overflow): one test per sample replaces a separate validation pass over the input.
      if (!Number.isFinite(mobius[coalitions - 1])) {
        return a;
      }
      // Scaling each m(T) once by its weight makes the gathers below plain sums.
      for (let t = 1; t < coalitions; t++) {
        shapleyShare[t] = mobius[t] * plan.shapleyWeightOf[t];
        pairShare[t] = mobius[t] * plan.pairWeightOf[t];
      }
      writeOrderMasses(mobius, plan, orderMass, a * M);
      writeShapley(shapleyShare, plan, shapley, a * M);
      writePairs(pairShare, plan, matrices, a * M * M);
      local[a] = fillDiagonalAndLocal(shapley, a * M, matrices, a * M * M, M);
    }
    return -1;
  };
}

/**
 * Σ_k buffer[terms[k]] over [start, end). Four independent partial sums when the run allows it:
 * a single accumulator makes every addition wait for the previous one (docs/BENCHMARKS.md).
 */
function gatherSum(buffer: Float64Array, terms: Int32Array, start: number, end: number): number {
  if ((end - start) % 4 !== 0) {
    let sum = 0;
    for (let k = start; k < end; k++) {
      sum += buffer[terms[k]];
    }
    return sum;
  }
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (let k = start; k < end; k += 4) {
    s0 += buffer[terms[k]];
    s1 += buffer[terms[k + 1]];
    s2 += buffer[terms[k + 2]];
    s3 += buffer[terms[k + 3]];
  }
  return s0 + s1 + (s2 + s3);
}

function writeOrderMasses(
  mobius: Float64Array,
  plan: CoalitionPlan,
  orderMass: Float64Array,
  offset: number
): void {
  for (let k = 0; k < plan.M; k++) {
    orderMass[offset + k] = gatherSum(
      mobius,
      plan.coalitionsBySize,
      plan.orderStart[k],
      plan.orderStart[k + 1]
    );
  }
}

function writeShapley(
  shapleyShare: Float64Array,
  plan: CoalitionPlan,
  shapley: Float64Array,
  offset: number
): void {
  const perModality = plan.coalitions >> 1;
  for (let i = 0; i < plan.M; i++) {
    const start = i * perModality;
    shapley[offset + i] = gatherSum(shapleyShare, plan.shapleyTerms, start, start + perModality);
  }
}

/** Writes Φ_ij = Φ_ji = SII({i,j})/2 for every pair. */
function writePairs(
  pairShare: Float64Array,
  plan: CoalitionPlan,
  matrices: Float64Array,
  offset: number
): void {
  const { M, pairFirst, pairSecond } = plan;
  const perPair = plan.coalitions >> 2;
  for (let p = 0; p < plan.pairCount; p++) {
    const half = gatherSum(pairShare, plan.pairTerms, p * perPair, (p + 1) * perPair);
    matrices[offset + pairFirst[p] * M + pairSecond[p]] = half;
    matrices[offset + pairSecond[p] * M + pairFirst[p]] = half;
  }
}

/**
 * Sets Φ_ii = φ_i − Σ_{j≠i} Φ_ij and returns the local score Σ_{i≠j}|Φ_ij| / Σ|Φ_ij|
 * (weights.ts).
 */
export function fillDiagonalAndLocal(
  shapley: Float64Array,
  shapleyOffset: number,
  matrices: Float64Array,
  offset: number,
  M: number
): number {
  let offDiagonal = 0;
  let diagonal = 0;
  for (let i = 0; i < M; i++) {
    const row = offset + i * M;
    let rowSum = 0;
    let rowAbs = 0;
    for (let j = 0; j < M; j++) {
      if (j !== i) {
        rowSum += matrices[row + j];
        rowAbs += Math.abs(matrices[row + j]);
      }
    }
    const main = shapley[shapleyOffset + i] - rowSum;
    matrices[row + i] = main;
    offDiagonal += rowAbs;
    diagonal += Math.abs(main);
  }
  return localScore(offDiagonal, offDiagonal + diagonal);
}
