/**
 * Running sums of the per-sample results, added to while chunks are decomposed
 * (decomposeInto's `sums`), so that the aggregate of every sample so far costs O(M²) instead of a
 * pass over all of them.
 *
 * Why: while values stream in, the whole-set aggregate is refreshed after every chunk, and the
 * pass over the per-sample arrays cost more than a third of decomposing them; summing inside the
 * compiled kernel, while the numbers are still in locals, costs a small fraction of that
 * (docs/BENCHMARKS.md). Subsets (selections, cohorts, bootstrap resamples) still take the pass in
 * aggregate.ts.
 *
 * Layout, for M modalities: Σ Φ (M², row-major) | Σ φ (M) | Σ Mass_k (M) | Σ |Mass_k| (M) |
 * Σ of the defined local scores | number of defined local scores | number of samples.
 */
import { addRows, finishAggregate, sumDefinedLocals } from './aggregate';
import type { Aggregate } from './aggregate';
import type { PerSample } from './perSample';

/** Offsets of each part of the running sums for M modalities. */
export function sumsLayout(M: number) {
  const matrix = 0;
  const shapley = M * M;
  const order = shapley + M;
  const orderAbs = order + M;
  const localSum = orderAbs + M;
  return {
    matrix,
    shapley,
    order,
    orderAbs,
    localSum,
    localCount: localSum + 1,
    count: localSum + 2
  };
}

/** How many numbers the running sums for M modalities hold. */
export function sumsLength(M: number): number {
  return sumsLayout(M).count + 1;
}

/** Zeroed running sums for M modalities. */
export function allocateSums(M: number): Float64Array {
  return new Float64Array(sumsLength(M));
}

/** Adds every sample of `per` into `sums`: for the kernels that do not sum as they go. */
export function addToSums(per: PerSample, sums: Float64Array): void {
  const { M, n } = per;
  const at = sumsLayout(M);
  addRows(sums.subarray(at.matrix, at.shapley), per.matrices, null, n);
  addRows(sums.subarray(at.shapley, at.order), per.shapley, null, n);
  addRows(sums.subarray(at.order, at.orderAbs), per.orderMass, null, n);
  for (let a = 0; a < n; a++) {
    for (let k = 0; k < M; k++) {
      sums[at.orderAbs + k] += Math.abs(per.orderMass[a * M + k]);
    }
  }
  const locals = sumDefinedLocals(per.local, null, n);
  sums[at.localSum] += locals.sum;
  sums[at.localCount] += locals.count;
  sums[at.count] += n;
}

/** The aggregate of every sample added into `sums`, as aggregate() gives it over the same samples. */
export function aggregateOfSums(M: number, sums: Float64Array): Aggregate {
  const at = sumsLayout(M);
  return finishAggregate(
    M,
    sums[at.count],
    sums.slice(at.matrix, at.shapley),
    sums.slice(at.shapley, at.order),
    sums.slice(at.order, at.orderAbs),
    sums[at.localSum],
    sums[at.localCount]
  );
}

/** Mean |Mass_k| per sample over the samples added into `sums` (order k at k − 1). */
export function meanAbsoluteOrderMass(M: number, sums: Float64Array): Float64Array {
  const at = sumsLayout(M);
  const count = sums[at.count];
  return sums.slice(at.orderAbs, at.localSum).map(total => (count === 0 ? NaN : total / count));
}
