/**
 * A browser-evaluated model on the main thread: it owns the evaluation worker
 * (../evaluate/worker.ts), turns what the worker streams into the kernel's own messages for the
 * session (dataset, chunk, progress, status: every view works as for a kernel run), and sends the
 * same tables to the kernel, so that `w.results` holds them. With the kernel gone, re-masking
 * still works: only the copies to the kernel are lost.
 */
import type { EvaluationTiming, EvaluatorReply, EvaluatorRequest } from '../evaluate/messages';
import type { EvaluationData, EvaluationSettings } from '../evaluate/types';
import type { EvaluateMessage } from '../../protocol/evaluate';

/** Where the evaluation's messages go: the session (as kernel messages) and the kernel. */
export interface EvaluationSink {
  receive(content: unknown, buffers: ArrayBuffer[]): void;
  hasModel(modelId: string): boolean;
  sendToKernel(content: Record<string, unknown>, buffers?: ArrayBuffer[]): void;
  notify(): void;
}

/** What the re-mask control shows. */
export interface RemaskState {
  settings: EvaluationSettings;
  running: boolean;
  /** Whether Python gave a baseline (else the baseline is zeros). */
  baselineGiven: boolean;
  /** Output columns of the model, once known (class choices). */
  classes: number | null;
}

export class BrowserEvaluation {
  readonly data: EvaluationData;
  private worker: Worker | null = null;
  private runNumber = 0;
  private evaluation = '';
  private settings: EvaluationSettings;
  private announced = false;
  private running = false;
  private classes: number | null = null;

  constructor(
    message: EvaluateMessage,
    private readonly sink: EvaluationSink
  ) {
    this.data = message.data;
    this.settings = message.settings;
    this.evaluation = message.evaluation;
    this.chunkSamples = message.chunkSamples;
    this.worker = new Worker(new URL('../evaluate/worker.js', import.meta.url));
    this.worker.onmessage = event => this.onReply(event.data as EvaluatorReply);
    this.worker.onerror = event => this.fail(`the evaluation worker failed: ${event.message}`);
    this.post({ op: 'load', data: this.data, model: message.model });
    if (message.run) {
      this.start(message.evaluation, message.settings);
    }
  }

  private readonly chunkSamples: number;

  get modelId(): string {
    return this.data.modelId;
  }

  get state(): RemaskState {
    return {
      settings: this.settings,
      running: this.running,
      baselineGiven: this.data.baseline !== null,
      classes: this.classes
    };
  }

  /** Evaluates every sample under `settings` (a re-mask from the control or from Python). */
  start(evaluation: string, settings: EvaluationSettings): void {
    this.runNumber++;
    this.evaluation = evaluation;
    this.settings = settings;
    this.announced = false;
    this.running = true;
    this.sink.sendToKernel({
      kind: 'evaluating',
      modelId: this.modelId,
      evaluation,
      settings: { ...settings }
    });
    this.post({ op: 'run', run: this.runNumber, settings, chunkSamples: this.chunkSamples });
    if (this.sink.hasModel(this.modelId)) {
      // Running at once (progress, Cancel), over the earlier tables until the first chunk
      this.sink.receive(this.statusMessage('running', ''), []);
      const progress = { done: 0, total: this.data.nSamples, samplesPerSecond: 0 };
      this.sink.receive(
        { kind: 'progress', modelId: this.modelId, ...progress, etaSeconds: null, modelRows: 0 },
        []
      );
    }
    this.sink.notify();
  }

  /** A re-mask from the page: a fresh evaluation id, which tells the kernel to start over too. */
  remask(settings: EvaluationSettings): void {
    this.start(`browser-${Date.now().toString(36)}-${this.runNumber + 1}`, settings);
  }

  cancel(): void {
    if (this.running) {
      this.post({ op: 'cancel', run: this.runNumber });
    }
  }

  dispose(): void {
    this.worker?.terminate();
    this.worker = null;
  }

  private post(request: EvaluatorRequest): void {
    this.worker?.postMessage(request);
  }

  private onReply(reply: EvaluatorReply): void {
    if (reply.type === 'loaded') {
      return;
    }
    if (reply.run !== null && reply.run !== this.runNumber) {
      return; // an older run, overtaken by a re-mask
    }
    if (reply.type === 'failed') {
      this.fail(reply.message);
    } else if (reply.type === 'chunk') {
      this.onChunk(reply);
    } else {
      this.finish(reply.state, reply.timing);
    }
  }

  /**
   * The first chunk of a run replaces the model's tables (a `dataset` message): until then the
   * earlier results stay on screen, so a model that cannot run loses nothing.
   */
  private onChunk(reply: Extract<EvaluatorReply, { type: 'chunk' }>): void {
    const { chunk, progress } = reply;
    if (!this.announced) {
      this.announced = true;
      this.sink.receive(this.datasetMessage(), []);
      this.sink.receive(
        { kind: 'status', modelId: this.modelId, state: 'running', message: '' },
        []
      );
    }
    this.classes = reply.outputs;
    const names = ['values', 'se', 'prediction'];
    const arrays = [chunk.values, chunk.se, chunk.prediction];
    if (chunk.predictedClass) {
      names.push('predictedClass');
      arrays.push(chunk.predictedClass);
    }
    if (this.data.labels) {
      names.push('label');
      arrays.push(this.data.labels.slice(chunk.start, chunk.start + chunk.count));
    }
    const header = {
      modelId: this.modelId,
      start: chunk.start,
      count: chunk.count,
      buffers: names
    };
    // The kernel's copy first: the session hands its arrays over to the compute worker.
    this.sink.sendToKernel(
      { ...header, kind: 'values', evaluation: this.evaluation, modelRows: progress.modelRows },
      arrays.map(a => a.slice().buffer)
    );
    this.sink.receive(
      { ...header, kind: 'chunk' },
      arrays.map(a => a.buffer as ArrayBuffer)
    );
    this.sink.receive({ kind: 'progress', modelId: this.modelId, ...progress }, []);
  }

  private finish(state: 'done' | 'cancelled', timing: EvaluationTiming | null): void {
    this.running = false;
    this.sink.sendToKernel({
      kind: 'evaluated',
      modelId: this.modelId,
      evaluation: this.evaluation,
      state,
      message: '',
      timing
    });
    if (this.sink.hasModel(this.modelId)) {
      this.sink.receive(this.statusMessage(state, ''), []);
    }
    this.sink.notify();
  }

  /** Shown in the widget with what failed; the tables on screen stay (marked by the status). */
  private fail(reason: string): void {
    this.running = false;
    const message = `evaluate="browser": ${reason}`;
    this.sink.sendToKernel({
      kind: 'evaluated',
      modelId: this.modelId,
      evaluation: this.evaluation,
      state: 'error',
      message
    });
    if (!this.sink.hasModel(this.modelId)) {
      this.sink.receive(this.datasetMessage(), []); // nothing computed yet: the error shows alone
    }
    this.sink.receive(this.statusMessage('error', message), []);
    this.sink.notify();
  }

  private statusMessage(state: string, message: string): Record<string, unknown> {
    return { kind: 'status', modelId: this.modelId, state, message };
  }

  private datasetMessage(): Record<string, unknown> {
    const { target } = this.settings;
    return {
      kind: 'dataset',
      modelId: this.modelId,
      label: this.data.label,
      names: this.data.names,
      M: this.data.names.length,
      nSamples: this.data.nSamples,
      target: String(target)
    };
  }
}
