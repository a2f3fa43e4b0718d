/// <reference lib="webworker" />
/**
 * The web worker: the decomposition and every per-sample query run here so that the page never
 * freezes while value tables stream in. It speaks the request/response protocol of
 * ../main/client.ts (the envelopes are typed in ../types.ts).
 * Some requests (bootstrap intervals) answer asynchronously, so replies may come out of order;
 * the client matches them by id.
 */
import type { WorkerReply, WorkerRequest } from '../types';
import { ComputeEngine } from './engine';

const engine = new ComputeEngine();
const scope = self as unknown as DedicatedWorkerGlobalScope;

/** Images are made fresh for each reply: hand their memory over instead of copying it. */
function transferables(result: unknown): Transferable[] {
  const pixels = (result as { pixels?: unknown } | null)?.pixels;
  return pixels instanceof Uint8ClampedArray ? [pixels.buffer] : [];
}

scope.onmessage = async (event: MessageEvent<WorkerRequest>) => {
  const { id, request } = event.data;
  const start = performance.now();
  try {
    const result = await engine.handle(request);
    const reply: WorkerReply = { id, ok: true, result, ms: performance.now() - start };
    scope.postMessage(reply, transferables(result));
  } catch (error) {
    const reply: WorkerReply = {
      id,
      ok: false,
      error: error instanceof Error ? error.message : String(error)
    };
    scope.postMessage(reply);
  }
};
