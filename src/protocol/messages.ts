/**
 * The messages between the kernel and the browser. The kernel side of the same schema is
 * intershap_widget/protocol.py; keep the two in step (tests/python/test_protocol.py and
 * tests/ts/protocol.test.ts check each side against the same examples).
 *
 * Floats never travel as JSON lists: every array is a binary buffer, named in `buffers`, in order.
 */

export const PROTOCOL_VERSION = 1;

/** One model's data set: sent first, and again whenever the browser says hello. */
export interface DatasetMessage {
  kind: 'dataset';
  modelId: string;
  label: string;
  names: string[];
  M: number;
  nSamples: number;
  target: string;
}

/** A block of value tables, samples [start, start + count). */
export interface ChunkMessage {
  kind: 'chunk';
  modelId: string;
  start: number;
  count: number;
  /** The order of the buffers that follow: always 'values', then optional ones. */
  buffers: ChunkBufferName[];
}

export type ChunkBufferName = 'values' | 'se' | 'prediction' | 'label' | 'predictedClass';

export interface ProgressMessage {
  kind: 'progress';
  modelId: string;
  done: number;
  total: number;
  samplesPerSecond: number;
  etaSeconds: number | null;
  modelRows: number;
}

export interface StatusMessage {
  kind: 'status';
  modelId: string;
  state: 'running' | 'done' | 'cancelled' | 'error';
  message: string;
}

/** A grouping of the samples (by label, predicted class or a user column); one float64 code each. */
export interface CohortsMessage {
  kind: 'cohorts';
  name: string;
  categories: string[];
}

export type KernelMessage =
  DatasetMessage | ChunkMessage | ProgressMessage | StatusMessage | CohortsMessage;

/** A decoded chunk: the typed arrays that came as buffers. */
export interface DecodedChunk {
  message: ChunkMessage;
  values: Float64Array;
  se?: Float64Array;
  prediction?: Float64Array;
  label?: Float64Array;
  predictedClass?: Float64Array;
}

export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

type Json = Record<string, unknown>;

function describe(value: unknown): string {
  if (value === null) {
    return 'null';
  }
  if (Array.isArray(value)) {
    return `an array of length ${value.length}`;
  }
  if (typeof value === 'string') {
    return `the string ${JSON.stringify(value.slice(0, 40))}`;
  }
  return `${typeof value} ${String(value).slice(0, 40)}`;
}

