/**
 * Per-sample InterSHAP decomposition of a batch of value tables (SPEC.md §2 and §4).
 */
import { compiledKernel } from './compiled';
import { genericKernel } from './kernels';
import { checkModalityCount, checkValueTable, throwNonFinite } from './validate';

/** Everything computed per sample, as flat typed arrays (sample-major). */
export interface PerSample {
  /** Number of modalities. */
  readonly M: number;
  /** Number of samples N. */
  readonly n: number;
  /** φ, N × M. */
  readonly shapley: Float64Array;
  /** Φ, N × M × M, each matrix row-major; off-diagonal = SII/2, diagonal = main effect. */
  readonly matrices: Float64Array;
  /** Local score I_a, N; NaN where undefined (Σ|Φ| = 0). */
  readonly local: Float64Array;
  /** Mass_k = Σ_{|T|=k} m(T), N × M; column k−1 holds order k. */
  readonly orderMass: Float64Array;
}

/**
 * Decomposes every sample of a flat value table (N × 2^M, bitmask order).
 * The input is only read and never copied. The compiled kernel (compiled.ts) is used where it
 * exists, else the table-driven one (kernels.ts).
 */
export function decomposeAll(values: Float64Array, M: number): PerSample {
  checkModalityCount(M);
  const n = checkValueTable(values, M);
  const out: PerSample = {
    M,
    n,
    shapley: new Float64Array(n * M),
    matrices: new Float64Array(n * M * M),
    local: new Float64Array(n),
    orderMass: new Float64Array(n * M)
  };
  const kernel = compiledKernel(M) ?? genericKernel(M);
  const bad = kernel(values, n, out.shapley, out.matrices, out.local, out.orderMass);
  if (bad >= 0) {
    throwNonFinite(values, bad, 2 ** M);
  }
  return out;
}
