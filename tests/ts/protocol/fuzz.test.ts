/**
 * Property tests of the browser's parsers (issue 20): random, truncated and oversized messages
 * raise the parser's own ProtocolError and nothing else, a header that promises more than the
 * bounds (M = 30, nSamples = 2^40, a count of 2^31) is refused before anything is allocated, and a
 * session fed garbage after a good chunk keeps what it had. One test per message family.
 */
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { ComputeClient } from '../../../src/compute/main/client';
import { Session } from '../../../src/compute/main/session';
import { MAX_MODALITIES, MIN_MODALITIES } from '../../../src/core/validate';
import { parseCompareMessage } from '../../../src/protocol/compare';
import { parseExportMessage } from '../../../src/protocol/export';
import {
  decodeChunk,
  decodeCohorts,
  decodeSelection,
  MAX_SAMPLES,
  MAX_WIRE_MODALITIES,
  MIN_WIRE_MODALITIES,
  parseBrowserMessage,
  parseKernelMessage,
  ProtocolError
} from '../../../src/protocol/messages';
import type { ChunkMessage, CohortsMessage } from '../../../src/protocol/messages';

const RUNS = { numRuns: 300 };

/** Runs `f` and counts the float64 values it allocates (the parsers' only large allocations). */
function float64Allocations(f: () => void): number {
  const Original = globalThis.Float64Array;
  let count = 0;
  class Counting extends Original {
    constructor(...args: unknown[]) {
      super(...(args as [number]));
      count += this.length;
    }
  }
  globalThis.Float64Array = Counting as unknown as Float64ArrayConstructor;
  try {
    f();
  } finally {
    globalThis.Float64Array = Original;
  }
  return count;
}

/** Runs `f`; an error other than ProtocolError fails the property. Returns whether it parsed. */
function parsesOrRefuses(f: () => unknown): boolean {
  try {
    f();
    return true;
  } catch (error) {
    if (!(error instanceof ProtocolError)) {
      throw error;
    }
    expect(error.message).toMatch(/message|selection|buffer/);
    return false;
  }
}

/** Values that break parsers: huge and odd numbers, wrong types, anything at all. */
const odd = fc.oneof(
  fc.constantFrom(
    2 ** 31,
    2 ** 40,
    2 ** 53,
    Number.MAX_VALUE,
    -1,
    30,
    1.5,
    NaN,
    Infinity,
    -Infinity,
    -0,
    '',
    '3',
    null,
    true,
    [],
    {}
  ),
  fc.integer(),
  fc.double(),
  fc.string(),
  fc.anything()
);

/** A buffer as the wire may hand it over, or something that is not one. */
const anyBuffer = fc.oneof(
  fc.uint8Array({ maxLength: 96 }).map(a => new DataView(a.buffer)),
  fc.uint8Array({ maxLength: 96 }).map(a => a.buffer as ArrayBuffer),
  fc.float64Array({ maxLength: 12 }),
  fc.int32Array({ maxLength: 12 }),
  fc.anything()
) as fc.Arbitrary<ArrayBuffer | ArrayBufferView>;

/** A valid message with one field replaced by an odd value (or one more field). */
function mutated(valid: Record<string, unknown>): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .tuple(fc.constantFrom(...Object.keys(valid), 'kind', 'extra'), odd)
    .map(([key, value]) => ({ ...valid, [key]: value }));
}

/** A valid message's bytes cut short at a random byte. */
function truncated(bytes: Uint8Array): fc.Arbitrary<DataView> {
  return fc
    .integer({ min: 0, max: Math.max(bytes.byteLength - 1, 0) })
    .map(cut => new DataView(bytes.slice(0, cut).buffer));
}

const DATASET = {
  kind: 'dataset',
  modelId: 'a',
  label: 'model',
  names: ['image', 'text'],
  M: 2,
  nSamples: 4,
  target: 'predicted'
};
const CHUNK = {
  kind: 'chunk',
  modelId: 'a',
  start: 0,
  count: 2,
  buffers: ['values', 'prediction']
};
const chunkValues = Float64Array.from({ length: 8 }, (_, i) => i / 8);
const chunkPrediction = Float64Array.from([0.25, 0.75]);