function field<T>(msg: Json, name: string, check: (v: unknown) => v is T, expected: string): T {
  const value = msg[name];
  if (!check(value)) {
    throw new ProtocolError(
      `${String(msg.kind)} message: field '${name}' expected ${expected}, got ${describe(value)}`
    );
  }
  return value;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isStringArray = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every(item => typeof item === 'string');
const isNullableNumber = (v: unknown): v is number | null => v === null || isFiniteNumber(v);

const BUFFER_NAMES: ChunkBufferName[] = ['values', 'se', 'prediction', 'label', 'predictedClass'];
const isBufferNames = (v: unknown): v is ChunkBufferName[] =>
  Array.isArray(v) &&
  v.length >= 1 &&
  v[0] === 'values' &&
  v.every(item => BUFFER_NAMES.includes(item as ChunkBufferName));

/** Checks a message's shape; throws ProtocolError naming the field, the expectation and the value. */
export function parseKernelMessage(raw: unknown): KernelMessage {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ProtocolError(`message: expected an object, got ${describe(raw)}`);
  }
  const msg = raw as Json;
  switch (msg.kind) {
    case 'dataset': {
      const names = field(msg, 'names', isStringArray, 'a list of modality names');
      const M = field(msg, 'M', isCount, 'a non-negative integer');
      if (names.length !== M) {
        throw new ProtocolError(
          `dataset message: field 'names' expected ${M} names (M), got ${names.length}`
        );
      }
      return {
        kind: 'dataset',
        modelId: field(msg, 'modelId', isString, 'a string'),
        label: field(msg, 'label', isString, 'a string'),
        names,
        M,
        nSamples: field(msg, 'nSamples', isCount, 'a non-negative integer'),
        target: field(msg, 'target', isString, 'a string')
      };
    }
    case 'chunk':
      return {
        kind: 'chunk',
        modelId: field(msg, 'modelId', isString, 'a string'),
        start: field(msg, 'start', isCount, 'a non-negative integer'),
        count: field(msg, 'count', isCount, 'a non-negative integer'),
        buffers: field(msg, 'buffers', isBufferNames, `a list starting with 'values'`)
      };
    case 'progress':
      return {
        kind: 'progress',
        modelId: field(msg, 'modelId', isString, 'a string'),
        done: field(msg, 'done', isCount, 'a non-negative integer'),
        total: field(msg, 'total', isCount, 'a non-negative integer'),
        samplesPerSecond: field(msg, 'samplesPerSecond', isFiniteNumber, 'a finite number'),
        etaSeconds: field(msg, 'etaSeconds', isNullableNumber, 'a number or null'),
        modelRows: field(msg, 'modelRows', isCount, 'a non-negative integer')
      };
    case 'status': {
      const state = field(
        msg,
        'state',
        (v): v is StatusMessage['state'] =>
          v === 'running' || v === 'done' || v === 'cancelled' || v === 'error',
        `one of 'running', 'done', 'cancelled', 'error'`
      );
      return {
        kind: 'status',
        modelId: field(msg, 'modelId', isString, 'a string'),
        state,
        message: field(msg, 'message', isString, 'a string')
      };
    }
    case 'cohorts':
      return {
        kind: 'cohorts',
        name: field(msg, 'name', isString, 'a string'),
        categories: field(msg, 'categories', isStringArray, 'a list of category names')
      };
    default:
      throw new ProtocolError(
        `message: field 'kind' expected one of 'dataset', 'chunk', 'progress', 'status', 'cohorts', got ${describe(msg.kind)}`
      );
  }
}

/**
 * Copies a received buffer into a Float64Array. A copy, because a DataView into the websocket
 * frame need not be 8-byte aligned, and the array is handed on to the worker anyway.
 */
export function toFloat64(buffer: ArrayBuffer | ArrayBufferView, name: string): Float64Array {
  const view =
    buffer instanceof ArrayBuffer
      ? new Uint8Array(buffer)
      : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  if (view.byteLength % 8 !== 0) {
    throw new ProtocolError(
      `chunk message: buffer '${name}' expected a whole number of float64 values, got ${view.byteLength} bytes`
    );
  }
  const out = new Float64Array(view.byteLength / 8);
  new Uint8Array(out.buffer).set(view);
  return out;
}

/** Decodes a chunk's buffers, checking each has the length the header promises. */
export function decodeChunk(
  message: ChunkMessage,
  buffers: ReadonlyArray<ArrayBuffer | ArrayBufferView>,
  M: number
): DecodedChunk {
  if (buffers.length !== message.buffers.length) {
    throw new ProtocolError(
      `chunk message: expected ${message.buffers.length} buffers (${message.buffers.join(', ')}), got ${buffers.length}`
    );
  }
  const decoded: DecodedChunk = { message, values: new Float64Array(0) };
  message.buffers.forEach((name, i) => {
    const array = toFloat64(buffers[i], name);
    const perSample = name === 'values' || name === 'se' ? 2 ** M : 1;
    const expected = message.count * perSample;
    if (array.length !== expected) {
      throw new ProtocolError(
        `chunk message: buffer '${name}' expected ${expected} float64 values (${message.count} samples × ${perSample}), got ${array.length}`
      );
    }
    decoded[name] = array;
  });
  return decoded;
}

/** Browser → kernel. */
export type BrowserMessage =
  | { kind: 'hello'; protocol: number }
  | { kind: 'cancel'; modelId: string | null }
  | { kind: 'clientError'; message: string }
  | {
      kind: 'results';
      modelId: string;
      n: number;
      globalIntershap: number | null;
      localMean: number | null;
      nUndefined: number;
      interval: [number, number] | null;
      /** The order of the buffers that follow. */
      buffers: Array<'meanMatrix' | 'contributions' | 'orderMass' | 'local' | 'matrices'>;
    };

/** JSON has no NaN: undefined numbers travel as null. */
export function nullIfNaN(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}
