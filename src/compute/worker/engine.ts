/**
 * The compute engine: value tables per model, their per-sample decompositions, and everything the
 * views ask of them (aggregates over any subset, intervals, the scatter image, brushes, clicks,
 * histograms, cohorts, one sample's detail). It runs inside the web worker (entry.ts) or, when
 * workers are off, on the main thread behind the same asynchronous client, so callers never know
 * the difference. Only this engine reads the value tables. Its requests and results are typed in
 * ../types.ts.
 */
import {
  aggregate,
  aggregateOfSums,
  aggregateWithOrderSize,
  allocateSums,
  allocateTables,
  bootstrapGlobal,
  decomposeInto,
  meanAbsoluteOrderMass,
  usesSimd
} from '../../core';
import type { PerSample } from '../../core';
import { BootstrapResampler } from '../../core/bootstrap';
import { aggregateDelta, localDeltas, PairedBootstrapResampler } from '../../core/compare';
import type { PairedBounds } from '../../core/compare';
import type {
  AggregateResult,
  BootstrapSettings,
  ColorBy,
  ComparisonResult,
  ComputeRequest,
  GroupingSpec,
  GroupSummary,
  KernelInfo,
  LocalHistogram,
  ModelDelta,
  Mover,
  PlottedPoints,
  RasterRequest,
  RasterResult,
  SampleDetail
} from '../types';
import { coalitionRows, waterfallSteps } from './local';
import { discReach, drawPlaced, placePoints } from './raster';
import type { Placement } from './raster';
import { nextTask } from './tasks';
import {
  dataRanges,
  groupByCode,
  histogramOfAll,
  isPlotted,
  maskToIndices,
  nearestSample,
  selectedHistogram,
  selectRegion
} from './samples';
import type { Grouping, PointSet } from './samples';

interface ModelTables {
  M: number;
  nSamples: number;
  values: Float64Array;
  se: Float64Array | null;
  per: PerSample;
  /** The scatter's coordinates: x = prediction, y = local score (per.local). */
  points: { x: Float64Array; y: Float64Array };
  prediction: Float64Array;
  label: Float64Array;
  predictedClass: Float64Array;
  received: Uint8Array;
  nReceived: number;
  /**
   * Counts the chunks stored: what the engine keeps derived from the per-sample arrays (the
   * scatter's ranges and pixel placement, the histogram of all samples) is kept with the versions
   * it was made from.
   */
  version: number;
  /**
   * Running sums over the received samples (core/sums.ts), so the whole-set aggregate refreshed
   * after every chunk costs O(M²). Null once a chunk re-sent samples already received: their old
   * numbers are in the sums, so from then on the aggregate takes the pass over the arrays.
   */
  sums: Float64Array | null;
  /** Why the tables are not in WebAssembly memory (allocateTables), or null. */
  fallback: string | null;
}

/** Sample draws per slice of a bootstrap: about 15 ms of work, so other requests wait little. */
const BOOTSTRAP_SLICE_DRAWS = 200_000;

function allocate(M: number, nSamples: number, maxMemoryBytes?: number): ModelTables {
  const { values, per, fallback } = allocateTables(M, nSamples, maxMemoryBytes);
  const local = per.local.fill(NaN);
  return {
    M,
    nSamples,
    values,
    se: null,
    per,
    points: { x: new Float64Array(nSamples).fill(NaN), y: local },
    prediction: new Float64Array(nSamples).fill(NaN),
    label: new Float64Array(nSamples).fill(NaN),
    predictedClass: new Float64Array(nSamples).fill(NaN),
    received: new Uint8Array(nSamples),
    nReceived: 0,
    version: 0,
    sums: allocateSums(M),
    fallback
  };
}

/**
 * What the scatter of one plane (a model's, or a pair's) keeps between draws, made from the
 * samples as they were at `versions`: the ranges that fit them, the colourings asked for, and the
 * pixel each sample lands on in the last image size and ranges drawn. A brush then redraws the
 * image without a pass over the coordinates.
 */
interface PlaneCache {
  versions: string;
  ranges: { x: [number, number]; y: [number, number] } | null;
  colourings: Map<ColorBy, Colouring>;
  placement: { key: string; placement: Placement } | null;
}

