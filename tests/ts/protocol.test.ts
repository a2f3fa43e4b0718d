import { describe, expect, it } from 'vitest';
import { decodeChunk, parseKernelMessage, ProtocolError } from '../../src/protocol/messages';
import type { ChunkMessage } from '../../src/protocol/messages';

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
