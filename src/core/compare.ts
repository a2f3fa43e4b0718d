/**
 * Two models on the same samples (SPEC.md §3, §4): the differences of their aggregates, other −
 * reference, and a paired bootstrap interval of those differences. The numpy twin is
 * intershap_widget/decompose/compare.py; for the same seed both draw the very same resamples.
 */
import { addRows, aggregate, matrixShares, Subset, subsetIndices } from './aggregate';
import type { Aggregate } from './aggregate';
import { BootstrapOptions, checkOptions, quantile } from './bootstrap';
import type { PerSample } from './perSample';
import { mulberry32 } from './random';

export interface PairedDelta {
  /** Number of samples compared (the subset's size, repeats included). */
  readonly n: number;
  /** Global InterSHAP of each model over the subset, and other − reference. */
  readonly globalReference: number;
  readonly globalOther: number;
  readonly globalDelta: number;
  /** Φ̄_other − Φ̄_reference, M × M row-major. */
  readonly matrixDelta: Float64Array;
  /** Contributions of the other model minus the reference's, M. */
  readonly contributionDelta: Float64Array;
}

export interface PairedBounds {
  /** Percentile bounds of globalDelta. */
  readonly globalLow: number;
  readonly globalHigh: number;
  /** Bounds of each contributionDelta entry, M. */
  readonly contributionLow: Float64Array;
  readonly contributionHigh: Float64Array;
  /** Bounds of each matrixDelta entry, M × M row-major. */
  readonly matrixLow: Float64Array;
  readonly matrixHigh: Float64Array;
  /** Resamples left out because either model's global score was undefined (Σ|Φ̄| = 0). */
  readonly undefinedReps: number;
}

/** The differences other − reference of the two models' aggregates over `subset`. */
export function pairedDelta(reference: PerSample, other: PerSample, subset?: Subset): PairedDelta {
  checkPair(reference, other);
  return aggregateDelta(aggregate(reference, subset), aggregate(other, subset));
}

/**
 * The differences other − reference of two aggregates over the same samples: a caller that
 * compares several models with one reference aggregates the reference once.
 */
export function aggregateDelta(ref: Aggregate, oth: Aggregate): PairedDelta {
  return {
    n: ref.n,
    globalReference: ref.globalIntershap,
    globalOther: oth.globalIntershap,
    globalDelta: oth.globalIntershap - ref.globalIntershap,
    matrixDelta: difference(oth.meanMatrix, ref.meanMatrix),
    contributionDelta: difference(oth.contributions, ref.contributions)
  };
}

/** Local score of `other` minus `reference`'s, per sample in subset order (NaN if either is). */
export function localDeltas(reference: PerSample, other: PerSample, subset?: Subset): Float64Array {
  checkPair(reference, other);
  const selected = subset === undefined ? null : subsetIndices(subset, reference.n);
  const count = selected === null ? reference.n : selected.length;
  const out = new Float64Array(count);
  for (let r = 0; r < count; r++) {
    const a = selected === null ? r : selected[r];
    out[r] = other.local[a] - reference.local[a];
  }
  return out;
}

/** The paired bootstrap run to the end in one go. */
export function pairedBootstrap(
  reference: PerSample,
  other: PerSample,
  subset?: Subset,
  options: BootstrapOptions = {}
): PairedBounds {
  const resampler = new PairedBootstrapResampler(reference, other, subset, options);
  resampler.step(Infinity);
  return resampler.result();
}

/**
 * Percentile bootstrap of the differences, resumable as BootstrapResampler is. Each resample's
 * draws serve both models: what the two share (how hard each sample is) then cancels out of the
 * differences, which an independent resample per model would count as noise. Resample k draws,
 * at position r, subset[floor(u · count)] with u the output k · count + r of mulberry32(seed): the
 * numpy twin computes those outputs directly, so both sides draw the same samples.
 */
export class PairedBootstrapResampler {
  private made = 0;
  private defined = 0;
  private readonly reps: number;
  private readonly level: number;
  private readonly selected: Int32Array | Uint32Array | number[] | null;
  private readonly random: () => number;
  private readonly drawn: Int32Array;
  private readonly meanReference: Float64Array;
  private readonly meanOther: Float64Array;
  /**
   * The differences of the defined resamples, quantity-major so each quantity sorts in place:
   * quantity q of defined resample k at q · reps + k; q = 0 global, 1 … M contributions, then
   * the M² matrix entries.
   */
  private readonly values: Float64Array;