/** The samples plotted, grouped by one colouring. */
interface Colouring {
  grouping: Grouping | null;
  group: Int32Array | null;
  counts: number[];
  nPlotted: number;
}

/** The histogram of every received sample's local score, with the version it was counted at. */
interface HistogramCache {
  version: number;
  bins: number;
  all: Int32Array;
  nUndefined: number;
}

export class ComputeEngine {
  private models = new Map<string, ModelTables>();
  private planes = new Map<string, PlaneCache>();
  private histograms = new Map<string, HistogramCache>();
  /** The running interval job per key; a newer request with the same key supersedes it. */
  private intervalJobs = new Map<string, object>();

  /** `maxMemoryBytes`: the cap on one model's WebAssembly memory (core's MAX_MEMORY_BYTES). */
  constructor(private readonly maxMemoryBytes?: number) {}

  handle(req: ComputeRequest): unknown {
    switch (req.op) {
      case 'reset': {
        const tables = allocate(req.M, req.nSamples, this.maxMemoryBytes);
        const previous = this.models.get(req.modelId);
        // Continues the old tables' version, so nothing kept for them is taken for the new ones.
        tables.version = previous ? previous.version + 1 : 0;
        this.models.set(req.modelId, tables);
        const kernel: KernelInfo = {
          kind: usesSimd(tables) ? 'simd' : 'javascript',
          fallback: tables.fallback
        };
        return kernel;
      }
      case 'append':
        return this.append(req);
      case 'aggregate':
        return this.aggregate(req.modelId, req.subset, req.bootstrap);
      case 'interval':
        return this.interval(req.modelId, req.key, req.subset, req.bootstrap);
      case 'sample':
        return this.sample(req.modelId, req.index);
      case 'locals':
        return this.tables(req.modelId).per.local.slice();
      case 'select':
        return selectRegion(this.pointSet(req.modelId, req.pairedWith), req.region);
      case 'nearest':
        return nearestSample(this.pointSet(req.modelId, req.pairedWith), req.query);
      case 'histogram':
        return this.histogram(req.modelId, req.bins, req.selection);
      case 'raster':
        return this.raster(req.modelId, req.request, req.pairedWith);
      case 'compare':
        return this.compare(req);
      case 'compareInterval':
        return this.compareInterval(req);
      case 'groups':
        return this.groups(req.modelId, req.grouping, req.selection);
    }
  }

  private tables(modelId: string): ModelTables {
    const tables = this.models.get(modelId);
    if (!tables) {
      throw new Error(
        `modelId: expected one of [${[...this.models.keys()].join(', ')}], got '${modelId}'`
      );
    }
    return tables;
  }

  /** Null once every sample is in: then no per-sample "received?" test is needed. */
  private receivedMask(t: ModelTables): Uint8Array | null {
    return t.nReceived === t.nSamples ? null : t.received;
  }

  /**
   * The scatter's points: (prediction, local score) of one model, or, paired with another model,
   * (local score under `modelId`, local score under `pairedWith`) over the samples both have.
   */
  private pointSet(modelId: string, pairedWith?: string): PointSet {
    const t = this.tables(modelId);
    if (pairedWith === undefined) {
      return { x: t.points.x, y: t.points.y, received: this.receivedMask(t) };
    }
    const other = this.pairedTables(t, pairedWith);
    return { x: t.per.local, y: other.per.local, received: this.receivedByBoth(t, other) };
  }

  /** Another model's tables, refused unless its samples and modalities are the reference's. */
  private pairedTables(reference: ModelTables, otherId: string): ModelTables {
    const other = this.tables(otherId);
    if (other.nSamples !== reference.nSamples || other.M !== reference.M) {
      throw new Error(
        `compare: expected '${otherId}' to have the reference's ${reference.nSamples} samples and M = ${reference.M}, got ${other.nSamples} samples and M = ${other.M}`
      );
    }
    return other;
  }

  /** Non-zero where both models have the sample; null once both have every sample. */
  private receivedByBoth(a: ModelTables, b: ModelTables): Uint8Array | null {
    const ra = this.receivedMask(a);
    const rb = this.receivedMask(b);
    if (ra === null || rb === null) {
      return ra ?? rb;
    }
    return ra.map((r, i) => r & rb[i]);
  }

