/** What the main thread and the evaluation worker (./worker.ts) say to each other. */
import type { EvaluatedChunk } from './evaluator';
import type { EvaluationData, EvaluationSettings } from './types';

export type EvaluatorRequest =
  | { op: 'load'; data: EvaluationData; model: Uint8Array }
  | { op: 'run'; run: number; settings: EvaluationSettings; chunkSamples: number }
  | { op: 'cancel'; run: number };

export interface RunProgress {
  done: number;
  total: number;
  samplesPerSecond: number;
  etaSeconds: number | null;
  modelRows: number;
}

/** Where a finished run's time went: rows evaluated, seconds in all and in the model's calls. */
export interface EvaluationTiming {
  modelRows: number;
  seconds: number;
  modelSeconds: number;
}

export type EvaluatorReply =
  | { type: 'loaded' }
  | { type: 'chunk'; run: number; chunk: EvaluatedChunk; progress: RunProgress; outputs: number }
  | { type: 'finished'; run: number; state: 'done' | 'cancelled'; timing: EvaluationTiming | null }
  | { type: 'failed'; run: number | null; message: string };
