/**
 * Browser-evaluated models (`evaluate="browser"`). The kernel sends the checked model, samples and
 * background once (`evaluate`), and asks for a re-mask (`remask`, from `w.remask`); the browser
 * answers with the value tables it computes (`evaluating`, `values`, `evaluated`), which the
 * kernel stores as if its engine had computed them. The kernel side is
 * intershap_widget/browser_eval.py.
 */
import {
  bytesOf,
  checkObject,
  field,
  isCount,
  isString,
  isStringArray,
  ProtocolError,
  toFloat64
} from './messages';
import type { Buffer, Json } from './messages';

export type Masking = 'random' | 'mean' | 'baseline';
export const MASKINGS: readonly Masking[] = ['random', 'mean', 'baseline'];

/** Which output is explained (SPEC §1): the predicted class, a class index, or the raw output. */
export type EvaluationTarget = 'predicted' | 'output' | number;

/** What a re-mask may change. */
export interface EvaluationSettings {
  masking: Masking;
  /** Background rows drawn per coalition for `random` masking (ignored by the others). */
  draws: number;
  /** Seeds the order of the background and each sample's window (evaluate/draws.ts). */
  seed: number;
  target: EvaluationTarget;
}

/**
 * The model's inputs as the kernel resolved them: `early` feeds one input with the modalities'
 * features side by side, `list` one input per modality (in the graph's order).
 */
export interface ModelInputs {
  fusion: 'early' | 'list';
  inputNames: string[];
  outputName: string;
  /** Per modality, the shape of one sample (without the batch axis). */
  shapes: number[][];
}

/** The data: per modality, samples and background rows flattened to float32 (row-major). */
export interface EvaluationData {
  modelId: string;
  label: string;
  names: string[];
  nSamples: number;
  nBackground: number;
  samples: Float32Array[];
  background: Float32Array[];
  /** Per modality, the `baseline` masking's replacement row, or null when none was given. */
  baseline: Float32Array[] | null;
  inputs: ModelInputs;
  /** Whether a softmax turns the outputs into probabilities (the kernel decided on its probe). */
  softmax: boolean;
  /** One label per sample (NaN where none), as the kernel sends them with its chunks. */
  labels: Float64Array | null;
}

export interface EvaluateMessage {
  evaluation: string;
  /** False when the kernel already holds this evaluation's tables (a reloaded page). */
  run: boolean;
  chunkSamples: number;
  settings: EvaluationSettings;
  data: EvaluationData;
  model: Uint8Array;
}

export interface RemaskMessage {
  modelId: string;
  evaluation: string;
  settings: EvaluationSettings | null;
}

export function isEvaluateRequest(raw: unknown): boolean {
  return isKind(raw, 'evaluate');
}

export function isRemaskRequest(raw: unknown): boolean {
  return isKind(raw, 'remask') || isKind(raw, 'cancelEvaluation');
}

function isKind(raw: unknown, kind: string): boolean {
  return typeof raw === 'object' && raw !== null && (raw as Json).kind === kind;
}

const isTarget = (v: unknown): v is EvaluationTarget =>
  v === 'predicted' || v === 'output' || isCount(v);
const isPositiveCount = (v: unknown): v is number => isCount(v) && v > 0;
const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean';
const isShapes = (v: unknown): v is number[][] =>
  Array.isArray(v) && v.every(s => Array.isArray(s) && s.every(isPositiveCount));

/** Checks a re-mask's settings; the names are the Python arguments'. */
export function parseSettings(raw: unknown): EvaluationSettings {
  const msg = { ...checkObject(raw), kind: 'settings' };
  return {
    masking: field(
      msg,
      'masking',
      (v): v is EvaluationSettings['masking'] => MASKINGS.includes(v as never),
      "one of 'random', 'mean', 'baseline'"
    ),
    draws: field(msg, 'draws', isPositiveCount, 'a positive whole number'),
    seed: field(msg, 'seed', isCount, 'a whole number ≥ 0'),
    target: field(msg, 'target', isTarget, "'predicted', 'output' or a class index")
  };
}

