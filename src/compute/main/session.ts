/**
 * One widget's state in the browser: the models it shows, their streaming progress, the latest
 * aggregates, and the current selection of samples. It turns kernel messages into compute requests
 * and tells listeners when anything changed. No DOM here: views subscribe, draw, and ask for the
 * per-sample results they show (always computed by the engine, in the worker).
 */
import { decodeChunk, parseKernelMessage, ProtocolError, toFloat64 } from '../../protocol/messages';
import type {
  ChunkMessage,
  CohortsMessage,
  DatasetMessage,
  KernelMessage,
  ProgressMessage,
  StatusMessage
} from '../../protocol/messages';
import type {
  AggregateResult,
  ComparisonResult,
  GroupingSpec,
  GroupSummary,
  KernelInfo,
  LocalHistogram,
  NearestQuery,
  PairedIntervals,
  RasterRequest,
  RasterResult,
  Region,
  SampleDetail
} from '../types';
import type { ComputeClient } from './client';
import type { EvaluationSettings } from '../evaluate/types';
import type { BrowserEvaluation, RemaskState } from './evaluation';

export interface ModelState {
  dataset: DatasetMessage;
  received: number;
  progress: ProgressMessage | null;
  status: StatusMessage | null;
  /** Over every received sample; `interval` is filled in once the stream is finished. */
  aggregate: AggregateResult | null;
  /** Over the selection (null without one); its interval follows when the stream is finished. */
  selectionAggregate: AggregateResult | null;
  predictions: Float64Array;
  labels: Float64Array;
  hasLabels: boolean;
  /** Whether any sample has a prediction of its own (else the scatter's x is v(full)). */
  hasPrediction: boolean;
  hasPredictedClass: boolean;
  /** Increases whenever the model's numbers change, so views can skip redrawing unchanged data. */
  version: number;
  /**
   * The kernel decomposing this model in the worker, once its tables are allocated, with the
   * reason when it fell back from WebAssembly SIMD to JavaScript.
   */
  kernel: KernelInfo | null;
  /**
   * The connection to the kernel was lost before this model's stream finished: what it holds
   * (`received` of `dataset.nSamples`) is all it will get, and the status bar says so.
   */
  partial: boolean;
}

/** A grouping of the samples: codes[i] indexes categories (NaN = no cohort). */
export interface Cohorts {
  name: string;
  categories: string[];
  codes: Float64Array;
}

/** A way to split samples into cohorts, as offered to the user. */
export interface GroupingOption {
  key: string;
  title: string;
}

/** One cohort, named, with its aggregate and its members (for intervals and for selecting it). */
export interface CohortSummary {
  name: string;
  /** The cohort's samples within the selection (every received sample of it when none). */
  members: Int32Array;
  /** The cohort's received samples, whatever the selection. */
  total: number;
  /** Whether `members` and `aggregate` are restricted to a selection. */
  inSelection: boolean;
  aggregate: GroupSummary['aggregate'];
}

export type Listener = () => void;

type Buffers = ReadonlyArray<ArrayBuffer | ArrayBufferView>;

/** A handler for each kind of kernel message, taking that kind's message. */
type MessageHandlers = {
  [Kind in KernelMessage['kind']]: (
    message: Extract<KernelMessage, { kind: Kind }>,
    buffers: Buffers
  ) => void;
};

/** Who changed the selection: the views (a brush, a cohort) or Python (`w.selection = ...`). */
export type SelectionOrigin = 'view' | 'kernel';

/**
 * Bootstrap settings for every interval. Seed 0 is also the numpy twin's, and the paired bootstrap
 * of a comparison draws the same samples on both sides (core/compare.ts), so `w.compare()` gives
 * the same interval with or without a browser.
 */
export const BOOTSTRAP = { reps: 1000, seed: 0, level: 0.95 };

/** How many samples whose local score moves most a comparison lists. */
export const COMPARE_MOVERS = 10;

/** Above this many samples, a selection is told once the worker aggregated it (onSelectionChange). */
export const SELECTION_SYNC_DEFER_ABOVE = 100_000;
/** At the latest this long after such a selection change, onSelectionChange is called. */
export const SELECTION_SYNC_DELAY_MS = 250;

const LABEL_GROUPING = 'label';
const PREDICTED_GROUPING = 'predictedClass';

