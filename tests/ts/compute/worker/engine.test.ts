/**
 * The engine as the views use it: every answer is checked against core's functions applied to the
 * same samples, so the views' numbers are the core's numbers.
 */
import { describe, expect, it } from 'vitest';
import { ComputeEngine } from '../../../../src/compute/worker/engine';
import type {
  AggregateResult,
  LocalHistogram,
  RasterResult,
  SampleDetail
} from '../../../../src/compute/types';
import { rasterizePoints } from '../../../../src/compute/worker/raster';
import {
  dataRanges,
  groupByCode,
  localHistogram,
  selectRegion
} from '../../../../src/compute/worker/samples';
import { aggregate, bootstrapGlobal, decomposeAll } from '../../../../src/core';
import { expectAllClose, randomTables } from '../../core/helpers';

const M = 3;
const N = 400;
const C = 2 ** M;
const values = randomTables(N, M, 3);
const per = decomposeAll(values, M);
const labels = Float64Array.from({ length: N }, (_, i) => (i * 7) % 3);
const prediction = Float64Array.from({ length: N }, (_, i) => values[i * C + C - 1]);

function engineWith(received: number): ComputeEngine {
  const engine = new ComputeEngine();
  engine.handle({ op: 'reset', modelId: 'm', M, nSamples: N });
  engine.handle({
    op: 'append',
    modelId: 'm',
    start: 0,
    values: values.slice(0, received * C),
    label: labels.slice(0, received)
  });
  return engine;
}

