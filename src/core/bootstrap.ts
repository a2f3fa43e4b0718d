/**
 * Bootstrap interval for the global InterSHAP score over a set of samples (SPEC.md §4).
 */
import { addRows, aggregate, globalIntershapOfRows, Subset, subsetIndices } from './aggregate';
import type { PerSample } from './decompose';
import { mulberry32 } from './random';
import { describe } from './validate';

/** Up to this many samples the bootstrap resamples samples; above it, random groups of them. */
export const BOOTSTRAP_SAMPLE_LIMIT = 200_000;
/** How many random groups a larger set of samples is split into (as the numpy twin does). */
export const BOOTSTRAP_GROUPS = 20_000;
/** What summing one sample into its group costs in a resampler's budget, in draws. */
const GROUP_READ_COST = 4;

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
  /** What is resampled: the samples' matrices, or (many samples) the sums of random groups. */
  private readonly rows: Float64Array;
  private readonly units: number;
  /** The row of each unit drawn: the subset's sample indices, or null for rows 0 … units − 1. */
  private readonly unitRow: Int32Array | Uint32Array | number[] | null;
  /**
   * Many samples: their shuffled order, and how many groups are summed into `rows` so far; null
   * once every group is (or with few samples, from the start). The groups are summed in `step`,
   * within its budget, before the first resample: at 500,000 samples that is about 0.15 s of
   * scattered reads, which a caller answering requests between slices must not wait for at once.
   */
  private grouping: { order: Int32Array; summed: number } | null = null;
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
    this.matrixSum = new Float64Array(per.M * per.M);
    if (this.count > BOOTSTRAP_SAMPLE_LIMIT) {
      // Why: a million samples a thousand times is a billion draws, 90 s in the worker. The
      // score depends on the samples only through their mean matrix, and a random group's sum
      // is a sum of iid samples, so resampling the groups' sums gives the bootstrap distribution
      // of the mean to CLT accuracy in a fraction of the time (SPEC §4; decompose/over_samples.py).
      this.grouping = { order: shuffledOrder(this.selected, this.count, this.random), summed: 0 };
      this.rows = new Float64Array(BOOTSTRAP_GROUPS * per.M * per.M);
      this.units = BOOTSTRAP_GROUPS;
      this.unitRow = null;
    } else {
      this.rows = per.matrices;
      this.units = this.count;
      this.unitRow = this.selected;
    }
    this.drawn = new Int32Array(this.units);
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
    if (this.grouping !== null && !this.finished) {
      // Summing the groups reads each sample's matrix once, from anywhere in the tables: such a
      // read costs about four draws (which mostly hit the groups' sums in cache).
      const { order } = this.grouping;
      const width = this.per.M * this.per.M;
      const perGroup = GROUP_READ_COST * Math.ceil(order.length / BOOTSTRAP_GROUPS);
      const start = this.grouping.summed;
      const end = Math.min(BOOTSTRAP_GROUPS, start + Math.max(1, Math.floor(budget / perGroup)));
      addGroupSums(this.rows, this.per.matrices, width, order, start, end);
      this.grouping.summed = end;
      if (end < BOOTSTRAP_GROUPS) {
        return false;
      }
      this.grouping = null;
      // What is left of the budget goes to resamples; none are made if it would not cover one.
      budget -= (end - start) * perGroup;
      if (!(budget >= this.units)) {
        return false;
      }
    }
    const units = this.units;
    const unitRow = this.unitRow;
    const slice = Math.max(1, Math.floor(budget / Math.max(units, 1)));
    for (let k = 0; k < slice && !this.finished; k++) {
      for (let r = 0; r < units; r++) {
        // floor(u·units) with 32-bit u: the bias is below units / 2^32, negligible for any real N.
        const pick = Math.floor(this.random() * units);
        this.drawn[r] = unitRow === null ? pick : unitRow[pick];
      }
      const score = globalIntershapOfRows(this.rows, this.per.M, this.drawn, this.matrixSum);
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

/**
 * The selected samples in a seeded random order (Fisher–Yates): sample k of it joins group
 * k mod BOOTSTRAP_GROUPS, whose matrices are summed (groupSums).
 */
function shuffledOrder(
  selected: Int32Array | Uint32Array | number[] | null,
  count: number,
  random: () => number
): Int32Array {
  const order = new Int32Array(count);
  for (let k = 0; k < count; k++) {
    order[k] = selected === null ? k : selected[k];
  }
  for (let k = count - 1; k > 0; k--) {
    const j = Math.floor(random() * (k + 1));
    const swap = order[k];
    order[k] = order[j];
    order[j] = swap;
  }
  return order;
}

/**
 * Rows of `width` numbers summed over BOOTSTRAP_GROUPS groups: row order[q] joins group
 * q mod BOOTSTRAP_GROUPS. Shared with the paired bootstrap (compare.ts), which orders the rows
 * its own way so that the numpy twin forms the very same groups.
 */
export function groupSums(rows: Float64Array, width: number, order: Int32Array): Float64Array {
  const sums = new Float64Array(BOOTSTRAP_GROUPS * width);
  addGroupSums(sums, rows, width, order, 0, BOOTSTRAP_GROUPS);
  return sums;
}

/** groupSums' rows for the groups first … end − 1 only, added into `sums`. */
function addGroupSums(
  sums: Float64Array,
  rows: Float64Array,
  width: number,
  order: Int32Array,
  first: number,
  end: number
): void {
  const count = order.length;
  const members = new Int32Array(Math.ceil(count / BOOTSTRAP_GROUPS));
  for (let g = first; g < end; g++) {
    let size = 0;
    for (let k = g; k < count; k += BOOTSTRAP_GROUPS) {
      members[size++] = order[k];
    }
    addRows(sums.subarray(g * width, (g + 1) * width), rows, members, size);
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