export class Session {
  readonly models = new Map<string, ModelState>();
  readonly cohorts = new Map<string, Cohorts>();
  /** Models the browser evaluates itself (evaluate="browser"), by model id. */
  readonly evaluations = new Map<string, BrowserEvaluation>();
  /** The last problem, shown to the user next to the results it did not touch. */
  error: string | null = null;
  /** A line about where the results came from (e.g. the notebook's saved state), or null. */
  notice: string | null = null;
  /** Whether the connection to the kernel was lost (it died, restarted or shut down). */
  connectionLost = false;
  /** The selected samples in increasing order, or null for "every sample". */
  selection: Int32Array | null = null;
  /** Increases on every selection change. */
  selectionVersion = 0;
  /**
   * Called when the selection changes, e.g. to send it to the kernel. A selection of more than
   * SELECTION_SYNC_DEFER_ABOVE samples is told once the worker has re-aggregated every model over
   * it, or SELECTION_SYNC_DELAY_MS after the change at the latest (while chunks queued before it
   * are still being stored), and only if it is still the selection then; a smaller one at once.
   * Why: a brush of 500,000 samples is 2 MB that the page serialises, the Jupyter server relays
   * and the kernel checks, on the same cores as the worker; sent at the moment of the brush, that
   * work slows the worker's aggregate of the very same selection (docs/ARCHITECTURE.md, "The wire
   * schema", has the figures). The price: Python code run within those few milliseconds of such a
   * brush still reads the selection before it.
   */
  onSelectionChange: ((selection: Int32Array | null, origin: SelectionOrigin) => void) | null =
    null;
  private listeners = new Set<Listener>();
  private queue: Promise<unknown> = Promise.resolve();
  private refreshPending = new Set<string>();

  constructor(
    readonly compute: ComputeClient,
    private readonly onModelDone: (modelId: string) => void
  ) {}

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Entry point for every custom message from the kernel. Bad messages never throw out of here. */
  receive(content: unknown, buffers: Buffers = []): void {
    try {
      this.dispatch(content, buffers);
    } catch (error) {
      this.reportError(error);
    }
  }

  /** One handler per kind of kernel message; `dispatch` picks the message's. */
  private readonly handlers: MessageHandlers = {
    dataset: message => this.onDataset(message),
    chunk: (message, buffers) => this.onChunk(message, buffers),
    cohorts: (message, buffers) => this.onCohorts(message, buffers),
    progress: message => this.onProgress(message),
    status: message => this.onStatus(message)
  };

  private dispatch(content: unknown, buffers: Buffers): void {
    const message = parseKernelMessage(content);
    // The table's type pairs each kind with its handler; TypeScript cannot follow that pairing
    // through an index by a union of kinds, hence the widening.
    const handle = this.handlers[message.kind] as (
      message: KernelMessage,
      buffers: Buffers
    ) => void;
    handle(message, buffers);
  }

  /** A model's stream starts: fresh state, and tables allocated in the worker. */
  private onDataset(message: DatasetMessage): void {
    this.models.set(message.modelId, {
      dataset: message,
      received: 0,
      progress: null,
      status: null,
      aggregate: null,
      selectionAggregate: null,
      predictions: new Float64Array(message.nSamples).fill(NaN),
      labels: new Float64Array(message.nSamples).fill(NaN),
      hasLabels: false,
      hasPrediction: false,
      hasPredictedClass: false,
      version: 0,
      kernel: null,
      partial: false
    });
    this.enqueue(async () => {
      const kernel = await this.compute.reset(message.modelId, message.M, message.nSamples);
      const model = this.models.get(message.modelId);
      if (model?.dataset === message) {
        model.kernel = kernel;
        this.notify();
      }
    });
    this.notify();
  }

  /** Value tables of some samples: decomposed in the worker, aggregates refreshed after. */
  private onChunk(message: ChunkMessage, buffers: Buffers): void {
    const model = this.model(message.modelId);
    if (message.start + message.count > model.dataset.nSamples) {
      throw new ProtocolError(
        `chunk message: samples [${message.start}, ${message.start + message.count}) expected within the ${model.dataset.nSamples} samples of '${model.dataset.label}'`
      );
    }
    const chunk = decodeChunk(message, buffers, model.dataset.M);
    if (chunk.prediction) {
      model.predictions.set(chunk.prediction, message.start);
      // Per chunk, not per draw: a scan of every sample's prediction would grow with N.
      model.hasPrediction ||= chunk.prediction.some(Number.isFinite);
    }
    if (chunk.label) {
      model.labels.set(chunk.label, message.start);
      model.hasLabels ||= chunk.label.some(Number.isFinite);
    }
    if (chunk.predictedClass) {
      model.hasPredictedClass ||= chunk.predictedClass.some(Number.isFinite);
    }
    this.enqueue(async () => {
      model.received = await this.compute.append(message.modelId, message.start, chunk.values, {
        se: chunk.se,
        prediction: chunk.prediction,
        label: chunk.label,
        predictedClass: chunk.predictedClass
      });
    });
    this.scheduleRefresh(message.modelId);
  }