/** A re-mask, or (`cancelEvaluation`, from `w.cancel()`) null settings: stop the run. */
export function parseRemaskMessage(raw: unknown): RemaskMessage {
  const msg = checkObject(raw);
  if (msg.kind === 'cancelEvaluation') {
    return { modelId: field(msg, 'modelId', isString, 'a string'), evaluation: '', settings: null };
  }
  return {
    modelId: field(msg, 'modelId', isString, 'a string'),
    evaluation: field(msg, 'evaluation', isString, 'a string'),
    settings: parseSettings(msg.settings)
  };
}

/**
 * The model and the data. Buffers, in order: the model's bytes; M sample arrays and M background
 * arrays (float32, row-major); M baseline rows when `hasBaseline`; the labels (float64) when
 * `hasLabels`. Each length is checked against the header before anything is kept.
 */
export function parseEvaluateMessage(raw: unknown, buffers: Buffer[]): EvaluateMessage {
  const msg = checkObject(raw);
  const names = field(msg, 'names', isStringArray, 'a list of modality names');
  const M = names.length;
  const nSamples = field(msg, 'nSamples', isPositiveCount, 'a positive whole number');
  const nBackground = field(msg, 'nBackground', isPositiveCount, 'a positive whole number');
  const inputs = checkObject(msg.inputs);
  const shapes = field({ ...inputs, kind: 'evaluate' }, 'shapes', isShapes, 'a list of shapes');
  const fusion = field(
    { ...inputs, kind: 'evaluate' },
    'fusion',
    (v): v is 'early' | 'list' => v === 'early' || v === 'list',
    "'early' or 'list'"
  );
  const hasBaseline = field(msg, 'hasBaseline', isBoolean, 'true or false');
  const hasLabels = field(msg, 'hasLabels', isBoolean, 'true or false');
  const expected = 1 + 2 * M + (hasBaseline ? M : 0) + (hasLabels ? 1 : 0);
  if (shapes.length !== M || buffers.length !== expected) {
    throw new ProtocolError(
      `evaluate message: expected ${M} shapes and ${expected} buffers for ${M} modalities, got ${shapes.length} and ${buffers.length}`
    );
  }
  const widths = shapes.map(shape => shape.reduce((a, b) => a * b, 1));
  const float32 = (k: number, rows: number, m: number, what: string) =>
    toFloat32(buffers[k], rows * widths[m], `${what} of '${names[m]}'`);
  const at = (k: number) => 1 + k;
  return {
    evaluation: field(msg, 'evaluation', isString, 'a string'),
    run: field(msg, 'run', isBoolean, 'true or false'),
    chunkSamples: field(msg, 'chunkSamples', isPositiveCount, 'a positive whole number'),
    settings: parseSettings(msg.settings),
    model: bytesOf(buffers[0]).slice(),
    data: {
      modelId: field(msg, 'modelId', isString, 'a string'),
      label: field(msg, 'label', isString, 'a string'),
      names,
      nSamples,
      nBackground,
      samples: names.map((_, m) => float32(at(m), nSamples, m, 'samples')),
      background: names.map((_, m) => float32(at(M + m), nBackground, m, 'background')),
      baseline: hasBaseline ? names.map((_, m) => float32(at(2 * M + m), 1, m, 'baseline')) : null,
      inputs: {
        fusion,
        inputNames: field({ ...inputs, kind: 'evaluate' }, 'inputNames', isStringArray, 'names'),
        outputName: field({ ...inputs, kind: 'evaluate' }, 'outputName', isString, 'a name'),
        shapes
      },
      softmax: field(msg, 'softmax', isBoolean, 'true or false'),
      labels: hasLabels ? toFloat64(buffers[buffers.length - 1], 'labels', 'evaluate') : null
    }
  };
}

/** An aligned float32 copy of a buffer of exactly `length` values. */
function toFloat32(buffer: Buffer, length: number, name: string): Float32Array {
  const bytes = bytesOf(buffer);
  if (bytes.byteLength !== length * 4) {
    throw new ProtocolError(
      `evaluate message: buffer ${name} expected ${length} float32 values (${length * 4} bytes), got ${bytes.byteLength} bytes`
    );
  }
  const out = new Float32Array(length);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}
