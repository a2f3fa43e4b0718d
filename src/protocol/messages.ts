/**
 * The messages between the kernel and the browser. The kernel side of the same schema is
 * intershap_widget/protocol.py; keep the two in step (tests/python/test_protocol.py and
 * tests/ts/protocol.test.ts check each side against the same examples).
 *
 * Floats never travel as JSON lists: every array is a binary buffer, named in `buffers`, in order.
 * The widget's synced `selection` state is a buffer of little-endian int32 sample indices.
 *
 * Both directions are checked here, with the same words as the kernel side: the examples in
 * tests/fixtures/protocol/messages.json hold both validators to the same verdicts and messages.
 */

export const PROTOCOL_VERSION = 1;

/**
 * Bounds a header must keep before anything is allocated for it (the same in protocol.py). The
 * modality limits equal `MIN_MODALITIES`/`MAX_MODALITIES` in src/core/validate.ts (this layer may
 * import nothing; tests/ts/protocol/fuzz.test.ts checks they agree). A data set holds at most
 * `MAX_SAMPLES` samples and `MAX_TABLE_VALUES` value-table entries (nSamples × 2^M, 8 GiB of
 * float64), far above what a browser tab can hold, so a real data set never meets them while a
 * header of 2^40 samples or M = 30 is refused before the session or the worker allocates.
 */
export const MIN_WIRE_MODALITIES = 2;
export const MAX_WIRE_MODALITIES = 16;
export const MAX_SAMPLES = 2 ** 25;
export const MAX_TABLE_VALUES = 2 ** 30;

/** The most samples a data set of M modalities may announce. */
export function maxSamples(M: number): number {
  return Math.min(MAX_SAMPLES, Math.floor(MAX_TABLE_VALUES / 2 ** M));
}

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

export type Json = Record<string, unknown>;

/** Describes a received value in an error message (as `describe` in protocol.py does). */
export function describe(value: unknown): string {
  if (value === undefined) {
    return 'nothing';
  }
  if (value === null) {
    return 'null';
  }
  if (Array.isArray(value)) {
    return `an array of length ${value.length}`;
  }
  if (typeof value === 'string') {
    return `the string ${JSON.stringify(value.slice(0, 40))}`;
  }
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
    return `a binary buffer of ${value.byteLength} bytes`;
  }
  if (typeof value === 'object') {
    return 'an object';
  }
  return `${typeof value} ${String(value).slice(0, 40)}`;
}

export function field<T>(
  msg: Json,
  name: string,
  check: (v: unknown) => v is T,
  expected: string
): T {
  const value = Object.prototype.hasOwnProperty.call(msg, name) ? msg[name] : undefined;
  if (!check(value)) {
    throw new ProtocolError(
      `${String(msg.kind)} message: field '${name}' expected ${expected}, got ${describe(value)}`
    );
  }
  return value;
}

export const isString = (v: unknown): v is string => typeof v === 'string';
export const isCount = (v: unknown): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= 0;
export const isFiniteNumber = (v: unknown): v is number =>
  typeof v === 'number' && Number.isFinite(v);
export const isStringArray = (v: unknown): v is string[] =>
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
  const msg = checkObject(raw);
  switch (msg.kind) {
    case 'dataset': {
      const names = field(msg, 'names', isStringArray, 'a list of modality names');
      const M = field(msg, 'M', isCount, 'a non-negative integer');
      if (M < MIN_WIRE_MODALITIES || M > MAX_WIRE_MODALITIES) {
        throw new ProtocolError(
          `dataset message: field 'M' expected ${MIN_WIRE_MODALITIES} to ${MAX_WIRE_MODALITIES} modalities, got ${M}`
        );
      }
      if (names.length !== M) {
        throw new ProtocolError(
          `dataset message: field 'names' expected ${M} names (M), got ${names.length}`
        );
      }
      const nSamples = field(msg, 'nSamples', isCount, 'a non-negative integer');
      if (nSamples > maxSamples(M)) {
        throw new ProtocolError(
          `dataset message: field 'nSamples' expected at most ${maxSamples(M)} samples for M = ${M}, got ${nSamples}`
        );
      }
      return {
        kind: 'dataset',
        modelId: field(msg, 'modelId', isString, 'a string'),
        label: field(msg, 'label', isString, 'a string'),
        names,
        M,
        nSamples,
        target: field(msg, 'target', isString, 'a string')
      };
    }
    case 'chunk':
      return {
        kind: 'chunk',
        modelId: field(msg, 'modelId', isString, 'a string'),
        start: sampleCount(msg, 'start'),
        count: sampleCount(msg, 'count'),
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
      throw kindError(KERNEL_KINDS, msg.kind);
  }
}