  /** A user-defined grouping of the samples (one code per sample). */
  private onCohorts(message: CohortsMessage, buffers: Buffers): void {
    if (buffers.length !== 1) {
      throw new ProtocolError(`cohorts message: expected 1 buffer of codes, got ${buffers.length}`);
    }
    const codes = toFloat64(buffers[0], 'codes');
    this.cohorts.set(message.name, {
      name: message.name,
      categories: message.categories,
      codes
    });
    this.notify();
  }

  private onProgress(message: ProgressMessage): void {
    this.model(message.modelId).progress = message;
    this.notify();
  }

  /** The stream's state; once done or cancelled, the intervals and the results follow. */
  private onStatus(message: StatusMessage): void {
    const model = this.model(message.modelId);
    const previous = model.status;
    model.status = message;
    if (message.state === 'error') {
      this.error = message.message;
    } else if (
      message.state === 'running' &&
      previous?.state === 'error' &&
      this.error === previous.message
    ) {
      // w.retry() runs the failed chunks again: their failure is no longer the current problem
      this.error = null;
    }
    const finished = message.state === 'done' || message.state === 'cancelled';
    this.scheduleRefresh(message.modelId, () => {
      if (finished) {
        void this.finish(message.modelId);
      }
    });
  }

  /**
   * The kernel is gone (it died, restarted or shut down): nothing more comes for any model. The
   * message is shown; every model whose stream had not finished keeps what it holds, marked
   * partial, its aggregate refreshed over every sample received (a chunk still in the queue
   * counts) and its interval computed, as for a finished stream but without telling the kernel.
   */
  loseConnection(message: string): void {
    this.error = message;
    if (!this.connectionLost) {
      this.connectionLost = true;
      for (const [modelId, model] of this.models) {
        if (!this.isFinished(model)) {
          model.partial = true;
          this.scheduleRefresh(modelId, () => void this.fillIntervals(modelId));
        }
      }
    }
    this.notify();
  }

  private model(modelId: string): ModelState {
    const model = this.models.get(modelId);
    if (!model) {
      throw new ProtocolError(
        `message: field 'modelId' expected one of [${[...this.models.keys()].join(', ')}], got '${modelId}'`
      );
    }
    return model;
  }

  /** Requests run strictly in arrival order, so a chunk is never aggregated before it is stored. */
  private enqueue(task: () => Promise<unknown>): Promise<void> {
    const run = this.queue.then(task);
    this.queue = run.catch(error => this.reportError(error));
    return this.queue as Promise<void>;
  }

  /**
   * Coalesces aggregate refreshes: while chunks stream in, at most one refresh per model waits in
   * the queue, so views update at the pace the worker can sustain instead of once per chunk.
   */
  private scheduleRefresh(modelId: string, after?: () => void): void {
    if (this.refreshPending.has(modelId) && !after) {
      return;
    }
    this.refreshPending.add(modelId);
    void this.enqueue(async () => {
      this.refreshPending.delete(modelId);
      const model = this.model(modelId);
      if (model.received > 0) {
        model.aggregate = await this.compute.aggregate(modelId);
        model.selectionAggregate = this.selection
          ? await this.compute.aggregate(modelId, this.selection)
          : null;
        model.version++;
      }
      this.notify();
      after?.();
    });
  }

  /** Once a stream is finished: the intervals, then the results. */
  private async finish(modelId: string): Promise<void> {
    await this.fillIntervals(modelId);
    this.onModelDone(modelId);
  }

  /** The intervals of a model whose samples are all in: all samples, then the selection. */
  private async fillIntervals(modelId: string): Promise<void> {
    try {
      await this.fillInterval(modelId, 'all');
      if (this.selection) {
        await this.fillInterval(modelId, 'selection');
      }
    } catch (error) {
      this.reportError(error);
    }
  }

  /** No more samples will come: the stream is over, or the kernel was lost (partial). */
  private isFinished(model: ModelState): boolean {
    return model.status?.state === 'done' || model.status?.state === 'cancelled' || model.partial;
  }

