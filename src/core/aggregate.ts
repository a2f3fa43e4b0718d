/**
 * Aggregates over any set of samples (SPEC.md §3), read from the per-sample results: cohorts and
 * brushed selections re-aggregate without decomposing again.
 */
import type { PerSample } from './perSample';
import { describe } from './validate';
import { localScore, share } from './weights';

/**
 * Which samples to aggregate: indices (repeats count again, as in a bootstrap resample), or a
 * Uint8Array mask of length N (non-zero = selected). Undefined selects every sample.
 */
export type Subset = Int32Array | Uint32Array | number[] | Uint8Array;

export interface Aggregate {
  /** Number of samples aggregated (with repeats). */
  readonly n: number;
  /** Signed mean matrix Φ̄, M × M row-major. */
  readonly meanMatrix: Float64Array;
  /** Σ_{i≠j}|Φ̄_ij| / Σ|Φ̄_ij|; NaN when the denominator is 0 or n = 0. */
  readonly globalIntershap: number;
  /** Mean of the defined local scores; NaN when none is defined. */
  readonly localMean: number;
  /** Samples whose local score is undefined (Σ|Φ^a| = 0). */
  readonly nUndefined: number;
  /** |Φ̄_ii| / Σ|Φ̄|, M; with globalIntershap they sum to 1. */
  readonly contributions: Float64Array;
  /** The share of interactions: the same number as globalIntershap, under the paper's name. */
  readonly interactionShare: number;
  /** Mean order masses, M (order k at k − 1). */
  readonly orderMass: Float64Array;
  /** Mean Shapley values, M. */
  readonly meanShapley: Float64Array;
}

/** Aggregates `per` over `subset` (all samples when undefined). An empty subset gives n = 0 and NaNs. */
export function aggregate(per: PerSample, subset?: Subset): Aggregate {
  return aggregateWithOrderSize(per, subset, false).aggregate;
}

/**
 * The aggregate, and (when `withOrderSize`) the mean |Mass_k| per sample over the same samples
 * (order k at k − 1; NaN for an empty subset), as the global view shows them side by side.
 *
 * A subset of indices takes one pass over them (selectedSums), reading each selected sample's
 * rows once for every field; the numbers are those of a pass per field, to the last bit, since
 * each sum adds the same numbers in the same order.
 */
export function aggregateWithOrderSize(
  per: PerSample,
  subset: Subset | undefined,
  withOrderSize = true
): { aggregate: Aggregate; orderMassAbs: Float64Array | null } {
  const indices = subset === undefined ? null : subsetIndices(subset, per.n);
  const count = indices === null ? per.n : indices.length;
  const { M } = per;
  const matrixSum = new Float64Array(M * M);
  const shapleySum = new Float64Array(M);
  const orderSum = new Float64Array(M);
  const orderAbsSum = withOrderSize ? new Float64Array(M) : null;
  let locals: { sum: number; count: number };
  if (indices === null) {
    addRows(matrixSum, per.matrices, null, count);
    addRows(shapleySum, per.shapley, null, count);
    addRows(orderSum, per.orderMass, null, count);
    if (orderAbsSum) {
      addAbsoluteRows(orderAbsSum, per.orderMass, null, count);
    }
    locals = sumDefinedLocals(per.local, null, count);
  } else {
    locals = selectedSums(per, indices, matrixSum, shapleySum, orderSum, orderAbsSum);
  }
  return {
    aggregate: finishAggregate(M, count, matrixSum, shapleySum, orderSum, locals.sum, locals.count),
    orderMassAbs: orderAbsSum && orderAbsSum.map(total => (count === 0 ? NaN : total / count))
  };
}

/**
 * sum[k] += |rows[row_r · width + k]| over the first `count` selected rows (row_r = r when
 * `selected` is null), one row after another.
 */
export function addAbsoluteRows(
  sum: Float64Array,
  rows: Float64Array,
  selected: ArrayLike<number> | null,
  count: number
): void {
  const width = sum.length;
  for (let r = 0; r < count; r++) {
    const offset = (selected === null ? r : selected[r]) * width;
    for (let k = 0; k < width; k++) {
      sum[k] += Math.abs(rows[offset + k]);
    }
  }
}

/**
 * Every sum of an aggregate over the listed samples in one pass over the indices: what addRows
 * (matrices, Shapley values, order masses: four rows per step), addAbsoluteRows (|order masses|)
 * and sumDefinedLocals give, with every addition in the same order, so the sums are theirs to the
 * last bit. One pass reads each sample's rows while they are in cache, instead of one pass per
 * field (at 500,000 selected samples of M = 4: about 27 ms instead of 45 ms in Node).
 */
