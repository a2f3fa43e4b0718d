/**
 * Two models on the same samples (SPEC.md §3, §4): the differences of their aggregates, other −
 * reference, and a paired bootstrap interval of those differences. The numpy twin is
 * intershap_widget/decompose/compare.py; for the same seed both draw the very same resamples, of
 * samples or (above BOOTSTRAP_SAMPLE_LIMIT samples) of the very same random groups of samples.
 */
import { addRows, aggregate, matrixShares, Subset, subsetIndices } from './aggregate';
import type { Aggregate } from './aggregate';
import {
  BOOTSTRAP_GROUPS,
  BOOTSTRAP_SAMPLE_LIMIT,
  BootstrapOptions,
  checkOptions,
  groupSums,
  quantile
} from './bootstrap';
import type { PerSample } from './perSample';
import { mulberry32 } from './random';

export interface PairedBootstrapOptions extends BootstrapOptions {
  /**
   * Above this many samples the resamples draw random groups of samples (SPEC.md §4); default
   * BOOTSTRAP_SAMPLE_LIMIT. Benchmarks and tests pass Infinity to time or check the sample-level
   * bootstrap at any size.
   */
  sampleLimit?: number;
}

type Indices = Int32Array | Uint32Array | number[];

/**
 * What a paired resample draws from: the samples or, above the sample limit, random groups of
 * them; the same units, in the same order, for both models.
 */
interface PairedUnits {
  /** The number of units; each resample draws this many. */
  readonly count: number;
  /** The row of each unit in the rows below; null when unit k is row k. */
  readonly row: Indices | null;
  /** Each model's rows: the samples' matrices, or the groups' sums, M × M each. */
  readonly reference: Float64Array;
  readonly other: Float64Array;
  /** Samples in each unit; null when each unit is one sample. */
  readonly size: Int32Array | null;
}

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
  options: PairedBootstrapOptions = {}
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
 * numpy twin computes those outputs directly, so both sides draw the same samples. Above
 * BOOTSTRAP_SAMPLE_LIMIT samples the units drawn are BOOTSTRAP_GROUPS random groups of samples
 * instead (see `pairedUnits`), the same groups for both models.
 */
export class PairedBootstrapResampler {
  private made = 0;
  private defined = 0;
  private readonly reps: number;
  private readonly level: number;
  private readonly selected: Indices | null;
  private readonly random: () => number;
  private readonly units: PairedUnits;
  private readonly drawn: Int32Array;
  /** The number of samples in the units of the resample drawn last. */
  private drawnSamples = 0;
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
    other: PerSample,
    subset?: Subset,
    options: PairedBootstrapOptions = {}
  ) {
    checkPair(reference, other);
    const { reps = 1000, seed = 0, level = 0.95, sampleLimit = BOOTSTRAP_SAMPLE_LIMIT } = options;
    checkOptions(reps, seed, level);
    const M = reference.M;
    this.reps = reps;
    this.level = level;
    this.selected = subset === undefined ? null : subsetIndices(subset, reference.n);
    this.random = mulberry32(seed);
    this.units = pairedUnits(
      reference,
      other,
      this.selected,
      this.count > sampleLimit,
      this.random
    );
    this.drawn = new Int32Array(this.units.count);
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
    const slice = Math.max(1, Math.floor(budget / Math.max(this.units.count, 1)));
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
    const { count, row, size } = this.units;
    let samples = 0;
    for (let r = 0; r < count; r++) {
      // The same expression as the numpy twin's floor(u · count), on the same u: the same pick.
      const pick = Math.floor(this.random() * count);
      this.drawn[r] = row === null ? pick : row[pick];
      samples += size === null ? 1 : size[pick];
    }
    this.drawnSamples = samples;
  }

  /** Stores the drawn resample's differences, unless either model's global score is undefined. */
  private record(): void {
    const M = this.reference.M;
    meanOf(this.meanReference, this.units.reference, this.drawn, this.drawnSamples);
    meanOf(this.meanOther, this.units.other, this.drawn, this.drawnSamples);
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
 * The units to resample (SPEC.md §4). Grouped: mulberry32's first `count` outputs order the
 * samples (`keyOrder`), sample order[q] joins group q mod BOOTSTRAP_GROUPS, and each model's
 * matrices are summed over those groups, the reason being the single-model bootstrap's
 * (bootstrap.ts): a million samples a thousand times is a billion draws, and every difference
 * depends on a resample only through the two mean matrices.
 */
function pairedUnits(
  reference: PerSample,
  other: PerSample,
  selected: Indices | null,
  grouped: boolean,
  random: () => number
): PairedUnits {
  const count = selected === null ? reference.n : selected.length;
  if (!grouped) {
    return {
      count,
      row: selected,
      reference: reference.matrices,
      other: other.matrices,
      size: null
    };
  }
  const order = keyOrder(count, random);
  if (selected !== null) {
    for (let q = 0; q < count; q++) {
      order[q] = selected[order[q]];
    }
  }
  const width = reference.M * reference.M;
  return {
    count: BOOTSTRAP_GROUPS,
    row: null,
    reference: groupSums(reference.matrices, width, order),
    other: groupSums(other.matrices, width, order),
    size: Int32Array.from({ length: BOOTSTRAP_GROUPS }, (_, g) =>
      Math.ceil((count - g) / BOOTSTRAP_GROUPS)
    )
  };
}

/**
 * Positions 0 … count − 1 sorted by the next `count` outputs of `random`, ties in position order:
 * what the numpy twin's stable argsort of the same outputs gives (a Fisher–Yates shuffle, as the
 * single-model bootstrap makes, would take a Python loop there). A stable least-significant-
 * digit radix sort of the outputs' 32 bits, 16 bits a pass: linear, unlike a comparison sort.
 */
function keyOrder(count: number, random: () => number): Int32Array {
  const keys = new Uint32Array(count);
  let from = new Int32Array(count);
  for (let k = 0; k < count; k++) {
    keys[k] = random() * 4294967296; // exact: the outputs are multiples of 2^-32
    from[k] = k;
  }
  let to = new Int32Array(count);
  for (const shift of [0, 16]) {
    const starts = new Int32Array(0x10001);
    for (let k = 0; k < count; k++) {
      starts[((keys[k] >>> shift) & 0xffff) + 1]++;
    }
    for (let b = 1; b <= 0xffff; b++) {
      starts[b] += starts[b - 1];
    }
    for (let k = 0; k < count; k++) {
      const position = from[k];
      to[starts[(keys[position] >>> shift) & 0xffff]++] = position;
    }
    [from, to] = [to, from];
  }
  return from;
}

/**
 * The signed mean matrix of the drawn rows, which hold `samples` samples together. Divided rather
 * than scaled by 1/samples, as numpy does, so that the matrix differences of the two sides round
 * alike.
 */
function meanOf(mean: Float64Array, rows: Float64Array, drawn: Int32Array, samples: number): void {
  mean.fill(0);
  addRows(mean, rows, drawn, drawn.length);
  for (let j = 0; j < mean.length; j++) {
    mean[j] /= samples;
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