  /**
   * Computes a bootstrap interval outside the request queue (it takes seconds at 100,000 samples,
   * and chunks and brushes must not wait for it), then attaches it to the aggregate it belongs to
   * if that is still the one shown.
   */
  private async fillInterval(modelId: string, which: 'all' | 'selection'): Promise<void> {
    const model = this.model(modelId);
    const target = which === 'all' ? model.aggregate : model.selectionAggregate;
    if (!target || target.interval) {
      return;
    }
    const subset = which === 'all' ? undefined : (this.selection ?? undefined);
    const interval = await this.compute.interval(modelId, `${which}:${modelId}`, subset, BOOTSTRAP);
    const current = which === 'all' ? model.aggregate : model.selectionAggregate;
    if (interval && current === target) {
      const withInterval = { ...target, interval };
      if (which === 'all') {
        model.aggregate = withInterval;
      } else {
        model.selectionAggregate = withInterval;
      }
      // Not a new `version`: the numbers the charts show are unchanged, only the header gains the
      // interval, and redrawing every chart for it would cost the main thread for nothing.
      this.notify();
    }
  }

  // ------------------------------------------------------------------------------------------
  // Selection

  /**
   * Selects samples (sorted, duplicate-free indices; empty or null = every sample) and
   * re-aggregates every model over them in the worker. Python's `w.selection` follows.
   */
  setSelection(indices: Int32Array | null, origin: SelectionOrigin): void {
    const next = indices && indices.length > 0 ? indices : null;
    if (sameSelection(this.selection, next)) {
      return;
    }
    this.selection = next;
    this.selectionVersion++;
    const version = this.selectionVersion;
    const deferred = next !== null && next.length > SELECTION_SYNC_DEFER_ABOVE;
    if (!deferred) {
      this.onSelectionChange?.(next, origin);
    }
    const aggregated = [...this.models].map(([modelId, model]) =>
      this.enqueue(async () => {
        if (version !== this.selectionVersion || model.received === 0) {
          return;
        }
        model.selectionAggregate = next ? await this.compute.aggregate(modelId, next) : null;
        model.version++;
        this.notify();
        if (next && this.isFinished(model)) {
          void this.fillInterval(modelId, 'selection').catch(error => this.reportError(error));
        }
      })
    );
    this.notify();
    if (!deferred) {
      return;
    }
    let told = false;
    const tell = () => {
      if (!told && version === this.selectionVersion) {
        this.onSelectionChange?.(next, origin);
      }
      told = true;
    };
    void Promise.all(aggregated).then(tell);
    setTimeout(tell, SELECTION_SYNC_DELAY_MS);
  }

  /**
   * The samples inside a brushed region of one model's scatter, or, `pairedWith` another model,
   * of the paired scatter (local score under modelId against local score under pairedWith).
   */
  selectRegion(modelId: string, region: Region, pairedWith?: string): Promise<Int32Array> {
    return this.compute.select(modelId, region, pairedWith);
  }

  // ------------------------------------------------------------------------------------------
  // Per-sample results for the views (computed by the engine)

  raster(modelId: string, request: RasterRequest, pairedWith?: string): Promise<RasterResult> {
    return this.compute.raster(modelId, request, pairedWith);
  }

  nearest(modelId: string, query: NearestQuery, pairedWith?: string): Promise<number> {
    return this.compute.nearest(modelId, query, pairedWith);
  }

  // ------------------------------------------------------------------------------------------
  // Comparison of models on the same samples

  /**
   * The reference against each other model over `subset` (every sample when undefined), after
   * every chunk already received is stored: a comparison never misses a sample that arrived.
   */
  compare(
    referenceId: string,
    otherIds: string[],
    subset?: Int32Array,
    options: { movers: number; withLocalDelta?: boolean } = { movers: COMPARE_MOVERS }
  ): Promise<ComparisonResult> {
    return this.inOrder(() => this.compute.compare(referenceId, otherIds, subset, options));
  }

  /**
   * The paired bootstrap bounds of every Δ of one model against the reference, outside the
   * request queue like every interval (it takes seconds at 100,000 samples). A newer request for
   * the same slot supersedes an older one, which then resolves null.
   */
  compareInterval(
    slot: string,
    referenceId: string,
    otherId: string,
    subset?: Int32Array
  ): Promise<PairedIntervals | null> {
    return this.compute.compareInterval(
      `compare:${slot}:${referenceId}:${otherId}`,
      referenceId,
      otherId,
      subset,
      BOOTSTRAP
    );
  }

  /** Like enqueue, but the task's own result or error comes back to the caller. */
  private inOrder<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  histogram(modelId: string, bins: number): Promise<LocalHistogram> {
    return this.compute.histogram(modelId, bins, this.selection);
  }

  sample(modelId: string, index: number): Promise<SampleDetail> {
    return this.compute.sample(modelId, index);
  }