  /** The subset (every sample when undefined) restricted to the samples both models have. */
  private pairedSubset(
    a: ModelTables,
    b: ModelTables,
    subset: Int32Array | undefined
  ): Int32Array | undefined {
    const both = this.receivedByBoth(a, b);
    if (both === null) {
      return subset;
    }
    return subset === undefined ? maskToIndices(both) : subset.filter(i => both[i] !== 0);
  }

  /**
   * The reference against each other model: aggregates, every Δ (other − reference) and the
   * samples that move most, over the samples all of them have within the subset. No intervals:
   * those take seconds, and come in slices from compareInterval.
   */
  private compare(req: Extract<ComputeRequest, { op: 'compare' }>): ComparisonResult {
    const reference = this.tables(req.referenceId);
    const others = req.otherIds.map(id => this.pairedTables(reference, id));
    let subset = req.subset;
    for (const other of others) {
      subset = this.pairedSubset(reference, other, subset);
    }
    const referenceAggregate = aggregate(reference.per, subset);
    const compared: ModelDelta[] = others.map((other, k) => {
      const local = localDeltas(reference.per, other.per, subset);
      const otherAggregate = aggregate(other.per, subset);
      return {
        modelId: req.otherIds[k],
        aggregate: otherAggregate,
        delta: aggregateDelta(referenceAggregate, otherAggregate),
        movers: largestMoves(local, subset, reference.per.local, other.per.local, req.movers),
        localDelta: req.withLocalDelta ? local : undefined
      };
    });
    return {
      referenceId: req.referenceId,
      reference: referenceAggregate,
      others: compared,
      n: referenceAggregate.n
    };
  }

  /** The paired bootstrap of every Δ, in slices like `interval`; null when superseded. */
  private async compareInterval(
    req: Extract<ComputeRequest, { op: 'compareInterval' }>
  ): Promise<PairedBounds | null> {
    const reference = this.tables(req.referenceId);
    const other = this.pairedTables(reference, req.otherId);
    const subset = this.pairedSubset(reference, other, req.subset);
    const resampler = new PairedBootstrapResampler(reference.per, other.per, subset, req.bootstrap);
    if (resampler.count < 2) {
      this.intervalJobs.delete(req.key);
      return null;
    }
    return (await this.inSlices(req.key, resampler)) ? resampler.result() : null;
  }

  /**
   * Steps a resampler to the end, yielding to other requests between slices. False when a newer
   * job with the same key superseded this one (its result is then not wanted).
   */
  private async inSlices(
    key: string,
    resampler: { step(budget: number): boolean }
  ): Promise<boolean> {
    const token = {};
    this.intervalJobs.set(key, token);
    while (!resampler.step(BOOTSTRAP_SLICE_DRAWS)) {
      await nextTask();
      if (this.intervalJobs.get(key) !== token) {
        return false;
      }
    }
    this.intervalJobs.delete(key);
    return true;
  }

  /** Decomposes one streamed chunk and writes it into the model's arrays at its offset. */
  private append(req: Extract<ComputeRequest, { op: 'append' }>): number {
    const t = this.tables(req.modelId);
    const { start, values } = req;
    const width = 2 ** t.M;
    const count = values.length / width;
    if (!Number.isInteger(count) || start + count > t.nSamples) {
      throw new Error(
        `chunk: expected at most ${t.nSamples - start} samples of ${width} values from sample ${start}, got ${values.length} values`
      );
    }
    // Before anything is written: whatever is kept from the old numbers is then made again.
    t.version++;
    const resent = t.received.subarray(start, start + count).some(r => r !== 0);
    if (resent) {
      // Decomposed from the message, and stored only once valid: a bad chunk must not overwrite
      // the value tables of samples already on screen.
      t.sums = null;
      decomposeInto(values, t.M, t.per, start);
      t.values.set(values, start * width);
    } else {
      // Stored first, then decomposed where it lies: in WebAssembly memory the SIMD kernel
      // reads it in place (core/tables.ts).
      t.values.set(values, start * width);
      const stored = t.values.subarray(start * width, (start + count) * width);
      decomposeInto(stored, t.M, t.per, start, t.sums ?? undefined);
    }
    if (req.se) {
      t.se ??= new Float64Array(t.nSamples * width);
      t.se.set(req.se, start * width);
    }
    for (const [name, array] of [
      ['prediction', req.prediction],
      ['label', req.label],
      ['predictedClass', req.predictedClass]
    ] as const) {
      if (array) {
        t[name].set(array, start);
      }
    }
    for (let r = 0; r < count; r++) {
      const i = start + r;
      const prediction = t.prediction[i];
      // v(full) is the explained output on the whole sample (SPEC §1): the prediction itself.
      t.points.x[i] = Number.isFinite(prediction) ? prediction : values[r * width + width - 1];
      if (!t.received[i]) {
        t.received[i] = 1;
        t.nReceived++;
      }
    }
    return t.nReceived;
  }

