/**
 * Bootstrap interval for the global InterSHAP score over a set of samples (SPEC.md §4).
 */
import { aggregate, globalIntershapOf, Subset, subsetIndices } from './aggregate';
import type { PerSample } from './decompose';
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

/** The interval's bounds and how many resamples had no defined score. */
export type BootstrapBounds = Omit<BootstrapInterval, 'estimate'>;

/**
 * Resamples the subset's samples with replacement `reps` times and returns the percentile interval
 * of the global InterSHAP score. Only the stored per-sample matrices are read.
 */
export function bootstrapGlobal(
  per: PerSample,
  subset?: Subset,
  options: BootstrapOptions = {}
): BootstrapInterval {
  const resampler = new BootstrapResampler(per, subset, options);
  const estimate = aggregate(per, subset).globalIntershap;
  resampler.step(Infinity);
  return { estimate, ...resampler.result() };
}

/**
 * The bootstrap of `bootstrapGlobal`, resumable: `step` runs some of the resamples and can be called
 * again later, so a caller (the web worker) can answer other requests in between. Any slicing gives
 * exactly the one-shot interval: the same generator makes the same draws in the same order.
 */
export class BootstrapResampler {
  private made = 0;
  private readonly reps: number;
  private readonly level: number;
  private readonly selected: Int32Array | Uint32Array | number[] | null;
  private readonly random: () => number;
  private readonly drawn: Int32Array;
  private readonly matrixSum: Float64Array;
  private readonly scores: number[] = [];

  constructor(
    private readonly per: PerSample,
    subset?: Subset,
    options: BootstrapOptions = {}
  ) {
    const { reps = 1000, seed = 1, level = 0.95 } = options;
    checkOptions(reps, seed, level);
    this.reps = reps;
    this.level = level;
    this.selected = subset === undefined ? null : subsetIndices(subset, per.n);
    this.random = mulberry32(seed);
    this.drawn = new Int32Array(this.count);
    this.matrixSum = new Float64Array(per.M * per.M);
  }

  /** The number of samples resampled (the subset's size, repeats included). */
  get count(): number {
    return this.selected === null ? this.per.n : this.selected.length;
  }

  /** Resamples made so far. */
  get done(): number {
    return this.made;
  }

  /** True once every resample is made; at once for an empty subset. */
  get finished(): boolean {
    return this.count === 0 || this.made >= this.reps;
  }

  /**
   * Makes resamples until about `budget` sample draws were made (at least one resample, all of
   * them for `Infinity`). Returns whether every resample is made.
   */
  step(budget: number): boolean {
    const count = this.count;
    const selected = this.selected;
    const slice = Math.max(1, Math.floor(budget / Math.max(count, 1)));
    for (let k = 0; k < slice && !this.finished; k++) {
      for (let r = 0; r < count; r++) {
        // floor(u·count) with 32-bit u: the bias is below count / 2^32, negligible for any real N.
        const pick = Math.floor(this.random() * count);
        this.drawn[r] = selected === null ? pick : selected[pick];
      }
      const score = globalIntershapOf(this.per, this.drawn, this.matrixSum);
      if (score === score) {
        this.scores.push(score);
      }
      this.made++;
    }
    return this.finished;
  }

  /** The percentile bounds (NaN when no resample had a defined score); only once finished. */
  result(): BootstrapBounds {
    if (!this.finished) {
      throw new Error(`bootstrap: ${this.done} of ${this.reps} resamples done`);
    }
    if (this.count === 0) {
      return { low: NaN, high: NaN, undefinedReps: this.reps };
    }
    const sorted = this.scores.slice().sort((x, y) => x - y);
    const tail = (1 - this.level) / 2;
    return {
      low: quantile(sorted, tail),
      high: quantile(sorted, 1 - tail),
      undefinedReps: this.reps - sorted.length
    };
  }
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

/** Throws a RangeError naming the first of `reps`, `seed` and `level` that is out of range. */
export function checkOptions(reps: number, seed: number, level: number): void {
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