function expectAggregateOf(actual: AggregateResult, indices: ArrayLike<number>): void {
  const expected = aggregate(per, Int32Array.from(indices));
  expect(actual.n).toBe(expected.n);
  expectAllClose(actual.meanMatrix, expected.meanMatrix, 1e-12, 'meanMatrix');
  expectAllClose([actual.globalIntershap], [expected.globalIntershap], 1e-12, 'global');
  expectAllClose([actual.localMean], [expected.localMean], 1e-12, 'localMean');
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('ComputeEngine', () => {
  it('aggregates only received samples while values stream in', () => {
    const engine = engineWith(250);
    const all = engine.handle({ op: 'aggregate', modelId: 'm' }) as AggregateResult;
    expectAggregateOf(all, range(250));
    expect(all.received).toBe(250);
    // Mean |Mass_k|: checked against a plain loop over the same samples.
    const size = range(M).map(
      k => range(250).reduce((sum, a) => sum + Math.abs(per.orderMass[a * M + k]), 0) / 250
    );
    expectAllClose(all.orderMassAbs, size, 1e-12, 'orderMassAbs');
    const subset = Int32Array.from([10, 20, 300, 399]);
    const part = engine.handle({ op: 'aggregate', modelId: 'm', subset }) as AggregateResult;
    expectAggregateOf(part, [10, 20]);
  });

  it('says which kernel will decompose a model: SIMD up to M = 10, JavaScript above', () => {
    const engine = new ComputeEngine();
    expect(engine.handle({ op: 'reset', modelId: 'a', M: 3, nSamples: 5 })).toEqual({
      kind: 'simd',
      fallback: null
    });
    expect(engine.handle({ op: 'reset', modelId: 'b', M: 11, nSamples: 5 })).toEqual({
      kind: 'javascript',
      fallback: 'M = 11: the WebAssembly SIMD kernel serves up to 10 modalities'
    });
  });

  it('tables above the WebAssembly memory cap fall back to JavaScript, say why, and still add up', () => {
    // A 1 MiB cap instead of 1 GiB: 8,000 samples at M = 3 take about 1.5 MiB.
    const engine = new ComputeEngine(2 ** 20);
    const n = 8000;
    expect(engine.handle({ op: 'reset', modelId: 'small', M, nSamples: 100 })).toEqual({
      kind: 'simd',
      fallback: null
    });
    expect(engine.handle({ op: 'reset', modelId: 'big', M, nSamples: n })).toEqual({
      kind: 'javascript',
      fallback:
        'the tables of 8,000 samples take 2 MiB, above the 1 MiB cap on one WebAssembly memory'
    });
    const tables = randomTables(n, M, 41);
    engine.handle({ op: 'append', modelId: 'big', start: 0, values: tables.slice() });
    const all = engine.handle({ op: 'aggregate', modelId: 'big' }) as AggregateResult;
    const expected = aggregate(decomposeAll(tables, M));
    expect(all.n).toBe(n);
    expect(all.globalIntershap).toBeCloseTo(expected.globalIntershap, 12);
    expectAllClose(all.meanMatrix, expected.meanMatrix, 1e-12, 'meanMatrix');
  });

  it('aggregates correctly after a chunk re-sends samples it already had', () => {
    const engine = engineWith(250);
    // Samples 200 … 299 again: 200 … 249 are replaced, 250 … 299 are new.
    const resent = values.slice(200 * C, 300 * C).map(v => 1 - v);
    engine.handle({ op: 'append', modelId: 'm', start: 200, values: resent });
    const expectedValues = values.slice(0, 300 * C);
    expectedValues.set(resent, 200 * C);
    const expected = aggregate(decomposeAll(expectedValues, M));
    const all = engine.handle({ op: 'aggregate', modelId: 'm' }) as AggregateResult;
    expect(all.n).toBe(300);
    expectAllClose(all.meanMatrix, expected.meanMatrix, 1e-12, 'meanMatrix');
    expectAllClose([all.localMean], [expected.localMean], 1e-12, 'localMean');
  });

  it('re-aggregates a brushed region: the selection is the samples inside it', () => {
    const engine = engineWith(N);
    const region = {
      kind: 'box' as const,
      x: [-1, 0.5] as [number, number],
      y: [0.2, 0.8] as [number, number]
    };
    const selected = engine.handle({ op: 'select', modelId: 'm', region }) as Int32Array;
    const x = prediction;
    const want = selectRegion({ x, y: per.local, received: null }, region);
    expect(Array.from(selected)).toEqual(Array.from(want));
    expect(selected.length).toBeGreaterThan(10);
    expectAggregateOf(
      engine.handle({ op: 'aggregate', modelId: 'm', subset: selected }) as AggregateResult,
      selected
    );
  });

  it('uses the kernel’s prediction when given, v(full) otherwise', () => {
    const engine = engineWith(N);
    const given = Float64Array.from({ length: 10 }, (_, i) => 100 + i);
    engine.handle({
      op: 'append',
      modelId: 'm',
      start: 0,
      values: values.slice(0, 10 * C),
      prediction: given
    });
    const first = engine.handle({ op: 'sample', modelId: 'm', index: 3 }) as SampleDetail;
    const later = engine.handle({ op: 'sample', modelId: 'm', index: 30 }) as SampleDetail;
    expect(first.prediction).toBe(103);
    expect(later.prediction).toBe(values[30 * C + C - 1]);
  });

  it('answers a sample with its matrix, value table, label and waterfall', () => {
    const engine = engineWith(N);
    const detail = engine.handle({ op: 'sample', modelId: 'm', index: 17 }) as SampleDetail;
    expect(detail.matrix).toEqual(Array.from(per.matrices.subarray(17 * M * M, 18 * M * M)));
    expect(detail.values).toEqual(Array.from(values.subarray(17 * C, 18 * C)));
    expect(detail.local).toBe(per.local[17]);
    expect(detail.label).toBe(labels[17]);
    expect(detail.waterfall[detail.waterfall.length - 1].value).toBe(values[17 * C + C - 1]);
    expect(detail.coalitions).toHaveLength(C);
    expect(() => engineWith(5).handle({ op: 'sample', modelId: 'm', index: 17 })).toThrow(
      'expected a received sample index'
    );
  });

  it('aggregates cohorts by label exactly as core does on each label’s samples', () => {
    const engine = engineWith(N);
    const result = engine.handle({ op: 'groups', modelId: 'm', grouping: { kind: 'label' } }) as {
      categories: number[];
      groups: Array<{ code: number; members: Int32Array; aggregate: AggregateResult }>;
    };
    expect(result.categories).toEqual([0, 1, 2]);
    for (const group of result.groups) {
      const members = range(N).filter(i => labels[i] === group.code);
      expect(Array.from(group.members)).toEqual(members);
      expectAggregateOf(group.aggregate as AggregateResult, members);
    }
    const none = engine.handle({
      op: 'groups',
      modelId: 'm',
      grouping: { kind: 'predictedClass' }
    });
    expect(none).toEqual({ categories: [], groups: [] });
    expect(() =>
      engine.handle({
        op: 'groups',
        modelId: 'm',
        grouping: { kind: 'codes', codes: new Float64Array(3) }
      })
    ).toThrow('expected one code per sample (400), got 3');
  });

  it('computes the interval of core bootstrapGlobal, and drops a superseded one', async () => {
    const engine = engineWith(N);
    // 2000 resamples of 200 samples: more than one slice, so the second request can overtake.
    const settings = { reps: 2000, seed: 0, level: 0.95 };
    const subset = Int32Array.from(range(N).filter(i => i % 2 === 0));
    const first = engine.handle({
      op: 'interval',
      modelId: 'm',
      key: 'sel',
      subset,
      bootstrap: settings
    });
    const second = engine.handle({
      op: 'interval',
      modelId: 'm',
      key: 'sel',
      subset,
      bootstrap: settings
    });
    const other = engine.handle({ op: 'interval', modelId: 'm', key: 'all', bootstrap: settings });
    const reference = bootstrapGlobal(per, subset, settings);
    expect(await first).toBeNull();
    expect(await second).toEqual({ low: reference.low, high: reference.high });
    const all = bootstrapGlobal(per, undefined, settings);
    expect(await other).toEqual({ low: all.low, high: all.high });
  });

  it('rasterises the plotted samples and counts them per label', () => {
    const engine = engineWith(N);
    const image = engine.handle({
      op: 'raster',
      modelId: 'm',
      request: {
        width: 40,
        height: 30,
        xRange: null,
        yRange: null,
        colorBy: 'label',
        palette: [0xff0000, 0x00ff00, 0x0000ff],
        fallbackColor: 0x808080,
        radius: 1,
        highlight: null,
        fadedAlpha: 60
      }
    }) as RasterResult;
    expect(image.pixels.length).toBe(40 * 30 * 4);
    const defined = range(N).filter(i => Number.isFinite(per.local[i]));
    expect(image.nPlotted).toBe(defined.length);
    expect(image.counts).toEqual(
      [0, 1, 2].map(code => defined.filter(i => labels[i] === code).length)
    );
    expect(image.colorBy).toBe('label');
    expect(image.xRange[0]).toBeLessThan(Math.min(...defined.map(i => prediction[i])));
  });

  it('keeps the scatter’s placement and the histogram of all samples only until a chunk arrives', () => {
    // The engine's image and histogram against the same functions over the samples received so
    // far, made from scratch: brushes reuse what the engine keeps, a chunk or a re-sent one
    // makes it again.
    const engine = engineWith(150);
    const request = (highlight: Int32Array | null, colorBy: 'label' | 'none' = 'label') => ({
      width: 37,
      height: 29,
      xRange: null,
      yRange: null,
      colorBy,
      palette: [0xff0000, 0x00ff00, 0x0000ff],
      fallbackColor: 0x808080,
      radius: 1.4,
      highlight,
      fadedAlpha: 60
    });
    const expectFresh = (received: number, local: Float64Array, x: Float64Array) => {
      const mask = new Uint8Array(N).fill(1, 0, received);
      const points = { x, y: local, received: received === N ? null : mask };
      const selection = Int32Array.from(range(received).filter(i => i % 3 === 0));
      for (const highlight of [null, selection, new Int32Array(0)]) {
        for (const colorBy of ['label', 'none'] as const) {
          const image = engine.handle({
            op: 'raster',
            modelId: 'm',
            request: request(highlight, colorBy)
          }) as RasterResult;
          const grouping = colorBy === 'label' ? groupByCode(labels, points.received) : null;
          const group = new Int32Array(N).fill(-1);
          grouping?.members.forEach((members, k) => members.forEach(i => (group[i] = k)));
          const ranges = dataRanges(points);
          const highlighted = highlight && new Uint8Array(N);
          highlight?.forEach(i => (highlighted![i] = 1));
          expect(image.xRange).toEqual(ranges.x);
          expect(image.pixels).toEqual(
            rasterizePoints(points, {
              ...request(null),
              xRange: ranges.x,
              yRange: ranges.y,
              group: grouping ? group : null,
              colors: grouping ? [0xff0000, 0x00ff00, 0x0000ff] : [],
              highlight: highlighted
            })
          );
          expect(image.nPlotted).toBe(
            range(received).filter(i => Number.isFinite(local[i])).length
          );
        }
        const hist = engine.handle({
          op: 'histogram',
          modelId: 'm',
          bins: 10,
          selection: highlight
        }) as LocalHistogram;
        expect(hist).toEqual(localHistogram(local, points.received, 10, highlight));
      }
    };
    expectFresh(150, per.local, prediction);
    engine.handle({
      op: 'append',
      modelId: 'm',
      start: 150,
      values: values.slice(150 * C),
      label: labels.slice(150)
    });
    expectFresh(N, per.local, prediction);
    // Samples 0 … 99 again, with other values: the kept placement must not survive it.
    const resent = values.slice(0, 100 * C).map(v => 1 - v);
    engine.handle({
      op: 'append',
      modelId: 'm',
      start: 0,
      values: resent,
      label: labels.slice(0, 100)
    });
    const now = values.slice();
    now.set(resent);
    const nowPer = decomposeAll(now, M);
    expectFresh(
      N,
      nowPer.local,
      Float64Array.from({ length: N }, (_, i) => now[i * C + C - 1])
    );
  });
});