  /**
   * The samples an aggregate covers: the subset, restricted to received samples while values
   * still stream in (a sample not yet received has no decomposition to average).
   */
  private effectiveSubset(t: ModelTables, subset: Int32Array | undefined): Int32Array | undefined {
    const received = this.receivedMask(t);
    if (received === null) {
      return subset;
    }
    if (subset === undefined) {
      return maskToIndices(received);
    }
    return subset.filter(i => received[i] !== 0);
  }

  private aggregate(
    modelId: string,
    subset: Int32Array | undefined,
    bootstrap: BootstrapSettings | undefined
  ): AggregateResult {
    const t = this.tables(modelId);
    const effective = this.effectiveSubset(t, subset);
    const sums = subset === undefined ? t.sums : null;
    // A selection: one pass over its samples for the aggregate and the mean |order mass|.
    const { aggregate: agg, orderMassAbs } = sums
      ? { aggregate: aggregateOfSums(t.M, sums), orderMassAbs: meanAbsoluteOrderMass(t.M, sums) }
      : aggregateWithOrderSize(t.per, effective);
    const interval = bootstrap && agg.n > 1 ? bootstrapGlobal(t.per, effective, bootstrap) : null;
    return {
      ...agg,
      interval: interval ? { low: interval.low, high: interval.high } : null,
      orderMassAbs: orderMassAbs!,
      received: t.nReceived
    };
  }

  /**
   * The bootstrap interval of the global score, in slices between which other requests are
   * answered. Resolves null when a newer request with the same key superseded this one.
   *
   * Why slices: 1000 resamples of 100,000 samples take about 7 s. Run in one go, that would hold
   * the worker, and every brush made meanwhile would wait for it. In slices, the worker answers
   * other requests between them, and an interval nobody needs any more (the user brushed again)
   * is dropped. Core's resampler makes the same draws however it is sliced, so the interval is
   * exactly bootstrapGlobal's.
   */
  private async interval(
    modelId: string,
    key: string,
    subset: Int32Array | undefined,
    bootstrap: BootstrapSettings
  ): Promise<{ low: number; high: number } | null> {
    const t = this.tables(modelId);
    const resampler = new BootstrapResampler(t.per, this.effectiveSubset(t, subset), bootstrap);
    if (resampler.count < 2) {
      // A newer request with this key supersedes any older job still running.
      this.intervalJobs.delete(key);
      return null;
    }
    if (!(await this.inSlices(key, resampler))) {
      return null;
    }
    const { low, high } = resampler.result();
    return { low, high };
  }

  private sample(modelId: string, index: number): SampleDetail {
    const t = this.tables(modelId);
    if (!Number.isInteger(index) || index < 0 || index >= t.nSamples || !t.received[index]) {
      throw new Error(
        `sample: expected a received sample index in [0, ${t.nSamples}), got ${index}`
      );
    }
    const width = 2 ** t.M;
    const M = t.M;
    const values = t.values.subarray(index * width, (index + 1) * width);
    const se = t.se ? t.se.subarray(index * width, (index + 1) * width) : null;
    const matrix = t.per.matrices.subarray(index * M * M, (index + 1) * M * M);
    return {
      index,
      values: Array.from(values),
      se: se ? Array.from(se) : null,
      shapley: Array.from(t.per.shapley.subarray(index * M, (index + 1) * M)),
      matrix: Array.from(matrix),
      local: t.per.local[index],
      orderMass: Array.from(t.per.orderMass.subarray(index * M, (index + 1) * M)),
      prediction: t.points.x[index],
      label: t.label[index],
      predictedClass: t.predictedClass[index],
      waterfall: waterfallSteps(values, matrix, M),
      coalitions: coalitionRows(values, se, M)
    };
  }

