/**
 * onnxruntime-web, loaded only when a browser-evaluated model arrives: the quickstart and every
 * kernel-evaluated widget never fetch it. Its WebAssembly file ships in the lab extension's own
 * static assets (webpack emits the file the bundle names next to it), so nothing is requested
 * outside the Jupyter origin.
 *
 * One thread, SIMD: Jupyter pages are not cross-origin isolated, so there is no
 * SharedArrayBuffer and onnxruntime-web's threads cannot start (docs/ARCHITECTURE.md).
 */
import type * as Ort from 'onnxruntime-web/wasm';
import type { ModelCall } from './evaluator';
import type { ModelInputs } from './types';

let runtime: Promise<typeof Ort> | null = null;

function onnxRuntime(): Promise<typeof Ort> {
  runtime ??= import(/* webpackChunkName: "onnxruntime-web" */ 'onnxruntime-web/wasm').then(ort => {
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
    return ort;
  });
  return runtime;
}

/** A model session and the call the evaluator makes on it. */
export interface LoadedModel {
  call: ModelCall;
  release(): Promise<void>;
}

/**
 * Opens the model with onnxruntime-web. Errors name what failed: a graph it cannot parse, an
 * operator its WebAssembly build lacks, or memory.
 */
export async function loadModel(bytes: Uint8Array, inputs: ModelInputs): Promise<LoadedModel> {
  const ort = await onnxRuntime();
  let session: Ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
  } catch (error) {
    throw new Error(`onnxruntime-web could not load the model: ${message(error)}`);
  }
  const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
  // Early fusion: one input of every modality's features side by side.
  const shapes =
    inputs.fusion === 'early'
      ? [[inputs.shapes.reduce((sum, shape) => sum + size(shape), 0)]]
      : inputs.shapes;
  const call: ModelCall = async (buffers, rows) => {
    const feeds: Record<string, Ort.Tensor> = {};
    buffers.forEach((buffer, k) => {
      feeds[inputs.inputNames[k]] = new ort.Tensor('float32', buffer, [rows, ...shapes[k]]);
    });
    let results: Ort.InferenceSession.OnnxValueMapType;
    try {
      results = await session.run(feeds, [inputs.outputName]);
    } catch (error) {
      throw new Error(`onnxruntime-web could not run the model: ${message(error)}`);
    }
    const output = results[inputs.outputName] as Ort.Tensor;
    if (output.type !== 'float32') {
      throw new Error(
        `model: expected a float32 output '${inputs.outputName}', got ${output.type}`
      );
    }
    const width = size(output.dims.slice(1));
    return { data: output.data as Float32Array, width };
  };
  return { call, release: () => session.release() };
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