  /** The ways to split this model's samples into cohorts: label, predicted class, user columns. */
  groupings(modelId: string): GroupingOption[] {
    const model = this.models.get(modelId);
    const options: GroupingOption[] = [];
    if (model?.hasLabels) {
      options.push({ key: LABEL_GROUPING, title: 'label' });
    }
    if (model?.hasPredictedClass) {
      options.push({ key: PREDICTED_GROUPING, title: 'predicted class' });
    }
    for (const name of this.cohorts.keys()) {
      options.push({ key: `column:${name}`, title: name });
    }
    return options;
  }

  /**
   * The cohorts of one grouping with their aggregates (no intervals: see cohortInterval). With a
   * selection, each cohort is aggregated over (cohort ∩ selection), and `total` says how many
   * samples the cohort has in all.
   */
  async cohortSummaries(modelId: string, groupingKey: string): Promise<CohortSummary[]> {
    const { spec, nameOf } = this.groupingSpec(groupingKey);
    const selection = this.selection;
    const result = await this.compute.groups(modelId, spec, selection ?? undefined);
    return result.groups.map(group => ({
      name: nameOf(group.code),
      members: group.members,
      total: group.total,
      inSelection: selection !== null,
      aggregate: group.aggregate
    }));
  }

  /** A cohort's bootstrap interval; null if superseded by a newer request for the same slot. */
  cohortInterval(
    modelId: string,
    slot: string,
    members: Int32Array
  ): Promise<{ low: number; high: number } | null> {
    return this.compute.interval(modelId, `cohort:${slot}:${modelId}`, members, BOOTSTRAP);
  }

  private groupingSpec(key: string): { spec: GroupingSpec; nameOf: (code: number) => string } {
    if (key === LABEL_GROUPING || key === PREDICTED_GROUPING) {
      return { spec: { kind: key }, nameOf: formatCode };
    }
    const cohorts = this.cohorts.get(key.replace(/^column:/, ''));
    if (!cohorts) {
      throw new Error(
        `cohorts: expected one of [${[...this.cohorts.keys()].join(', ')}], got '${key}'`
      );
    }
    return {
      spec: { kind: 'codes', codes: cohorts.codes },
      nameOf: code => cohorts.categories[code] ?? formatCode(code)
    };
  }

  /** How a label or class code is written, in the views as in the cohorts' names. */
  formatCode(code: number): string {
    return formatCode(code);
  }

  /** Shows a problem to the user (status bar) and in the console; results on screen stay. */
  /** What the re-mask control shows for a browser-evaluated model, else null. */
  remaskState(modelId: string): RemaskState | null {
    return this.evaluations.get(modelId)?.state ?? null;
  }

  /** Evaluates a browser-evaluated model again under new settings (the re-mask control). */
  remask(modelId: string, settings: EvaluationSettings): void {
    this.evaluations.get(modelId)?.remask(settings);
  }

  reportError(error: unknown): void {
    this.error = error instanceof Error ? error.message : String(error);
    console.error('intershap-widget:', error);
    this.notify();
  }

  notify(): void {
    for (const listener of this.listeners) {
      listener();
    }
  }
}

/** A numeric label or class as a name: integers without decimals. */
export function formatCode(code: number): string {
  return Number.isInteger(code) ? String(code) : String(Number(code.toPrecision(6)));
}

function sameSelection(a: Int32Array | null, b: Int32Array | null): boolean {
  if (a === null || b === null) {
    return a === b;
  }
  if (a.length !== b.length) {
    return false;
  }
  for (let r = 0; r < a.length; r++) {
    if (a[r] !== b[r]) {
      return false;
    }
  }
  return true;
}

/**
 * A selection as the engine takes it: sorted, without duplicates, within [0, nSamples). Python may
 * send any list of ints; anything outside the samples is an error the user can act on.
 */
export function normalizeSelection(indices: ArrayLike<number>, nSamples: number): Int32Array {
  const out = new Int32Array(indices.length);
  let increasing = true;
  for (let r = 0; r < indices.length; r++) {
    const i = indices[r];
    if (!Number.isInteger(i) || i < 0 || i >= nSamples) {
      throw new RangeError(
        `selection: expected sample indices from 0 to ${nSamples - 1}, got ${i} at position ${r}`
      );
    }
    out[r] = i;
    increasing &&= r === 0 || i > out[r - 1];
  }
  if (increasing) {
    // Already sorted and distinct (a brush's selection, or range(...) from Python): no sort.
    return out;
  }
  out.sort();
  let kept = 0;
  for (let r = 0; r < out.length; r++) {
    if (r === 0 || out[r] !== out[r - 1]) {
      out[kept++] = out[r];
    }
  }
  return out.slice(0, kept);
}