  /**
   * The histogram of local scores, and of the selection's: the counts over all samples are kept
   * until a chunk arrives, so a brush counts only the selected samples.
   */
  private histogram(modelId: string, bins: number, selection: Int32Array | null): LocalHistogram {
    const t = this.tables(modelId);
    const received = this.receivedMask(t);
    const cached = this.histograms.get(modelId);
    const kept =
      cached && cached.version === t.version && cached.bins === bins
        ? cached
        : { version: t.version, bins, ...histogramOfAll(t.per.local, received, bins) };
    this.histograms.set(modelId, kept);
    const { edges, selected } = selectedHistogram(t.per.local, received, bins, selection);
    return { edges, all: kept.all.slice(), selected, nUndefined: kept.nUndefined };
  }

  /** The per-sample codes behind a colouring or a grouping; null when the kernel sent none. */
  private codes(t: ModelTables, kind: 'label' | 'predictedClass'): Float64Array | null {
    const codes = kind === 'label' ? t.label : t.predictedClass;
    return codes.some(Number.isFinite) ? codes : null;
  }

  /**
   * What this engine keeps for one scatter plane, made anew once a chunk changed its samples.
   * Only one plane per model and pair is kept; a plane's ranges and colourings are a pass over its
   * samples each, the placement one more per image size and ranges.
   */
  private plane(modelId: string, pairedWith: string | undefined): PlaneCache {
    const t = this.tables(modelId);
    const versions =
      pairedWith === undefined ? `${t.version}` : `${t.version}|${this.tables(pairedWith).version}`;
    const key = pairedWith === undefined ? modelId : `${modelId}\u0000${pairedWith}`;
    let plane = this.planes.get(key);
    if (!plane || plane.versions !== versions) {
      plane = { versions, ranges: null, colourings: new Map(), placement: null };
      this.planes.set(key, plane);
    }
    return plane;
  }

  /** The samples plotted and their groups under one colouring, counted once per plane version. */
  private colouring(t: ModelTables, points: PointSet, plane: PlaneCache, colorBy: ColorBy) {
    let colouring = plane.colourings.get(colorBy);
    if (!colouring) {
      const codes = colorBy === 'none' ? null : this.codes(t, colorBy);
      const grouping = codes ? groupByCode(codes, points.received) : null;
      const group = grouping ? groupIndex(grouping.members, t.nSamples) : null;
      let nPlotted = 0;
      const counts = grouping ? grouping.categories.map(() => 0) : [];
      for (let i = 0; i < t.nSamples; i++) {
        if (isPlotted(points, i)) {
          nPlotted++;
          if (group && group[i] >= 0) {
            counts[group[i]]++;
          }
        }
      }
      colouring = { grouping, group, counts, nPlotted };
      plane.colourings.set(colorBy, colouring);
    }
    return colouring;
  }

  private raster(modelId: string, request: RasterRequest, pairedWith?: string): RasterResult {
    const t = this.tables(modelId);
    const points = this.pointSet(modelId, pairedWith);
    const plane = this.plane(modelId, pairedWith);
    plane.ranges ??= dataRanges(points);
    // Copies: the result goes to the views, the kept ranges stay here.
    const xRange = request.xRange ?? [plane.ranges.x[0], plane.ranges.x[1]];
    const yRange = request.yRange ?? [plane.ranges.y[0], plane.ranges.y[1]];
    const { grouping, group, counts, nPlotted } = this.colouring(t, points, plane, request.colorBy);
    const palette = grouping
      ? grouping.categories.map((_, k) => request.palette[k % request.palette.length])
      : [];
    const highlight = request.highlight ? indicesToMask(request.highlight, t.nSamples) : null;
    const { width, height } = request;
    const placementKey = [width, height, ...xRange, ...yRange, discReach(request.radius)].join(',');
    if (plane.placement?.key !== placementKey) {
      const placement = placePoints(points, width, height, xRange, yRange, request.radius);
      plane.placement = { key: placementKey, placement };
    }
    const pixels = drawPlaced(plane.placement.placement, {
      radius: request.radius,
      group,
      colors: palette,
      fallbackColor: request.fallbackColor,
      highlight,
      fadedAlpha: request.fadedAlpha
    });
    return {
      width,
      height,
      pixels,
      xRange,
      yRange,
      colorBy: grouping ? request.colorBy : 'none',
      categories: grouping ? grouping.categories.slice() : [],
      counts: counts.slice(),
      nPlotted,
      nUnplotted: t.nReceived - nPlotted,
      points:
        request.vectorLimit !== undefined && nPlotted <= request.vectorLimit
          ? plottedPoints(points, group, highlight, nPlotted)
          : undefined
    };
  }