/** A chunk's `start` or `count`: a non-negative integer of at most `MAX_SAMPLES`. */
function sampleCount(msg: Json, name: string): number {
  const value = field(msg, name, isCount, 'a non-negative integer');
  if (value > MAX_SAMPLES) {
    throw new ProtocolError(
      `${String(msg.kind)} message: field '${name}' expected at most ${MAX_SAMPLES} samples, got ${value}`
    );
  }
  return value;
}

const KERNEL_KINDS = ['dataset', 'chunk', 'progress', 'status', 'cohorts'];
const BROWSER_KINDS = ['hello', 'cancel', 'clientError', 'results'];

function kindError(kinds: string[], kind: unknown): ProtocolError {
  const listed = kinds.map(k => `'${k}'`).join(', ');
  return new ProtocolError(
    `message: field 'kind' expected one of ${listed}, got ${describe(kind)}`
  );
}

export function checkObject(raw: unknown): Json {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ProtocolError(`message: expected an object, got ${describe(raw)}`);
  }
  return raw as Json;
}

export type Buffer = ArrayBuffer | ArrayBufferView;

export function bytesOf(buffer: Buffer): Uint8Array {
  return buffer instanceof ArrayBuffer
    ? new Uint8Array(buffer)
    : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/**
 * Copies a received buffer into a Float64Array. A copy, because a DataView into the websocket
 * frame need not be 8-byte aligned, and the array is handed on to the worker anyway.
 * `kind` names the message in the error.
 */
export function toFloat64(buffer: Buffer, name: string, kind = 'chunk'): Float64Array {
  return copyFloat64(float64Bytes(buffer, name, kind));
}

/** The bytes of a buffer of whole float64 values, checked but not yet copied. */
function float64Bytes(buffer: Buffer, name: string, kind: string): Uint8Array {
  if (!(buffer instanceof ArrayBuffer || ArrayBuffer.isView(buffer))) {
    throw new ProtocolError(
      `${kind} message: buffer '${name}' expected a binary buffer, got ${describe(buffer)}`
    );
  }
  const view = bytesOf(buffer);
  if (view.byteLength % 8 !== 0) {
    throw new ProtocolError(
      `${kind} message: buffer '${name}' expected a whole number of float64 values, got ${view.byteLength} bytes`
    );
  }
  return view;
}

function copyFloat64(view: Uint8Array): Float64Array {
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
  if (!(M >= MIN_WIRE_MODALITIES && M <= MAX_WIRE_MODALITIES)) {
    // from the model's dataset message
    throw new ProtocolError(
      `chunk message: expected a model of ${MIN_WIRE_MODALITIES} to ${MAX_WIRE_MODALITIES} modalities, got M = ${M}`
    );
  }
  const decoded: DecodedChunk = { message, values: new Float64Array(0) };
  // Every buffer is checked against the header before any is copied: a chunk allocates only
  // what its header promises, and a bad chunk allocates nothing.
  const views = message.buffers.map((name, i) => {
    const view = float64Bytes(buffers[i], name, 'chunk');
    const perSample = name === 'values' || name === 'se' ? 2 ** M : 1;
    const expected = message.count * perSample;
    if (view.byteLength / 8 !== expected) {
      throw new ProtocolError(
        `chunk message: buffer '${name}' expected ${expected} float64 values (${message.count} samples × ${perSample}), got ${view.byteLength / 8}`
      );
    }
    return view;
  });
  message.buffers.forEach((name, i) => {
    decoded[name] = copyFloat64(views[i]);
  });
  return decoded;
}

/** A cohorts message's one buffer: a float64 code per sample. */
export function decodeCohorts(
  message: CohortsMessage,
  buffers: ReadonlyArray<Buffer>
): Float64Array {
  if (buffers.length !== 1) {
    throw new ProtocolError(
      `${message.kind} message: expected 1 buffer of codes, got ${buffers.length}`
    );
  }
  return toFloat64(buffers[0], 'codes', 'cohorts');
}

// ------------------------------------------------------------------------------------------------
// Browser → kernel

export const RESULT_BUFFERS = ['meanMatrix', 'contributions', 'orderMass', 'local'] as const;
export type ResultBufferName = (typeof RESULT_BUFFERS)[number];

export interface ResultsMessage {
  kind: 'results';
  modelId: string;
  n: number;
  globalIntershap: number | null;
  localMean: number | null;
  nUndefined: number;
  interval: [number, number] | null;
  /** The order of the buffers that follow: always RESULT_BUFFERS. */
  buffers: ResultBufferName[];
}

export type BrowserMessage =
  | { kind: 'hello'; protocol: number }
  | { kind: 'cancel'; modelId: string | null }
  | { kind: 'clientError'; message: string }
  | ResultsMessage;

/** A browser message as the kernel decodes it: results come with their arrays. */
export type DecodedBrowserMessage =
  | Exclude<BrowserMessage, ResultsMessage>
  | {
      message: ResultsMessage;
      kind: 'results';
      meanMatrix: Float64Array;
      contributions: Float64Array;
      orderMass: Float64Array;
      local: Float64Array;
    };

const isInterval = (v: unknown): v is [number, number] | null =>
  v === null || (Array.isArray(v) && v.length === 2 && v.every(isFiniteNumber));

/**
 * Checks a browser message as the kernel does (`parse_browser_message` in protocol.py), so that
 * the browser's side of the schema is tested against the same examples. `models` gives the
 * number of modalities of each model the kernel has, by id.
 */
export function parseBrowserMessage(
  raw: unknown,
  buffers: ReadonlyArray<Buffer>,
  models: Readonly<Record<string, number>>
): DecodedBrowserMessage {
  const msg = checkObject(raw);
  switch (msg.kind) {
    case 'hello':
      return {
        kind: 'hello',
        protocol: field(msg, 'protocol', isCount, 'a non-negative integer')
      };
    case 'cancel':
      return {
        kind: 'cancel',
        modelId: field(
          msg,
          'modelId',
          (v): v is string | null => v === null || isString(v),
          'a string or null'
        )
      };
    case 'clientError':
      return { kind: 'clientError', message: field(msg, 'message', isString, 'a string') };
    case 'results': {
      const known = Object.keys(models)
        .map(id => `'${id}'`)
        .join(', ');
      const modelId = field(
        msg,
        'modelId',
        (v): v is string => isString(v) && Object.prototype.hasOwnProperty.call(models, v),
        `one of the models [${known}]`
      );
      return decodeResults(msg, buffers, models[modelId]);
    }
    default:
      throw kindError(BROWSER_KINDS, msg.kind);
  }
}

function decodeResults(
  msg: Json,
  buffers: ReadonlyArray<Buffer>,
  M: number
): DecodedBrowserMessage {
  const names = msg.buffers;
  const json = (v: unknown) => (v === undefined ? 'nothing' : JSON.stringify(v));
  if (
    !Array.isArray(names) ||
    names.length !== RESULT_BUFFERS.length ||
    names.some((name, i) => name !== RESULT_BUFFERS[i]) ||
    buffers.length !== RESULT_BUFFERS.length
  ) {
    throw new ProtocolError(
      `results message: expected buffers ${json(RESULT_BUFFERS)}, got names ${json(names)} with ${buffers.length} buffers`
    );
  }
  const [meanMatrix, contributions, orderMass, local] = RESULT_BUFFERS.map((name, i) =>
    toFloat64(buffers[i], name, 'results')
  );
  if (meanMatrix.length !== M * M || contributions.length !== M || orderMass.length !== M) {
    throw new ProtocolError(
      `results message: expected a ${M}x${M} matrix and ${M} contributions and order masses, got sizes ${meanMatrix.length}, ${contributions.length}, ${orderMass.length}`
    );
  }
  const message: ResultsMessage = {
    kind: 'results',
    modelId: field(msg, 'modelId', isString, 'a string'),
    n: field(msg, 'n', isCount, 'a non-negative integer'),
    globalIntershap: field(msg, 'globalIntershap', isNullableNumber, 'a number or null'),
    localMean: field(msg, 'localMean', isNullableNumber, 'a number or null'),
    nUndefined: field(msg, 'nUndefined', isCount, 'a non-negative integer'),
    interval: field(msg, 'interval', isInterval, 'two finite numbers or null'),
    buffers: [...RESULT_BUFFERS]
  };
  return { kind: 'results', message, meanMatrix, contributions, orderMass, local };
}

/** JSON has no NaN: undefined numbers travel as null. */
export function nullIfNaN(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

// ------------------------------------------------------------------------------------------------
// The selection: the widget's synced state, a buffer of little-endian int32 sample indices

const SELECTION = 'selection: expected a binary buffer of int32 sample indices';

/**
 * Encodes sample indices as the selection state travels: an exactly-sized little-endian buffer
 * (the page's own byte order, as copyFloat64 assumes: every browser JupyterLab runs in).
 */
export function selectionToBuffer(indices: ArrayLike<number>): ArrayBuffer {
  return (indices instanceof Int32Array ? indices.slice() : Int32Array.from(indices)).buffer;
}

function typedName(value: ArrayBufferView): string | null {
  if (value instanceof DataView || value instanceof Uint8Array || value instanceof Int8Array) {
    return null; // raw bytes
  }
  if (value instanceof Uint8ClampedArray || value instanceof Int32Array) {
    return null;
  }
  const names: Array<[new (...args: never[]) => ArrayBufferView, string]> = [
    [Float64Array, 'float64'],
    [Float32Array, 'float32'],
    [BigInt64Array, 'int64'],
    [BigUint64Array, 'uint64'],
    [Uint32Array, 'uint32'],
    [Int16Array, 'int16'],
    [Uint16Array, 'uint16']
  ];
  return names.find(([type]) => value instanceof type)?.[1] ?? value.constructor.name;
}

/** Whether every index lies in [0, n): one loop, no array made, for a brush's 500,000. */
function allWithin(indices: Int32Array, n: number): boolean {
  for (let r = 0; r < indices.length; r++) {
    const i = indices[r];
    if (i < 0 || i >= n) {
      return false;
    }
  }
  return true;
}

/**
 * Decodes the selection state (as the kernel sends it: a DataView of int32 bytes) into sample
 * indices, in the order they came: neither sorted nor de-duplicated. With `nSamples`, every index
 * must lie in [0, nSamples). Throws ProtocolError naming what is wrong (as protocol.py does).
 */
export function decodeSelection(state: unknown, nSamples?: number): Int32Array {
  let indices: Int32Array;
  if (state instanceof Int32Array) {
    indices = state.slice();
  } else if (state instanceof ArrayBuffer || ArrayBuffer.isView(state)) {
    const dtype = state instanceof ArrayBuffer ? null : typedName(state);
    if (dtype !== null) {
      throw new ProtocolError(`${SELECTION}, got a ${dtype} buffer`);
    }
    const bytes = bytesOf(state);
    if (bytes.byteLength % 4 !== 0) {
      throw new ProtocolError(`${SELECTION} (4 bytes each), got ${bytes.byteLength} bytes`);
    }
    // A byte copy, as copyFloat64 makes: the bytes need not be 4-byte aligned.
    indices = new Int32Array(bytes.byteLength / 4);
    new Uint8Array(indices.buffer).set(bytes);
  } else {
    throw new ProtocolError(`${SELECTION}, got ${describe(state)}`);
  }
  if (nSamples !== undefined && !allWithin(indices, nSamples)) {
    const bad = indices.filter(i => i < 0 || i >= nSamples);
    throw new ProtocolError(
      `selection: expected sample indices from 0 to ${nSamples - 1}, got [${Array.from(bad.slice(0, 5)).join(', ')}]` +
        (bad.length > 5 ? ' ...' : '')
    );
  }
  return indices;
}
