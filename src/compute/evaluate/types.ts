/** What the evaluator works with: the wire's types (src/protocol/evaluate.ts) and its limits. */
export type {
  EvaluationData,
  EvaluationSettings,
  EvaluationTarget,
  Masking,
  ModelInputs
} from '../../protocol/evaluate';

/** Rows at most in one model call, and the input bytes at most (whichever is smaller). */
export const MAX_BATCH_ROWS = 8192;
export const MAX_BATCH_BYTES = 16 * 2 ** 20;
/** `v(∅)` under `random` masking: the mean over at most this many background rows (SPEC §1). */
export const MAX_EMPTY_ROWS = 3000;
