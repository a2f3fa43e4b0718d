/// <reference lib="webworker" />
/**
 * The evaluation worker: runs an ONNX model on masked rows with onnxruntime-web and streams the
 * value tables back, chunk by chunk. It is its own worker, not the compute worker, so that brushes
 * and redraws stay quick while the model runs.
 */
import { CoalitionEvaluator, EvaluationCancelled } from './evaluator';
import type { ModelCall } from './evaluator';
import type { EvaluatorReply, EvaluatorRequest } from './messages';
import { loadModel, LoadedModel } from './ort';
import type { EvaluationData } from './types';

const scope = self as unknown as DedicatedWorkerGlobalScope;
/** How long the worker computes at most before it reads its messages (a cancel, a re-mask). */
const YIELD_MS = 50;
let loaded: { data: EvaluationData; model: Promise<LoadedModel> } | null = null;
/** The run going on; a newer run or a cancel makes the older one stop between batches. */
let current = 0;
let cancelledRun = 0;

function reply(message: EvaluatorReply, transfer: Transferable[] = []): void {
  scope.postMessage(message, transfer);
}

async function run(id: number, request: Extract<EvaluatorRequest, { op: 'run' }>): Promise<void> {
  if (!loaded) {
    throw new Error('evaluate: no model was loaded in this page');
  }
  const { data } = loaded;
  const model = await loaded.model;
  // Time in onnxruntime-web alone, for the throughput the benchmark compares with native.
  let modelMs = 0;
  let yielded = performance.now();
  const timed: ModelCall = async (inputs, rows) => {
    const start = performance.now();
    const out = await model.call(inputs, rows);
    modelMs += performance.now() - start;
    // onnxruntime-web computes synchronously inside its promise, so a cancel or a re-mask waits
    // in the message queue until the worker yields to it: every YIELD_MS at most.
    if (performance.now() - yielded > YIELD_MS) {
      await new Promise(resolve => setTimeout(resolve, 0));
      yielded = performance.now();
    }
    return out;
  };
  const evaluator = new CoalitionEvaluator(data, request.settings, timed);
  const stopped = () => id !== current || cancelledRun === id;
  const began = performance.now();
  await evaluator.prepare();
  for (let start = 0; start < data.nSamples; start += request.chunkSamples) {
    const count = Math.min(request.chunkSamples, data.nSamples - start);
    const chunk = await evaluator.chunk(start, count, stopped);
    const done = start + count;
    const seconds = (performance.now() - began) / 1000;
    const rate = done / Math.max(seconds, 1e-9);
    reply(
      {
        type: 'chunk',
        run: id,
        chunk,
        outputs: evaluator.outputWidth,
        progress: {
          done,
          total: data.nSamples,
          samplesPerSecond: rate,
          etaSeconds: (data.nSamples - done) / rate,
          modelRows: evaluator.modelRows
        }
      },
      [chunk.values.buffer, chunk.se.buffer]
    );
  }
  reply({
    type: 'finished',
    run: id,
    state: 'done',
    timing: {
      modelRows: evaluator.modelRows,
      seconds: (performance.now() - began) / 1000,
      modelSeconds: modelMs / 1000
    }
  });
}

scope.onmessage = (event: MessageEvent<EvaluatorRequest>) => {
  const request = event.data;
  if (request.op === 'load') {
    const model = loadModel(request.model, request.data.inputs);
    loaded = { data: request.data, model };
    model.then(
      () => reply({ type: 'loaded' }),
      error => reply({ type: 'failed', run: null, message: String(error?.message ?? error) })
    );
  } else if (request.op === 'cancel') {
    cancelledRun = request.run;
  } else {
    current = request.run;
    run(request.run, request).catch(error => {
      if (error instanceof EvaluationCancelled) {
        if (request.run === cancelledRun) {
          reply({ type: 'finished', run: request.run, state: 'cancelled', timing: null });
        }
        return; // a newer run took over: it reports for itself
      }
      reply({
        type: 'failed',
        run: request.run,
        message: error instanceof Error ? error.message : String(error)
      });
    });
  }
};