describe('protocol fuzzing: the browser side', () => {
  it('shares its modality bounds with src/core', () => {
    expect(MIN_WIRE_MODALITIES).toBe(MIN_MODALITIES);
    expect(MAX_WIRE_MODALITIES).toBe(MAX_MODALITIES);
  });

  it('family dataset: random and oversized headers are refused by name, before any allocation', () => {
    const allocated = float64Allocations(() =>
      fc.assert(
        fc.property(fc.oneof(mutated(DATASET), fc.anything()), raw => {
          if (parsesOrRefuses(() => parseKernelMessage(raw))) {
            const message = parseKernelMessage(raw);
            expect(message.kind === 'dataset' ? message.M : 2).toBeLessThanOrEqual(16);
          }
        }),
        RUNS
      )
    );
    expect(allocated).toBe(0);
    for (const [field, value, error] of [
      ['M', 30, "field 'M' expected 2 to 16 modalities, got 30"],
      ['nSamples', 2 ** 40, "field 'nSamples' expected at most 33554432 samples for M = 2"],
      ['nSamples', 2 ** 31, "field 'nSamples' expected at most 33554432 samples"]
    ] as const) {
      expect(() => parseKernelMessage({ ...DATASET, [field]: value })).toThrow(error);
    }
  });

  it('family chunk: random, truncated and oversized chunks raise ProtocolError only', () => {
    const header = fc.oneof(mutated(CHUNK), fc.constant(CHUNK));
    const buffers = fc.oneof(
      fc.array(anyBuffer, { maxLength: 3 }),
      truncated(new Uint8Array(chunkValues.buffer)).map(v => [v, chunkPrediction]),
      truncated(new Uint8Array(chunkPrediction.buffer)).map(v => [chunkValues, v])
    );
    const M = fc.oneof(fc.constant(2), fc.integer({ min: -2, max: 40 }));
    fc.assert(
      fc.property(header, buffers, M, (raw, bufs, m) => {
        parsesOrRefuses(() => {
          const message = parseKernelMessage(raw);
          if (message.kind === 'chunk') {
            const chunk = decodeChunk(message, bufs, m);
            expect(chunk.values.length).toBe(message.count * 2 ** m);
          }
        });
      }),
      RUNS
    );
    expect(() => parseKernelMessage({ ...CHUNK, count: 2 ** 31 })).toThrow(
      "chunk message: field 'count' expected at most 33554432 samples, got 2147483648"
    );
    // a count the bytes do not hold is refused before the buffers are copied
    const big = parseKernelMessage({ ...CHUNK, count: MAX_SAMPLES }) as ChunkMessage;
    const allocated = float64Allocations(() =>
      expect(() => decodeChunk(big, [chunkValues, chunkPrediction], 16)).toThrow(ProtocolError)
    );
    expect(allocated).toBe(0);
  });

  it('family progress and status: random headers raise ProtocolError only', () => {
    const progress = {
      kind: 'progress',
      modelId: 'a',
      done: 1,
      total: 4,
      samplesPerSecond: 2,
      etaSeconds: null,
      modelRows: 10
    };
    const status = { kind: 'status', modelId: 'a', state: 'done', message: '' };
    fc.assert(
      fc.property(fc.oneof(mutated(progress), mutated(status)), raw => {
        parsesOrRefuses(() => parseKernelMessage(raw));
      }),
      RUNS
    );
  });

  it('family cohorts: random headers and buffers raise ProtocolError only', () => {
    const header = { kind: 'cohorts', name: 'label', categories: ['a', 'b'] };
    fc.assert(
      fc.property(mutated(header), fc.array(anyBuffer, { maxLength: 2 }), (raw, bufs) => {
        parsesOrRefuses(() => {
          const message = parseKernelMessage(raw) as CohortsMessage;
          if (message.kind === 'cohorts') {
            decodeCohorts(message, bufs);
          }
        });
      }),
      RUNS
    );
  });

  it('family selection: random states and bounds raise ProtocolError only', () => {
    const bound = fc.option(fc.integer({ min: -5, max: 2 ** 40 }), { nil: undefined });
    fc.assert(
      fc.property(fc.oneof(anyBuffer, fc.anything()), bound, (state, n) => {
        parsesOrRefuses(() => {
          const indices = decodeSelection(state, n);
          if (n !== undefined) {
            expect(indices.every(i => i >= 0 && i < n)).toBe(true);
          }
        });
      }),
      RUNS
    );
  });

  it('family browser messages (hello, cancel, clientError, results): ProtocolError only', () => {
    const results = {
      kind: 'results',
      modelId: 'a',
      n: 4,
      globalIntershap: 0.5,
      localMean: 0.4,
      nUndefined: 0,
      interval: [0.4, 0.6],
      buffers: ['meanMatrix', 'contributions', 'orderMass', 'local']
    };
    const messages = fc.oneof(
      mutated(results),
      mutated({ kind: 'hello', protocol: 1 }),
      mutated({ kind: 'cancel', modelId: null }),
      mutated({ kind: 'clientError', message: 'x' }),
      fc.anything()
    );
    fc.assert(
      fc.property(messages, fc.array(anyBuffer, { maxLength: 5 }), (raw, bufs) => {
        parsesOrRefuses(() => parseBrowserMessage(raw, bufs, { a: 2 }));
      }),
      RUNS
    );
  });

  it('family export request: random requests raise ProtocolError only', () => {
    const request = {
      kind: 'export',
      id: 'r1',
      view: 'global',
      chart: null,
      sample: null,
      modelId: null,
      format: 'svg',
      style: { widthMm: 88, heightMm: null, fontPt: 7, dpi: 300, theme: 'paper' }
    };
    const style = mutated(request.style).map(s => ({ ...request, style: s }));
    fc.assert(
      fc.property(fc.oneof(mutated(request), style, fc.anything()), raw => {
        parsesOrRefuses(() => parseExportMessage(raw));
      }),
      RUNS
    );
  });

  it('family compare request: random requests and subset buffers raise ProtocolError only', () => {
    const request = { kind: 'compare', id: 'c1', referenceId: 'a', otherId: 'b', subset: true };
    const subset = new Uint8Array(Int32Array.from([3, 1, 1]).buffer);
    const buffers = fc.oneof(
      fc.array(anyBuffer, { maxLength: 2 }),
      truncated(subset).map(v => [v])
    );
    fc.assert(
      fc.property(fc.oneof(mutated(request), fc.anything()), buffers, (raw, bufs) => {
        parsesOrRefuses(() => parseCompareMessage(raw, bufs));
      }),
      RUNS
    );
  });

  it('family session: a good chunk, then garbage, leaves the session as it was', async () => {
    const session = new Session(new ComputeClient(false), () => undefined);
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    session.receive(DATASET);
    session.receive(CHUNK, [chunkValues, chunkPrediction]);
    const model = session.models.get('a')!;
    for (let k = 0; k < 400 && !(model.received === 2 && model.aggregate); k++) {
      await new Promise(resolve => setTimeout(resolve, 5));
    }
    expect(model.received).toBe(2);
    const before = JSON.stringify({
      aggregate: model.aggregate,
      predictions: Array.from(model.predictions),
      models: [...session.models.keys()],
      dataset: model.dataset
    });
    const garbage = fc.oneof(
      fc.tuple(mutated(CHUNK), fc.array(anyBuffer, { maxLength: 3 })),
      fc.tuple(mutated(DATASET), fc.constant([])),
      fc.tuple(fc.anything(), fc.array(anyBuffer, { maxLength: 2 })),
      fc.tuple(
        fc.constant(CHUNK),
        truncated(new Uint8Array(chunkValues.buffer)).map(v => [v, chunkPrediction])
      )
    );
    let fed = 0;
    fc.assert(
      fc.property(garbage, ([raw, bufs]) => {
        // only what the parsers refuse: a valid message may rightly change the session
        const refused = !parsesOrRefuses(() => {
          const message = parseKernelMessage(raw);
          if (message.kind === 'chunk') {
            if (message.start + message.count > 4) {
              throw new ProtocolError('chunk message: samples beyond the data set');
            }
            decodeChunk(message, bufs as ArrayBufferView[], 2);
          } else if (message.kind === 'cohorts') {
            decodeCohorts(message, bufs as ArrayBufferView[]);
          }
        });
        if (refused) {
          session.error = null;
          session.receive(raw, bufs as ArrayBufferView[]);
          expect(session.error).toMatch(/message|buffer/);
          fed++;
        }
      }),
      RUNS
    );
    // the oversized headers, for this model and for a new one
    session.receive({ ...DATASET, nSamples: 2 ** 31 });
    expect(session.error).toContain("field 'nSamples' expected at most");
    session.receive({ ...DATASET, modelId: 'b', M: 30, names: Array(30).fill('x') });
    expect(session.error).toContain("field 'M' expected 2 to 16 modalities, got 30");
    await new Promise(resolve => setTimeout(resolve, 20));
    expect(fed).toBeGreaterThan(50);
    expect(
      JSON.stringify({
        aggregate: model.aggregate,
        predictions: Array.from(model.predictions),
        models: [...session.models.keys()],
        dataset: model.dataset
      })
    ).toBe(before);
    expect(model.received).toBe(2);
  });
});
