/// <reference lib="webworker" />
/**
 * The web worker: the decomposition runs here so that the page never freezes while value tables
 * stream in. It speaks the request/response protocol of client.ts.
 */
import { ComputeEngine } from './engine';
import type { ComputeRequest } from './engine';

const engine = new ComputeEngine();
const scope = self as unknown as DedicatedWorkerGlobalScope;

scope.onmessage = (event: MessageEvent<{ id: number; request: ComputeRequest }>) => {
  const { id, request } = event.data;
  try {
    scope.postMessage({ id, ok: true, result: engine.handle(request) });
  } catch (error) {
    scope.postMessage({
      id,
      ok: false,
      error: error instanceof Error ? error.message : String(error)
    });
  }
};
