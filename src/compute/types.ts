/**
 * The types both threads share: what the main thread asks of the engine (`ComputeRequest`), what
 * comes back (aggregates, images, one sample's detail, ...), and the envelopes the worker's
 * messages travel in. Types only: nothing here runs, so either side may import it, and the views
 * read their results through it. Worker-side code lives in ./worker, main-thread code in ./main.
 */
import type { Aggregate } from '../core';
import type { PairedBounds, PairedDelta } from '../core/compare';

/** Bootstrap settings of an interval (see core's BootstrapResampler). */
export interface BootstrapSettings {
  reps: number;
  seed: number;
  level: number;
}

/** A region of the (prediction, local score) plane, or an interval of local scores. */
export type Region =
  | { kind: 'box'; x: [number, number]; y: [number, number] }
  | { kind: 'lasso'; x: number[]; y: number[] }
  /** Local scores in [low, high) (up to 1 inclusive when high ≥ 1). */
  | { kind: 'localRange'; low: number; high: number };

/** A click or hover position in data units, and how many data units one screen pixel spans. */
export interface NearestQuery {
  x: number;
  y: number;
  xPerPixel: number;
  yPerPixel: number;
  /** Only samples closer than this many pixels count as hit. */
  radiusPx: number;
}

/** Bin counts of local scores, which lie in [0, 1] by definition (SPEC §2). */
export interface LocalHistogram {
  /** bins + 1 edges from 0 to 1. */
  edges: Float64Array;
  /** Received samples with a defined local score, per bin. */
  all: Int32Array;
  /** The same for the selected samples; null when there is no selection. */
  selected: Int32Array | null;
  /** Received samples whose local score is undefined (not counted in any bin). */
  nUndefined: number;
}

/** One bar of the waterfall. `modalities` are the modality indices the bar is about. */
export interface WaterfallStep {
  kind: 'start' | 'main' | 'pair' | 'end';
  modalities: number[];
  /** v(∅) for 'start', v(full) for 'end', otherwise the bar's signed contribution. */
  value: number;
}

/** One coalition of the value table. */
export interface CoalitionRow {
  mask: number;
  modalities: number[];
  value: number;
  /** Monte-Carlo standard error; NaN when unknown. */
  se: number;
}

/** One sample in full, for the local view: its value table, decomposition and derived bars. */
export interface SampleDetail {
  index: number;
  values: number[];
  se: number[] | null;
  shapley: number[];
  matrix: number[];
  local: number;
  orderMass: number[];
  /** The explained prediction (v(full) when the kernel sent none). */
  prediction: number;
  /** NaN when unknown. */
  label: number;
  predictedClass: number;
  waterfall: WaterfallStep[];
  coalitions: CoalitionRow[];
}

export interface AggregateResult extends Aggregate {
  interval: { low: number; high: number } | null;
  /** Mean |Mass_k| per sample, k = 1 … M (order k at k − 1). */
  orderMassAbs: Float64Array;
  /** Samples received so far (the whole data set once streaming is done). */
  received: number;
}

/** What colours the scatter's points: a per-sample code the engine holds. */
export type ColorBy = 'label' | 'predictedClass' | 'none';

/** How samples are grouped into cohorts: a code the engine holds, or codes given with the request. */
export type GroupingSpec =
  { kind: 'label' } | { kind: 'predictedClass' } | { kind: 'codes'; codes: Float64Array };

export interface RasterRequest {
  /** Image size in device pixels. */
  width: number;
  height: number;
  /** Null: fit the plotted samples. */
  xRange: [number, number] | null;
  yRange: [number, number] | null;
  colorBy: ColorBy;
  /** 0xRRGGBB per category, cycled when there are more categories. */
  palette: number[];
  fallbackColor: number;
  radius: number;
  highlight: Int32Array | null;
  fadedAlpha: number;
  /** With at most this many samples plotted, the result also lists them (an export draws them as vector). */
  vectorLimit?: number;
}

/** The plotted samples one by one: position, palette index (−1: the fallback colour), faded or not. */
export interface PlottedPoints {
  x: Float64Array;
  y: Float64Array;
  group: Int32Array;
  faded: Uint8Array;
}