function selectedSums(
  per: PerSample,
  indices: ArrayLike<number>,
  matrixSum: Float64Array,
  shapleySum: Float64Array,
  orderSum: Float64Array,
  orderAbsSum: Float64Array | null
): { sum: number; count: number } {
  const { M, matrices, shapley, orderMass, local } = per;
  const MM = M * M;
  const count = indices.length;
  let localSum = 0;
  let localCount = 0;
  let r = 0;
  for (; r + 4 <= count; r += 4) {
    const i0 = indices[r];
    const i1 = indices[r + 1];
    const i2 = indices[r + 2];
    const i3 = indices[r + 3];
    let o0 = i0 * MM;
    let o1 = i1 * MM;
    let o2 = i2 * MM;
    let o3 = i3 * MM;
    for (let j = 0; j < MM; j++) {
      matrixSum[j] += matrices[o0 + j] + matrices[o1 + j] + (matrices[o2 + j] + matrices[o3 + j]);
    }
    o0 = i0 * M;
    o1 = i1 * M;
    o2 = i2 * M;
    o3 = i3 * M;
    for (let j = 0; j < M; j++) {
      shapleySum[j] += shapley[o0 + j] + shapley[o1 + j] + (shapley[o2 + j] + shapley[o3 + j]);
      const m0 = orderMass[o0 + j];
      const m1 = orderMass[o1 + j];
      const m2 = orderMass[o2 + j];
      const m3 = orderMass[o3 + j];
      orderSum[j] += m0 + m1 + (m2 + m3);
      if (orderAbsSum !== null) {
        // One row after another, as addAbsoluteRows adds them.
        orderAbsSum[j] = orderAbsSum[j] + Math.abs(m0) + Math.abs(m1) + Math.abs(m2) + Math.abs(m3);
      }
    }
    // NaN marks an undefined local score; it is left out of the mean and counted instead.
    const l0 = local[i0];
    const l1 = local[i1];
    const l2 = local[i2];
    const l3 = local[i3];
    if (l0 === l0) {
      localSum += l0;
      localCount++;
    }
    if (l1 === l1) {
      localSum += l1;
      localCount++;
    }
    if (l2 === l2) {
      localSum += l2;
      localCount++;
    }
    if (l3 === l3) {
      localSum += l3;
      localCount++;
    }
  }
  for (; r < count; r++) {
    const i = indices[r];
    const om = i * MM;
    for (let j = 0; j < MM; j++) {
      matrixSum[j] += matrices[om + j];
    }
    const o = i * M;
    for (let j = 0; j < M; j++) {
      shapleySum[j] += shapley[o + j];
      orderSum[j] += orderMass[o + j];
      if (orderAbsSum !== null) {
        orderAbsSum[j] += Math.abs(orderMass[o + j]);
      }
    }
    const l = local[i];
    if (l === l) {
      localSum += l;
      localCount++;
    }
  }
  return { sum: localSum, count: localCount };
}

/** The sum and number of the defined local scores among the first `count` selected samples. */
export function sumDefinedLocals(
  local: Float64Array,
  indices: ArrayLike<number> | null,
  count: number
): { sum: number; count: number } {
  let sum = 0;
  let defined = 0;
  for (let r = 0; r < count; r++) {
    const score = local[indices === null ? r : indices[r]];
    // NaN marks an undefined local score; it is left out of the mean and counted instead.
    if (score === score) {
      sum += score;
      defined++;
    }
  }
  return { sum, count: defined };
}

/**
 * The aggregate from sums over `count` samples (scaled in place into means): shared by the pass
 * above and by the running sums of sums.ts, so both give the same fields the same way.
 */
export function finishAggregate(
  M: number,
  count: number,
  matrixSum: Float64Array,
  shapleySum: Float64Array,
  orderSum: Float64Array,
  localSum: number,
  localCount: number
): Aggregate {
  scale(matrixSum, 1 / count);
  scale(shapleySum, 1 / count);
  scale(orderSum, 1 / count);
  const shares = matrixShares(matrixSum, M);
  return {
    n: count,
    meanMatrix: matrixSum,
    globalIntershap: shares.interaction,
    localMean: localCount === 0 ? NaN : localSum / localCount,
    nUndefined: count - localCount,
    contributions: shares.contributions,
    interactionShare: shares.interaction,
    orderMass: orderSum,
    meanShapley: shapleySum
  };
}

/**
 * Global InterSHAP of a mean matrix: Σ_{i≠j}|Φ̄_ij| / Σ|Φ̄_ij| (NaN when Σ|Φ̄| is 0 or not a number),
 * and each modality's main-effect share |Φ̄_ii| / Σ|Φ̄|.
 */
export function matrixShares(
  meanMatrix: Float64Array,
  M: number
): { interaction: number; contributions: Float64Array } {
  let total = 0;
  let diagonal = 0;
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < M; j++) {
      total += Math.abs(meanMatrix[i * M + j]);
    }
    diagonal += Math.abs(meanMatrix[i * M + i]);
  }
  const contributions = new Float64Array(M);
  for (let i = 0; i < M; i++) {
    contributions[i] = share(Math.abs(meanMatrix[i * M + i]), total);
  }
  // The local score's formula, over the mean matrix (SPEC §3).
  const interaction = localScore(total - diagonal, total);
  return { interaction, contributions };
}

