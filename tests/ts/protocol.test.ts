import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  decodeChunk,
  decodeCohorts,
  decodeSelection,
  parseBrowserMessage,
  parseKernelMessage,
  ProtocolError,
  selectionToBuffer
} from '../../src/protocol/messages';
import type { ChunkMessage } from '../../src/protocol/messages';

// ------------------------------------------------------------------------------------------------
// The shared examples (tests/python/test_protocol.py reads the same file for the kernel side)

interface BufferSpec {
  dtype: 'float64' | 'int32' | 'uint8';
  data: number[];
  offset?: number;
  typed?: boolean;
}

interface Case {
  name: string;
  content: unknown;
  buffers?: BufferSpec[];
  M?: number;
  error?: string;
}

interface SelectionCase {
  name: string;
  state: BufferSpec | { json: unknown };
  nSamples?: number;
  indices?: number[];
  error?: string;
}

interface Fixture {
  kernelToBrowser: { valid: Case[]; invalid: Case[] };
  browserToKernel: { models: Record<string, number>; valid: Case[]; invalid: Case[] };
  selection: { valid: SelectionCase[]; invalid: SelectionCase[] };
}

const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/protocol/messages.json', import.meta.url), 'utf8')
) as Fixture;

const TYPED = { float64: Float64Array, int32: Int32Array, uint8: Uint8Array };

/** A buffer as the wire hands it over: a DataView of the little-endian bytes (or the typed array). */
function buffer(spec: BufferSpec): ArrayBufferView {
  const typed = new TYPED[spec.dtype](spec.data);
  if (spec.typed) {
    return typed;
  }
  const offset = spec.offset ?? 0;
  const raw = new Uint8Array(offset + typed.byteLength);
  raw.set(new Uint8Array(typed.buffer), offset);
  return new DataView(raw.buffer, offset, typed.byteLength);
}

/** The browser's whole check of a kernel message: the header, then its buffers. */
function receiveKernelMessage(c: Case): unknown {
  const buffers = (c.buffers ?? []).map(buffer);
  const message = parseKernelMessage(c.content);
  if (message.kind === 'chunk') {
    return decodeChunk(message, buffers, c.M ?? 0);
  }
  if (message.kind === 'cohorts') {
    return decodeCohorts(message, buffers);
  }
  return message;
}

describe('the shared examples: kernel to browser', () => {
  it.each(fixture.kernelToBrowser.valid.map(c => [c.name, c] as const))('accepts %s', (_, c) => {
    const decoded = receiveKernelMessage(c);
    if (c.buffers && (c.content as { kind: string }).kind === 'chunk') {
      const chunk = decoded as Record<string, Float64Array>;
      (c.content as ChunkMessage).buffers.forEach((name, i) =>
        expect(Array.from(chunk[name])).toEqual(c.buffers![i].data)
      );
    } else if (!c.buffers) {
      expect(decoded).toEqual(c.content);
    }
  });

  it.each(fixture.kernelToBrowser.invalid.map(c => [c.name, c] as const))('rejects %s', (_, c) => {
    expect(() => receiveKernelMessage(c)).toThrow(ProtocolError);
    expect(() => receiveKernelMessage(c)).toThrow(c.error);
  });
});

describe('the shared examples: browser to kernel', () => {
  const { models } = fixture.browserToKernel;
  const parse = (c: Case) => parseBrowserMessage(c.content, (c.buffers ?? []).map(buffer), models);

  it.each(fixture.browserToKernel.valid.map(c => [c.name, c] as const))('accepts %s', (_, c) => {
    const decoded = parse(c);
    if (decoded.kind === 'results') {
      expect(decoded.message).toEqual(c.content);
      const arrays = [decoded.meanMatrix, decoded.contributions, decoded.orderMass, decoded.local];
      arrays.forEach((array, i) => expect(Array.from(array)).toEqual(c.buffers![i].data));
    } else {
      expect(decoded).toEqual(c.content);
    }
  });

  it.each(fixture.browserToKernel.invalid.map(c => [c.name, c] as const))('rejects %s', (_, c) => {
    expect(() => parse(c)).toThrow(ProtocolError);
    expect(() => parse(c)).toThrow(c.error);
  });
});

describe('the shared examples: the selection state', () => {
  const state = (c: SelectionCase) => ('json' in c.state ? c.state.json : buffer(c.state));

  it.each(fixture.selection.valid.map(c => [c.name, c] as const))('decodes %s', (_, c) => {
    const indices = decodeSelection(state(c), c.nSamples);
    expect(indices).toBeInstanceOf(Int32Array);
    expect(Array.from(indices)).toEqual(c.indices);
    // ... and encodes them back into the same bytes, exactly sized, little-endian.
    const bytes = new Uint8Array(selectionToBuffer(indices));
    expect(Array.from(bytes)).toEqual(
      Array.from(new Uint8Array(Int32Array.from(c.indices!).buffer))
    );
  });

  it.each(fixture.selection.invalid.map(c => [c.name, c] as const))('rejects %s', (_, c) => {
    expect(() => decodeSelection(state(c), c.nSamples)).toThrow(ProtocolError);
    expect(() => decodeSelection(state(c), c.nSamples)).toThrow(c.error);
  });
});