  constructor(
    private readonly reference: PerSample,
    private readonly other: PerSample,
    subset?: Subset,
    options: BootstrapOptions = {}
  ) {
    checkPair(reference, other);
    const { reps = 1000, seed = 0, level = 0.95 } = options;
    checkOptions(reps, seed, level);
    const M = reference.M;
    this.reps = reps;
    this.level = level;
    this.selected = subset === undefined ? null : subsetIndices(subset, reference.n);
    this.random = mulberry32(seed);
    this.drawn = new Int32Array(this.count);
    this.meanReference = new Float64Array(M * M);
    this.meanOther = new Float64Array(M * M);
    this.values = new Float64Array(this.count === 0 ? 0 : quantities(M) * reps);
  }

  /** The number of samples resampled (the subset's size, repeats included). */
  get count(): number {
    return this.selected === null ? this.reference.n : this.selected.length;
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
    const slice = Math.max(1, Math.floor(budget / Math.max(this.count, 1)));
    for (let k = 0; k < slice && !this.finished; k++) {
      this.draw();
      this.record();
      this.made++;
    }
    return this.finished;
  }

  /** The percentile bounds (NaN if no resample is defined or the subset is empty). */
  result(): PairedBounds {
    if (!this.finished) {
      throw new Error(`paired bootstrap: ${this.done} of ${this.reps} resamples done`);
    }
    const M = this.reference.M;
    const low = new Float64Array(quantities(M));
    const high = new Float64Array(quantities(M));
    const tail = (1 - this.level) / 2;
    for (let q = 0; q < low.length; q++) {
      const start = q * this.reps;
      const sorted = this.values.slice(start, start + this.defined).sort();
      low[q] = quantile(sorted, tail);
      high[q] = quantile(sorted, 1 - tail);
    }
    return {
      globalLow: low[0],
      globalHigh: high[0],
      contributionLow: low.slice(1, 1 + M),
      contributionHigh: high.slice(1, 1 + M),
      matrixLow: low.slice(1 + M),
      matrixHigh: high.slice(1 + M),
      undefinedReps: this.reps - this.defined
    };
  }

  private draw(): void {
    const count = this.count;
    const selected = this.selected;
    for (let r = 0; r < count; r++) {
      // The same expression as the numpy twin's floor(u · count), on the same u: the same pick.
      const pick = Math.floor(this.random() * count);
      this.drawn[r] = selected === null ? pick : selected[pick];
    }
  }

  /** Stores the drawn resample's differences, unless either model's global score is undefined. */
  private record(): void {
    const M = this.reference.M;
    meanOf(this.meanReference, this.reference.matrices, this.drawn);
    meanOf(this.meanOther, this.other.matrices, this.drawn);
    const ref = matrixShares(this.meanReference, M);
    const oth = matrixShares(this.meanOther, M);
    if (ref.interaction !== ref.interaction || oth.interaction !== oth.interaction) {
      return;
    }
    const k = this.defined++;
    const reps = this.reps;
    this.values[k] = oth.interaction - ref.interaction;
    for (let i = 0; i < M; i++) {
      this.values[(1 + i) * reps + k] = oth.contributions[i] - ref.contributions[i];
    }
    for (let j = 0; j < M * M; j++) {
      this.values[(1 + M + j) * reps + k] = this.meanOther[j] - this.meanReference[j];
    }
  }
}

/** Global, contributions, matrix entries: the number of differences bootstrapped. */
function quantities(M: number): number {
  return 1 + M + M * M;
}

/**
 * The signed mean matrix of the drawn samples. Divided rather than scaled by 1/count, as numpy
 * does, so that the matrix differences of the two sides round alike.
 */
function meanOf(mean: Float64Array, matrices: Float64Array, drawn: Int32Array): void {
  const count = drawn.length;
  mean.fill(0);
  addRows(mean, matrices, drawn, count);
  for (let j = 0; j < mean.length; j++) {
    mean[j] /= count;
  }
}

function difference(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length);
  for (let k = 0; k < a.length; k++) {
    out[k] = a[k] - b[k];
  }
  return out;
}

function checkPair(reference: PerSample, other: PerSample): void {
  if (other.n !== reference.n || other.M !== reference.M) {
    throw new RangeError(
      `other: expected the same ${reference.n} samples and M = ${reference.M} as the ` +
        `reference, got ${other.n} samples and M = ${other.M}`
    );
  }
}
