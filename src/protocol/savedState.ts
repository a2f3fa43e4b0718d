/**
 * The widget's saved state (`_saved_state`, written by intershap_widget/saved_state.py): every
 * finished model's value tables, kept in the widget's state so that a notebook saved with its
 * widget state shows the results again with no kernel. The browser replays it into its session as
 * the kernel's own messages (dataset → chunks → status, and cohorts), so the session checks it as
 * it checks the kernel's and the views work unchanged.
 *
 * Above the kernel's cap (`save_state_mb`) the state holds a summary per model only.
 */
import { checkObject, describe, field, isCount, isString, ProtocolError } from './messages';
import type { Json } from './messages';

export const SAVED_STATE_VERSION = 1;

/** Samples per replayed chunk, as the kernel re-sends finished tables (RESEND_BLOCK). */
export const REPLAY_BLOCK = 20_000;

type Buffer = ArrayBuffer | ArrayBufferView;

/** One model's global numbers, as the kernel computed them when it saved the state. */
export interface SavedSummary {
  label: string;
  n: number;
  nSamples: number;
  state: string;
  globalIntershap: number | null;
  interval: [number, number] | null;
}

export interface SavedState {
  /** False when the tables were over the cap: only the summaries were kept. */
  tablesSaved: boolean;
  tableBytes: number;
  capBytes: number;
  summaries: SavedSummary[];
  /** The kernel messages that rebuild the session, in order, with their buffers. */
  messages: Array<{ content: Json; buffers: Buffer[] }>;
}

const isBuffer = (v: unknown): v is Buffer => v instanceof ArrayBuffer || ArrayBuffer.isView(v);
const isBufferList = (v: unknown): v is Buffer[] => Array.isArray(v) && v.every(isBuffer);
const isObject = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isList = (v: unknown): v is unknown[] => Array.isArray(v);
const isNumberOrNull = (v: unknown): v is number | null =>
  v === null || (typeof v === 'number' && Number.isFinite(v));
const isInterval = (v: unknown): v is [number, number] | null =>
  v === null ||
  (Array.isArray(v) && v.length === 2 && v.every(x => typeof x === 'number' && Number.isFinite(x)));

/** A part of a buffer, `offset` and `length` in bytes (a view: nothing is copied here). */
function slice(buffer: Buffer, offset: number, length: number): Uint8Array {
  const bytes =
    buffer instanceof ArrayBuffer
      ? new Uint8Array(buffer)
      : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  return bytes.subarray(offset, offset + length);
}

/**
 * Checks the saved state's envelope and turns it into kernel messages; the messages themselves
 * are checked by the session, as the kernel's are. Throws ProtocolError naming what is wrong.
 */
export function parseSavedState(raw: unknown): SavedState {
  const msg: Json = { ...checkObject(raw), kind: 'saved state' };
  const version = msg.version;
  if (version !== SAVED_STATE_VERSION) {
    throw new ProtocolError(
      `saved state: field 'version' expected ${SAVED_STATE_VERSION}, got ${describe(version)}`
    );
  }
  const tablesSaved = field(
    msg,
    'tablesSaved',
    (v): v is boolean => typeof v === 'boolean',
    'a boolean'
  );
  const state: SavedState = {
    tablesSaved,
    tableBytes: field(msg, 'tableBytes', isCount, 'a non-negative integer'),
    capBytes: field(msg, 'capBytes', isCount, 'a non-negative integer'),
    summaries: [],
    messages: []
  };
  const models = field(msg, 'models', isList, 'a list of models');
  models.forEach(entry => {
    const model: Json = { ...checkObject(entry), kind: 'saved state' };
    const modelId = field(model, 'modelId', isString, 'a string');
    const raw = field(model, 'summary', isObject, 'an object');
    const summary: Json = { ...raw, kind: 'saved state' };
    state.summaries.push({
      label: field(summary, 'label', isString, 'a string'),
      n: field(summary, 'n', isCount, 'a non-negative integer'),
      nSamples: field(summary, 'nSamples', isCount, 'a non-negative integer'),
      state: field(summary, 'state', isString, 'a string'),
      globalIntershap: field(summary, 'globalIntershap', isNumberOrNull, 'a number or null'),
      interval: field(summary, 'interval', isInterval, 'two finite numbers or null')
    });
    if (!tablesSaved) {
      return;
    }
    const names = model.names;
    const M = Array.isArray(names) ? names.length : 0;
    state.messages.push({
      content: {
        kind: 'dataset',
        modelId,
        label: model.label,
        names,
        M,
        nSamples: model.nSamples,
        target: model.target
      },
      buffers: []
    });
    const count = field(model, 'count', isCount, 'a non-negative integer');
    const bufferNames = field(model, 'buffers', isList, 'a list of buffer names');
    const data = field(model, 'data', isBufferList, 'a list of binary buffers');
    const perSample = bufferNames.map(name => (name === 'values' || name === 'se' ? 2 ** M : 1));
    for (let start = 0; start < count; start += REPLAY_BLOCK) {
      const n = Math.min(REPLAY_BLOCK, count - start);
      state.messages.push({
        content: { kind: 'chunk', modelId, start, count: n, buffers: bufferNames },
        // A block of each buffer; a buffer of the wrong length is caught by the chunk's check.
        buffers: data.map((buffer, i) =>
          slice(buffer, start * perSample[i] * 8, n * perSample[i] * 8)
        )
      });
    }
    state.messages.push({
      content: { kind: 'status', modelId, state: model.state, message: model.message },
      buffers: []
    });
  });
  if (tablesSaved) {
    const cohorts = field(msg, 'cohorts', isList, 'a list of cohorts');
    cohorts.forEach(entry => {
      const cohort: Json = { ...checkObject(entry), kind: 'saved state' };
      const codes = field(cohort, 'codes', isBuffer, 'a binary buffer');
      state.messages.push({
        content: { kind: 'cohorts', name: cohort.name, categories: cohort.categories },
        buffers: [codes]
      });
    });
  }
  return state;
}

/** One model's summary as a line: "early: global InterSHAP 0.9656 [0.961, 0.970] over 2,000 samples (done)". */
export function summaryLine(summary: SavedSummary): string {
  const count = (x: number) => x.toLocaleString('en-US');
  const over =
    summary.n === summary.nSamples
      ? `${count(summary.n)} samples`
      : `${count(summary.n)} of ${count(summary.nSamples)} samples`;
  if (summary.n === 0) {
    // As saved_state.summary_line words it, so the notice and the text/plain line agree.
    return `${summary.label}: no sample computed yet, 0 of ${count(summary.nSamples)} samples (${summary.state})`;
  }
  let score = summary.globalIntershap === null ? 'undefined' : summary.globalIntershap.toFixed(4);
  if (summary.interval) {
    score += ` [${summary.interval[0].toFixed(3)}, ${summary.interval[1].toFixed(3)}]`;
  }
  return `${summary.label}: global InterSHAP ${score} over ${over} (${summary.state})`;
}

/** What the widget says when the kernel kept only the summary. */
export function tooLargeNotice(state: SavedState): string {
  const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
  const needed = Math.ceil(state.tableBytes / 1e6) + 1;
  return (
    `The value tables (${mb(state.tableBytes)} MB) were too large to save with the notebook ` +
    `(cap ${mb(state.capBytes)} MB), so only this summary was saved: ` +
    state.summaries.map(summaryLine).join('; ') +
    `. To save them, re-run with InterSHAP(..., save_state_mb=${needed}) ` +
    '(or raise intershap_widget.saved_state.SAVE_STATE_MB) and save the notebook again.'
  );
}