  /** The cohorts of a grouping, each aggregated over (cohort ∩ selection) when one is given. */
  private groups(
    modelId: string,
    spec: GroupingSpec,
    selection?: Int32Array
  ): { categories: number[]; groups: GroupSummary[] } {
    const t = this.tables(modelId);
    let codes: Float64Array | null;
    if (spec.kind === 'codes') {
      if (spec.codes.length !== t.nSamples) {
        throw new Error(
          `cohort codes: expected one code per sample (${t.nSamples}), got ${spec.codes.length}`
        );
      }
      codes = spec.codes;
    } else {
      codes = this.codes(t, spec.kind);
    }
    if (!codes) {
      return { categories: [], groups: [] };
    }
    const grouping = groupByCode(codes, this.receivedMask(t));
    const selected = selection ? indicesToMask(selection, t.nSamples) : null;
    return {
      categories: grouping.categories,
      groups: grouping.categories.map((code, k) => {
        const all = grouping.members[k];
        const members = selected ? all.filter(i => selected[i] !== 0) : all;
        return { code, members, total: all.length, aggregate: aggregate(t.per, members) };
      })
    };
  }
}

/**
 * The `count` compared samples whose local score moves most (|Δ|, largest first); samples with an
 * undefined local score under either model have no Δ and are left out.
 */
function largestMoves(
  localDelta: Float64Array,
  subset: Int32Array | undefined,
  referenceLocal: Float64Array,
  otherLocal: Float64Array,
  count: number
): Mover[] {
  const best: Array<{ index: number; size: number }> = [];
  for (let r = 0; count > 0 && r < localDelta.length; r++) {
    const size = Math.abs(localDelta[r]);
    const index = subset === undefined ? r : subset[r];
    // A short sorted list beats sorting every sample: count is about ten, N up to a million. A
    // sample listed twice in the subset is kept once.
    if (
      !(size === size) ||
      (best.length === count && size <= best[count - 1].size) ||
      best.some(kept => kept.index === index)
    ) {
      continue;
    }
    let k = best.length < count ? best.length : count - 1;
    best[k] = { index, size };
    for (; k > 0 && best[k - 1].size < size; k--) {
      [best[k - 1], best[k]] = [best[k], best[k - 1]];
    }
  }
  return best.map(({ index }) => ({
    index,
    reference: referenceLocal[index],
    other: otherLocal[index],
    delta: otherLocal[index] - referenceLocal[index]
  }));
}

/** Per-sample group index (-1 for samples in no group) from the groups' member lists. */
function groupIndex(members: Int32Array[], n: number): Int32Array {
  const group = new Int32Array(n).fill(-1);
  members.forEach((list, k) => {
    for (let r = 0; r < list.length; r++) {
      group[list[r]] = k;
    }
  });
  return group;
}

function indicesToMask(indices: Int32Array, n: number): Uint8Array {
  const mask = new Uint8Array(n);
  for (let r = 0; r < indices.length; r++) {
    const i = indices[r];
    if (i >= 0 && i < n) {
      mask[i] = 1;
    }
  }
  return mask;
}

/** The plotted samples in index order, as an exported scatter draws them one by one. */
function plottedPoints(
  points: PointSet,
  group: Int32Array | null,
  highlight: Uint8Array | null,
  nPlotted: number
): PlottedPoints {
  const out: PlottedPoints = {
    x: new Float64Array(nPlotted),
    y: new Float64Array(nPlotted),
    group: new Int32Array(nPlotted),
    faded: new Uint8Array(nPlotted)
  };
  let k = 0;
  for (let i = 0; i < points.x.length; i++) {
    if (isPlotted(points, i)) {
      out.x[k] = points.x[i];
      out.y[k] = points.y[i];
      out.group[k] = group ? group[i] : -1;
      out.faded[k] = highlight !== null && highlight[i] === 0 ? 1 : 0;
      k++;
    }
  }
  return out;
}
