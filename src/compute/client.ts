/**
 * The main thread's handle on the compute engine. Requests are answered in order, by the web worker
 * when it can be started, else by an engine on the main thread behind the same promise API.
 */
import { ComputeEngine } from './engine';
import type { AggregateResult, ComputeRequest, SampleDetail } from './engine';

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void };

export class ComputeClient {
  private worker: Worker | null = null;
  private local: ComputeEngine | null = null;
  private pending = new Map<number, Pending>();
  private nextId = 1;

  constructor(useWorker: boolean) {
    if (useWorker && typeof Worker !== 'undefined') {
      try {
        this.worker = new Worker(new URL('./worker.js', import.meta.url));
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

  reset(modelId: string, M: number, nSamples: number): Promise<unknown> {
    return this.request({ op: 'reset', modelId, M, nSamples });
  }

  append(modelId: string, start: number, values: Float64Array, se?: Float64Array): Promise<number> {
    const transfer = se ? [values.buffer, se.buffer] : [values.buffer];
    return this.request({ op: 'append', modelId, start, values, se }, transfer) as Promise<number>;
  }

  aggregate(
    modelId: string,
    subset?: Int32Array,
    bootstrap?: { reps: number; seed: number; level: number }
  ): Promise<AggregateResult> {
    return this.request({
      op: 'aggregate',
      modelId,
      subset,
      bootstrap
    }) as Promise<AggregateResult>;
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
      this.pending.set(id, { resolve, reject });
      this.worker!.postMessage({ id, request }, transfer);
    });
  }

  private settle(data: { id: number; ok: boolean; result?: unknown; error?: string }): void {
    const entry = this.pending.get(data.id);
    if (!entry) {
      return;
    }
    this.pending.delete(data.id);
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
