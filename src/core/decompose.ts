/**
 * Per-sample InterSHAP decomposition of a batch of value tables (SPEC.md §2 and §4).
 */
import { compiledKernel, MAX_REGISTER_M } from './compiled';
import { addToSums, sumsLength } from './sums';
import { decomposeInArena } from './tables';
import { genericKernel } from './kernels';
import { allocatePerSample, slicePerSample } from './perSample';
import type { PerSample } from './perSample';
import { checkModalityCount, checkValueTable, throwNonFinite } from './validate';

// The per-sample arrays live in the leaf module perSample.ts; they stay importable from here.
export { allocatePerSample } from './perSample';
export type { PerSample } from './perSample';

/**
 * Decomposes every sample of a flat value table (N × 2^M, bitmask order).
 * The input is only read and never copied. The compiled kernel (compiled.ts) is used where it
 * exists, else the table-driven one (kernels.ts).
 */
export function decomposeAll(values: Float64Array, M: number): PerSample {
  checkModalityCount(M);
  const out = allocatePerSample(M, checkValueTable(values, M));
  decomposeInto(values, M, out, 0);
  return out;
}

/**
 * Decomposes the tables in `values` into `out` from sample `start` on, writing in place: the
 * worker keeps one set of arrays per model and fills it chunk by chunk, so nothing is allocated
 * or copied per chunk. When `sums` (sums.ts) is given, the chunk's samples are added into it, so
 * the aggregate of every sample so far needs no pass over them. Returns the number of samples
 * written. On a table with NaN or ±Infinity it throws; the samples before that table have been
 * written (they are valid), none after it, and nothing is added into `sums`.
 */
export function decomposeInto(
  values: Float64Array,
  M: number,
  out: PerSample,
  start: number,
  sums?: Float64Array
): number {
  checkModalityCount(M);
  const n = checkValueTable(values, M);
  if (out.M !== M || !Number.isInteger(start) || start < 0 || start + n > out.n) {
    throw new Error(
      `out: expected room for ${n} samples of M = ${M} from sample ${start}, got ${out.n} samples of M = ${out.M}`
    );
  }
  if (sums !== undefined && sums.length !== sumsLength(M)) {
    throw new Error(
      `sums: expected running sums for M = ${M} (${sumsLength(M)} numbers), got ${sums.length}`
    );
  }
  const part = slicePerSample(out, start, n);
  if (!decomposeInArena(values, M, part, sums)) {
    decomposeWithJavaScript(values, M, part, sums);
  }
  return n;
}

/**
 * Decomposes `values` into `part` with the compiled kernel (or the generic one where compiling is
 * forbidden), adding the samples into `sums` when given. Throws on a non-finite table; then
 * nothing is added into `sums`.
 */
function decomposeWithJavaScript(
  values: Float64Array,
  M: number,
  part: PerSample,
  sums: Float64Array | undefined
): void {
  const compiled = compiledKernel(M);
  const kernel = compiled ?? genericKernel(M);
  // Only the register kernels sum as they go; the others are summed after they succeed.
  const sumsInside = compiled !== null && M <= MAX_REGISTER_M;
  const { shapley, matrices, local, orderMass } = part;
  const bad = kernel(
    values,
    part.n,
    shapley,
    matrices,
    local,
    orderMass,
    sumsInside ? (sums ?? null) : null
  );
  if (bad >= 0) {
    throwNonFinite(values, bad, 2 ** M);
  }
  if (sums !== undefined && !sumsInside) {
    addToSums(part, sums);
  }
}
