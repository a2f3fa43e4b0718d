/**
 * Bootstrap interval for the global InterSHAP score over a set of samples (SPEC.md §4).
 */
import { aggregate, globalIntershapOf, Subset, subsetIndices } from './aggregate';
import { PerSample } from './decompose';
import { mulberry32 } from './random';
import { describe } from './validate';

export interface BootstrapOptions {
  /** Number of resamples; default 1000. */
  reps?: number;
  /** 32-bit seed; default 1. The same seed gives the same interval. */
  seed?: number;
  /** Coverage of the two-sided percentile interval; default 0.95. */
  level?: number;
}

export interface BootstrapInterval {
  /** Global InterSHAP of the subset itself. */
  readonly estimate: number;
  /** Percentile bounds over the resamples (NaN when no resample has a defined score). */
  readonly low: number;
  readonly high: number;
  /** Resamples whose score was undefined (Σ|Φ̄| = 0); they are left out of the percentiles. */
  readonly undefinedReps: number;
}

/**
 * Resamples the subset's samples with replacement `reps` times and returns the percentile interval
 * of the global InterSHAP score. Only the stored per-sample matrices are read.
 */
export function bootstrapGlobal(
  per: PerSample,
  subset?: Subset,
  options: BootstrapOptions = {}
): BootstrapInterval {
  const { reps = 1000, seed = 1, level = 0.95 } = options;
  checkOptions(reps, seed, level);
  const selected = subset === undefined ? null : subsetIndices(subset, per.n);
  const count = selected === null ? per.n : selected.length;
  const estimate = aggregate(per, subset).globalIntershap;
  if (count === 0) {
    return { estimate, low: NaN, high: NaN, undefinedReps: reps };
  }
  const random = mulberry32(seed);
  const drawn = new Int32Array(count);
  const matrixSum = new Float64Array(per.M * per.M);
  const scores: number[] = [];
  for (let rep = 0; rep < reps; rep++) {
    for (let r = 0; r < count; r++) {
      // floor(u·count) with 32-bit u: the bias is below count / 2^32, negligible for any real N.
      const pick = Math.floor(random() * count);
      drawn[r] = selected === null ? pick : selected[pick];
    }
    const score = globalIntershapOf(per, drawn, matrixSum);
    if (score === score) {
      scores.push(score);
    }
  }
  scores.sort((x, y) => x - y);
  const tail = (1 - level) / 2;
  return {
    estimate,
    low: quantile(scores, tail),
    high: quantile(scores, 1 - tail),
    undefinedReps: reps - scores.length
  };
}

/** Linear-interpolation quantile of sorted data (Hyndman & Fan type 7, numpy's default). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) {
    return NaN;
  }
  const position = q * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
}

function checkOptions(reps: number, seed: number, level: number): void {
  if (!Number.isInteger(reps) || reps < 1) {
    throw new RangeError(`options.reps: expected a positive integer, got ${describe(reps)}`);
  }
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError(
      `options.seed: expected an integer from 0 to 2^32 − 1, got ${describe(seed)}`
    );
  }
  if (typeof level !== 'number' || !(level > 0 && level < 1)) {
    throw new RangeError(
      `options.level: expected a number between 0 and 1, got ${describe(level)}`
    );
  }
}