export interface RasterResult {
  width: number;
  height: number;
  pixels: Uint8ClampedArray;
  xRange: [number, number];
  yRange: [number, number];
  /** The colouring actually used ('none' when the requested codes are unknown). */
  colorBy: ColorBy;
  /** The category codes coloured palette[k % palette.length], with their plotted counts. */
  categories: number[];
  counts: number[];
  nPlotted: number;
  /** Received samples that cannot be plotted (undefined local score). */
  nUnplotted: number;
  /** The plotted samples, when the request's vectorLimit allowed it. */
  points?: PlottedPoints;
}

/** A sample whose local score moves most between the reference and another model. */
export interface Mover {
  index: number;
  reference: number;
  other: number;
  /** other − reference. */
  delta: number;
}

/** One model against the reference, over the samples both have (and the selection, if any). */
export interface ModelDelta {
  modelId: string;
  /** The other model's aggregate over the compared samples. */
  aggregate: Aggregate;
  /** other − reference: global score, mean Φ, contributions. */
  delta: PairedDelta;
  /** The samples with the largest |Δ local score|, largest first. */
  movers: Mover[];
  /** Per compared sample, in `samples` order (only when the request asked for it). */
  localDelta?: Float64Array;
}

/** The reference model against each other model on the same samples. */
export interface ComparisonResult {
  referenceId: string;
  /** The reference's aggregate over the compared samples. */
  reference: Aggregate;
  others: ModelDelta[];
  /** Samples compared: those both models have, within the subset. */
  n: number;
}

/** The paired bootstrap bounds of every Δ, for one model against the reference. */
export type PairedIntervals = PairedBounds;

export interface GroupSummary {
  code: number;
  /** The cohort's received samples, within the selection when one was given. */
  members: Int32Array;
  /** The cohort's received samples, whatever the selection (N in "n of N in the selection"). */
  total: number;
  aggregate: Aggregate;
}

export type ComputeRequest =
  | { op: 'reset'; modelId: string; M: number; nSamples: number }
  | {
      op: 'append';
      modelId: string;
      start: number;
      values: Float64Array;
      se?: Float64Array;
      prediction?: Float64Array;
      label?: Float64Array;
      predictedClass?: Float64Array;
    }
  | { op: 'aggregate'; modelId: string; subset?: Int32Array; bootstrap?: BootstrapSettings }
  | {
      op: 'interval';
      modelId: string;
      key: string;
      subset?: Int32Array;
      bootstrap: BootstrapSettings;
    }
  | { op: 'sample'; modelId: string; index: number }
  | { op: 'locals'; modelId: string }
  | { op: 'select'; modelId: string; region: Region; pairedWith?: string }
  | { op: 'nearest'; modelId: string; query: NearestQuery; pairedWith?: string }
  | { op: 'histogram'; modelId: string; bins: number; selection: Int32Array | null }
  /** pairedWith: the points are (local score under modelId, local score under pairedWith). */
  | { op: 'raster'; modelId: string; request: RasterRequest; pairedWith?: string }
  | {
      op: 'compare';
      referenceId: string;
      otherIds: string[];
      /** Sample indices (repeats count again); undefined: every sample. */
      subset?: Int32Array;
      movers: number;
      withLocalDelta?: boolean;
    }
  | {
      op: 'compareInterval';
      key: string;
      referenceId: string;
      otherId: string;
      subset?: Int32Array;
      bootstrap: BootstrapSettings;
    }
  | { op: 'groups'; modelId: string; grouping: GroupingSpec; selection?: Int32Array };

/** 'simd': WebAssembly SIMD on tables in WebAssembly memory; 'javascript': the compiled kernels. */
export type KernelKind = 'simd' | 'javascript';

/** The kernel a model's tables get, and why they fell back to JavaScript (null when they did not). */
export interface KernelInfo {
  kind: KernelKind;
  fallback: string | null;
}

/** What the main thread posts to the worker; `id` matches the reply to its request. */
export interface WorkerRequest {
  id: number;
  request: ComputeRequest;
}

/** What the worker posts back: the request's result, or the message of the error it raised. */
export interface WorkerReply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
  /** Milliseconds from the request's start in the worker to its reply. */
  ms?: number;
}
