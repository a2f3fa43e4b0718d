/**
 * One widget's state in the browser: the models it shows, their streaming progress, and the latest
 * aggregates. It turns kernel messages into compute requests and tells listeners when anything
 * changed. No DOM here: views subscribe and draw.
 */
import { decodeChunk, parseKernelMessage, ProtocolError, toFloat64 } from '../protocol/messages';
import type { DatasetMessage, ProgressMessage, StatusMessage } from '../protocol/messages';
import { ComputeClient } from './client';
import type { AggregateResult } from './engine';

export interface ModelState {
  dataset: DatasetMessage;
  received: number;
  progress: ProgressMessage | null;
  status: StatusMessage | null;
  aggregate: AggregateResult | null;
  predictions: Float64Array;
  labels: Float64Array;
}

/** A grouping of the samples: codes[i] indexes categories (NaN = no cohort). */
export interface Cohorts {
  name: string;
  categories: string[];
  codes: Float64Array;
}

export type Listener = () => void;

/** Bootstrap settings for the global score's interval. */
export const BOOTSTRAP = { reps: 1000, seed: 0, level: 0.95 };

export class Session {
  readonly models = new Map<string, ModelState>();
  readonly cohorts = new Map<string, Cohorts>();
  /** The last problem, shown to the user next to the results it did not touch. */
  error: string | null = null;
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
  receive(content: unknown, buffers: ReadonlyArray<ArrayBuffer | ArrayBufferView> = []): void {
    try {
      this.dispatch(content, buffers);
    } catch (error) {
      this.fail(error);
    }
  }

  private dispatch(content: unknown, buffers: ReadonlyArray<ArrayBuffer | ArrayBufferView>): void {
    const message = parseKernelMessage(content);
    switch (message.kind) {
      case 'dataset':
        this.models.set(message.modelId, {
          dataset: message,
          received: 0,
          progress: null,
          status: null,
          aggregate: null,
          predictions: new Float64Array(message.nSamples).fill(NaN),
          labels: new Float64Array(message.nSamples).fill(NaN)
        });
        this.enqueue(() => this.compute.reset(message.modelId, message.M, message.nSamples));
        break;
      case 'chunk': {
        const model = this.model(message.modelId);
        if (message.start + message.count > model.dataset.nSamples) {
          throw new ProtocolError(
            `chunk message: samples [${message.start}, ${message.start + message.count}) expected within the ${model.dataset.nSamples} samples of '${model.dataset.label}'`
          );
        }
        const chunk = decodeChunk(message, buffers, model.dataset.M);
        if (chunk.prediction) {
          model.predictions.set(chunk.prediction, message.start);
        }
        if (chunk.label) {
          model.labels.set(chunk.label, message.start);
        }
        this.enqueue(async () => {
          model.received = await this.compute.append(
            message.modelId,
            message.start,
            chunk.values,
            chunk.se
          );
        });
        this.scheduleRefresh(message.modelId);
        break;
      }
      case 'cohorts': {
        if (buffers.length !== 1) {
          throw new ProtocolError(
            `cohorts message: expected 1 buffer of codes, got ${buffers.length}`
          );
        }
        const codes = toFloat64(buffers[0], 'codes');
        this.cohorts.set(message.name, {
          name: message.name,
          categories: message.categories,
          codes
        });
        this.notify();
        break;
      }
      case 'progress':
        this.model(message.modelId).progress = message;
        this.notify();
        break;
      case 'status': {
        const model = this.model(message.modelId);
        model.status = message;
        if (message.state === 'error') {
          this.error = message.message;
        }
        this.scheduleRefresh(message.modelId, () => {
          if (message.state === 'done' || message.state === 'cancelled') {
            this.onModelDone(message.modelId);
          }
        });
        break;
      }
    }
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
  private enqueue(task: () => Promise<unknown>): void {
    this.queue = this.queue.then(task).catch(error => this.fail(error));
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
    this.enqueue(async () => {
      this.refreshPending.delete(modelId);
      const model = this.model(modelId);
      if (model.received > 0) {
        model.aggregate = await this.compute.aggregate(modelId, undefined, BOOTSTRAP);
      }
      this.notify();
      after?.();
    });
  }

  private fail(error: unknown): void {
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