/** Global InterSHAP of the samples listed in `indices` only; the bootstrap's inner loop. */
export function globalIntershapOf(
  per: PerSample,
  indices: Int32Array,
  matrixSum: Float64Array
): number {
  return globalIntershapOfRows(per.matrices, per.M, indices, matrixSum);
}

/** The same over any rows of M × M matrices (samples, or the bootstrap's groups of samples). */
export function globalIntershapOfRows(
  rows: Float64Array,
  M: number,
  indices: Int32Array,
  matrixSum: Float64Array
): number {
  matrixSum.fill(0);
  addRows(matrixSum, rows, indices, indices.length);
  // Scaling by 1/n cancels in the ratio, so the sums are used as they are.
  return matrixShares(matrixSum, M).interaction;
}

/** The selected sample indices, validated; a mask becomes the list of its selected positions. */
export function subsetIndices(subset: Subset, n: number): Int32Array | Uint32Array | number[] {
  if (subset instanceof Uint8Array) {
    return maskIndices(subset, n);
  }
  if (!(subset instanceof Int32Array || subset instanceof Uint32Array || Array.isArray(subset))) {
    throw new TypeError(
      `subset: expected sample indices (Int32Array, Uint32Array or number[]) or a Uint8Array ` +
        `mask, got ${describe(subset)}`
    );
  }
  for (let r = 0; r < subset.length; r++) {
    const a = subset[r];
    if (!Number.isInteger(a) || a < 0 || a >= n) {
      throw new RangeError(
        `subset: expected sample indices from 0 to ${n - 1}, got ${describe(a)} at position ${r}`
      );
    }
  }
  return subset;
}

function maskIndices(mask: Uint8Array, n: number): Int32Array {
  if (mask.length !== n) {
    throw new RangeError(
      `subset: expected a Uint8Array mask of length N = ${n}, got length ${mask.length}`
    );
  }
  let count = 0;
  for (let a = 0; a < n; a++) {
    count += mask[a] === 0 ? 0 : 1;
  }
  const indices = new Int32Array(count);
  for (let a = 0, r = 0; a < n; a++) {
    if (mask[a] !== 0) {
      indices[r++] = a;
    }
  }
  return indices;
}

/**
 * sum[j] += Σ_r rows[row_r · width + j] over the first `count` selected rows (row_r = r when
 * `selected` is null), width = sum.length.
 */
export function addRows(
  sum: Float64Array,
  rows: Float64Array,
  selected: ArrayLike<number> | null,
  count: number
): void {
  if (selected === null) {
    addLeadingRows(sum, rows, count);
  } else {
    addSelectedRows(sum, rows, selected, count);
  }
}

/**
 * The rows 0 … count − 1, eight per step: each sum[j] is then read and written an eighth as
 * often, and no index is looked up; faster than the four-row loop below, which serves subsets
 * (docs/BENCHMARKS.md).
 */
function addLeadingRows(sum: Float64Array, rows: Float64Array, count: number): void {
  const width = sum.length;
  let r = 0;
  for (; r + 8 <= count; r += 8) {
    const o = r * width;
    for (let j = 0; j < width; j++) {
      const k = o + j;
      sum[j] +=
        rows[k] +
        rows[k + width] +
        (rows[k + 2 * width] + rows[k + 3 * width]) +
        (rows[k + 4 * width] + rows[k + 5 * width] + (rows[k + 6 * width] + rows[k + 7 * width]));
    }
  }
  for (; r < count; r++) {
    const o = r * width;
    for (let j = 0; j < width; j++) {
      sum[j] += rows[o + j];
    }
  }
}

/**
 * Four selected rows per step: each sum[j] is then read and written a quarter as often, which
 * beats one row per step (docs/BENCHMARKS.md).
 */
function addSelectedRows(
  sum: Float64Array,
  rows: Float64Array,
  selected: ArrayLike<number>,
  count: number
): void {
  const width = sum.length;
  let r = 0;
  for (; r + 4 <= count; r += 4) {
    const o0 = selected[r] * width;
    const o1 = selected[r + 1] * width;
    const o2 = selected[r + 2] * width;
    const o3 = selected[r + 3] * width;
    for (let j = 0; j < width; j++) {
      sum[j] += rows[o0 + j] + rows[o1 + j] + (rows[o2 + j] + rows[o3 + j]);
    }
  }
  for (; r < count; r++) {
    const o = selected[r] * width;
    for (let j = 0; j < width; j++) {
      sum[j] += rows[o + j];
    }
  }
}

function scale(buffer: Float64Array, factor: number): void {
  for (let k = 0; k < buffer.length; k++) {
    buffer[k] *= factor;
  }
}
