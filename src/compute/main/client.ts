/**
 * The main thread's handle on the compute engine. Requests are answered in order, by the web worker
 * (../worker/entry.ts) when it can be started, else by an engine on the main thread behind the same
 * promise API.
 */
import type {
  AggregateResult,
  BootstrapSettings,
  ComparisonResult,
  ComputeRequest,
  GroupingSpec,
  GroupSummary,
  KernelInfo,
  LocalHistogram,
  NearestQuery,
  PairedIntervals,
  RasterRequest,
  RasterResult,
  Region,
  SampleDetail,
  WorkerReply,
  WorkerRequest
} from '../types';
// The one main-thread use of worker-side code: the fallback when no worker can be started.
import { ComputeEngine } from '../worker/engine';

/** A chunk's optional per-sample arrays, handed to the engine along with its value tables. */
export interface ChunkExtras {
  se?: Float64Array;
  prediction?: Float64Array;
  label?: Float64Array;
  predictedClass?: Float64Array;
}

type Pending = {
  op: ComputeRequest['op'];
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
};

export class ComputeClient {
  private worker: Worker | null = null;
  private local: ComputeEngine | null = null;
  private pending = new Map<number, Pending>();
  private nextId = 1;

  constructor(useWorker: boolean) {
    if (useWorker && typeof Worker !== 'undefined') {
      try {
        this.worker = new Worker(new URL('../worker/entry.js', import.meta.url));
        this.worker.onmessage = event => this.settle(event.data);
        this.worker.onerror = event => this.failAll(`compute worker failed: ${event.message}`);
      } catch (error) {
        console.warn(
          'intershap-widget: web worker unavailable, computing on the main thread',
          error
        );
        this.worker = null;
      }
    }
    if (!this.worker) {
      this.local = new ComputeEngine();
    }
  }

  get usesWorker(): boolean {
    return this.worker !== null;
  }

  /** Allocates a model's tables; resolves to the kernel that will decompose them (and why). */
  reset(modelId: string, M: number, nSamples: number): Promise<KernelInfo> {
    return this.request({ op: 'reset', modelId, M, nSamples }) as Promise<KernelInfo>;
  }

  /** Hands the arrays over to the worker: the caller must not use them afterwards. */
  append(
    modelId: string,
    start: number,
    values: Float64Array,
    extras: ChunkExtras = {}
  ): Promise<number> {
    const arrays = [values, extras.se, extras.prediction, extras.label, extras.predictedClass];
    const transfer = arrays.filter(a => a !== undefined).map(a => a!.buffer);
    return this.request(
      { op: 'append', modelId, start, values, ...extras },
      transfer
    ) as Promise<number>;
  }

  aggregate(
    modelId: string,
    subset?: Int32Array,
    bootstrap?: BootstrapSettings
  ): Promise<AggregateResult> {
    return this.request({
      op: 'aggregate',
      modelId,
      subset,
      bootstrap
    }) as Promise<AggregateResult>;
  }

  /** The bootstrap interval; null when a newer request with the same key superseded it. */
  interval(
    modelId: string,
    key: string,
    subset: Int32Array | undefined,
    bootstrap: BootstrapSettings
  ): Promise<{ low: number; high: number } | null> {
    return this.request({ op: 'interval', modelId, key, subset, bootstrap }) as Promise<{
      low: number;
      high: number;
    } | null>;
  }

  /** `pairedWith`: in the paired plane (local score under modelId, under pairedWith). */
  select(modelId: string, region: Region, pairedWith?: string): Promise<Int32Array> {
    return this.request({ op: 'select', modelId, region, pairedWith }) as Promise<Int32Array>;
  }

  /** The plotted sample nearest to a click, or -1. */
  nearest(modelId: string, query: NearestQuery, pairedWith?: string): Promise<number> {
    return this.request({ op: 'nearest', modelId, query, pairedWith }) as Promise<number>;
  }

  histogram(modelId: string, bins: number, selection: Int32Array | null): Promise<LocalHistogram> {
    return this.request({ op: 'histogram', modelId, bins, selection }) as Promise<LocalHistogram>;
  }

  raster(modelId: string, request: RasterRequest, pairedWith?: string): Promise<RasterResult> {
    return this.request({ op: 'raster', modelId, request, pairedWith }) as Promise<RasterResult>;
  }

  /** The reference against each other model (no intervals: see compareInterval). */
  compare(
    referenceId: string,
    otherIds: string[],
    subset: Int32Array | undefined,
    options: { movers: number; withLocalDelta?: boolean }
  ): Promise<ComparisonResult> {
    return this.request({
      op: 'compare',
      referenceId,
      otherIds,
      subset,
      ...options
    }) as Promise<ComparisonResult>;
  }

  /** The paired bootstrap bounds of every Δ; null when superseded by a newer job of that key. */
  compareInterval(
    key: string,
    referenceId: string,
    otherId: string,
    subset: Int32Array | undefined,
    bootstrap: BootstrapSettings
  ): Promise<PairedIntervals | null> {
    return this.request({
      op: 'compareInterval',
      key,
      referenceId,
      otherId,
      subset,
      bootstrap
    }) as Promise<PairedIntervals | null>;
  }

  /** Each cohort's aggregate, over (cohort ∩ selection) when a selection is given. */
  groups(
    modelId: string,
    grouping: GroupingSpec,
    selection?: Int32Array
  ): Promise<{ categories: number[]; groups: GroupSummary[] }> {
    return this.request({ op: 'groups', modelId, grouping, selection }) as Promise<{
      categories: number[];
      groups: GroupSummary[];
    }>;
  }

  sample(modelId: string, index: number): Promise<SampleDetail> {
    return this.request({ op: 'sample', modelId, index }) as Promise<SampleDetail>;
  }

  locals(modelId: string): Promise<Float64Array> {
    return this.request({ op: 'locals', modelId }) as Promise<Float64Array>;
  }

  dispose(): void {
    this.worker?.terminate();
    this.failAll('compute client disposed');
  }

  private request(request: ComputeRequest, transfer: Transferable[] = []): Promise<unknown> {
    if (this.local) {
      const engine = this.local;
      // Same asynchronous contract as the worker, so callers are written once.
      return new Promise(resolve => resolve(engine.handle(request)));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { op: request.op, resolve, reject });
      const message: WorkerRequest = { id, request };
      this.worker!.postMessage(message, transfer);
    });
  }

  private settle(data: WorkerReply): void {
    const entry = this.pending.get(data.id);
    if (!entry) {
      return;
    }
    this.pending.delete(data.id);
    if (data.ms !== undefined) {
      // The worker's time for each request, on the page's timeline as "intershap-worker:<op>", so
      // performance tools (and the browser tests) see what a brush costs the worker.
      performance.measure(`intershap-worker:${entry.op}`, {
        start: Math.max(0, performance.now() - data.ms),
        duration: data.ms
      });
    }
    if (data.ok) {
      entry.resolve(data.result);
    } else {
      entry.reject(new Error(data.error));
    }
  }

  private failAll(message: string): void {
    for (const entry of this.pending.values()) {
      entry.reject(new Error(message));
    }
    this.pending.clear();
  }
}