describe('the selection buffer', () => {
  it('is an exactly-sized copy, even of a view into a larger array', () => {
    const whole = new Int32Array([9, 1, 2, 9]);
    const encoded = selectionToBuffer(whole.subarray(1, 3));
    expect(encoded.byteLength).toBe(8);
    expect(Array.from(new Int32Array(encoded))).toEqual([1, 2]);
  });

  it('decodes bytes at any offset, as a websocket frame holds them, and checks every index', () => {
    const indices = Int32Array.from({ length: 1000 }, (_, i) => 3 * i - (i === 500 ? 7 : 0));
    const frame = new Uint8Array(3 + indices.byteLength);
    frame.set(new Uint8Array(indices.buffer), 3);
    const view = new DataView(frame.buffer, 3, indices.byteLength);
    expect(Array.from(decodeSelection(view, 2998))).toEqual(Array.from(indices));
    expect(() => decodeSelection(view, 2997)).toThrow(
      'selection: expected sample indices from 0 to 2996, got [2997]'
    );
    const negative = indices.slice();
    negative[7] = -1;
    expect(() => decodeSelection(negative, 3000)).toThrow('got [-1]');
    expect(Array.from(new Int32Array(selectionToBuffer([1, 2.7, -3])))).toEqual([1, 2, -3]);
  });

  it('does not share memory with the state it decoded', () => {
    const sent = new Int32Array([3, 4]);
    const decoded = decodeSelection(sent, 5);
    sent[0] = 0;
    expect(Array.from(decoded)).toEqual([3, 4]);
  });
});

// ------------------------------------------------------------------------------------------------
// Further cases

const dataset = {
  kind: 'dataset',
  modelId: 'abc',
  label: 'early fusion',
  names: ['image', 'text'],
  M: 2,
  nSamples: 3,
  target: 'predicted'
};

describe('parseKernelMessage', () => {
  it('accepts a well-formed dataset message', () => {
    expect(parseKernelMessage(dataset)).toEqual(dataset);
  });

  it('names the field, the expectation and the value when a field is wrong', () => {
    expect(() => parseKernelMessage({ ...dataset, M: -1 })).toThrow(
      "dataset message: field 'M' expected a non-negative integer, got number -1"
    );
    expect(() => parseKernelMessage({ ...dataset, names: ['image'] })).toThrow(
      "dataset message: field 'names' expected 2 names (M), got 1"
    );
  });

  it('rejects unknown kinds and non-objects', () => {
    expect(() => parseKernelMessage({ kind: 'explode' })).toThrow(ProtocolError);
    expect(() => parseKernelMessage({ ...dataset, label: undefined })).toThrow(
      "dataset message: field 'label' expected a string, got nothing"
    );
    expect(() => parseKernelMessage([1, 2])).toThrow('message: expected an object, got an array');
    expect(() => parseKernelMessage(null)).toThrow('got null');
  });

  it('requires chunk buffers to start with values', () => {
    const chunk = { kind: 'chunk', modelId: 'abc', start: 0, count: 1, buffers: ['se'] };
    expect(() => parseKernelMessage(chunk)).toThrow("field 'buffers' expected a list starting");
  });
});

describe('decodeChunk', () => {
  const header: ChunkMessage = {
    kind: 'chunk',
    modelId: 'abc',
    start: 0,
    count: 2,
    buffers: ['values', 'prediction']
  };

  it('decodes misaligned DataViews into Float64Arrays', () => {
    const values = new Float64Array([1, 2, 3, 4, 5, 6, 7, 8]);
    // A view at byte offset 4: not 8-byte aligned, as websocket frames may be.
    const raw = new Uint8Array(4 + values.byteLength);
    raw.set(new Uint8Array(values.buffer), 4);
    const misaligned = new DataView(raw.buffer, 4, values.byteLength);
    const prediction = new Float64Array([0.9, 0.1]);
    const decoded = decodeChunk(header, [misaligned, prediction.buffer], 2);
    expect(Array.from(decoded.values)).toEqual(Array.from(values));
    expect(Array.from(decoded.prediction!)).toEqual([0.9, 0.1]);
  });

  it('rejects a buffer whose length disagrees with the header', () => {
    const short = new Float64Array(7);
    expect(() => decodeChunk(header, [short.buffer, new Float64Array(2).buffer], 2)).toThrow(
      "buffer 'values' expected 8 float64 values (2 samples × 4), got 7"
    );
    expect(() => decodeChunk(header, [new Float64Array(8).buffer], 2)).toThrow(
      'expected 2 buffers (values, prediction), got 1'
    );
  });
});
