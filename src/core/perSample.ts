/**
 * The per-sample results of a decomposition as flat typed arrays (sample-major), their allocator
 * and their slicer. A leaf module: the kernels, the tables, the sums and the aggregates all read
 * and write these arrays, and decompose.ts, which drives them, sits above every one of them.
 */

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

/** Zeroed output arrays for n samples of M modalities. */
export function allocatePerSample(M: number, n: number): PerSample {
  return {
    M,
    n,
    shapley: new Float64Array(n * M),
    matrices: new Float64Array(n * M * M),
    local: new Float64Array(n),
    orderMass: new Float64Array(n * M)
  };
}

/** Views (no copies) of samples start … start + n − 1 of `out`. */
export function slicePerSample(out: PerSample, start: number, n: number): PerSample {
  const M = out.M;
  return {
    M,
    n,
    shapley: out.shapley.subarray(start * M, (start + n) * M),
    matrices: out.matrices.subarray(start * M * M, (start + n) * M * M),
    local: out.local.subarray(start, start + n),
    orderMass: out.orderMass.subarray(start * M, (start + n) * M)
  };
}
