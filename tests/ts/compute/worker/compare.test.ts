/**
 * The engine's comparison of models, as the Compare tab and `w.compare()` use it: every answer is
 * core's paired functions applied to the samples both models have.
 */
import { describe, expect, it } from 'vitest';
import { ComputeEngine } from '../../../../src/compute/worker/engine';
import type { ComparisonResult, RasterResult } from '../../../../src/compute/types';
import { rasterizePoints } from '../../../../src/compute/worker/raster';
import { aggregate, decomposeAll } from '../../../../src/core';
import { localDeltas, pairedBootstrap, pairedDelta } from '../../../../src/core/compare';
import type { PairedBounds } from '../../../../src/core/compare';
import { BOOTSTRAP_SAMPLE_LIMIT } from '../../../../src/core/bootstrap';
import { expectAllClose, randomTables } from '../../core/helpers';

const M = 3;
const N = 300;
const C = 2 ** M;
const tables = { a: randomTables(N, M, 11), b: randomTables(N, M, 12), c: randomTables(N, M, 13) };
const per = {
  a: decomposeAll(tables.a, M),
  b: decomposeAll(tables.b, M),
  c: decomposeAll(tables.c, M)
};
const BOOTSTRAP = { reps: 200, seed: 0, level: 0.95 };

/** Models a, b, c with `received` samples each (b gets fewer when `bReceived` is given). */
function engineWith(received = N, bReceived = received): ComputeEngine {
  const engine = new ComputeEngine();
  for (const [id, count] of [
    ['a', received],
    ['b', bReceived],
    ['c', received]
  ] as const) {
    engine.handle({ op: 'reset', modelId: id, M, nSamples: N });
    engine.handle({
      op: 'append',
      modelId: id,
      start: 0,
      values: tables[id].slice(0, count * C)
    });
  }
  return engine;
}

const range = (n: number) => Int32Array.from({ length: n }, (_, i) => i);

describe('ComputeEngine: comparing models', () => {
  it('gives core’s Δs of each model against the reference', () => {
    const engine = engineWith();
    const result = engine.handle({
      op: 'compare',
      referenceId: 'a',
      otherIds: ['b', 'c'],
      movers: 5,
      withLocalDelta: true
    }) as ComparisonResult;
    expect(result.n).toBe(N);
    expect(result.others.map(o => o.modelId)).toEqual(['b', 'c']);
    expectAllClose(result.reference.meanMatrix, aggregate(per.a).meanMatrix, 1e-12, 'reference');
    for (const other of result.others) {
      const id = other.modelId as 'b' | 'c';
      const expected = pairedDelta(per.a, per[id]);
      expectAllClose(other.delta.matrixDelta, expected.matrixDelta, 1e-12, 'matrixDelta');
      expect(other.delta.globalDelta).toBeCloseTo(expected.globalDelta, 12);
      expectAllClose(other.localDelta!, localDeltas(per.a, per[id]), 1e-12, 'localDelta');
      expect(other.aggregate.globalIntershap).toBeCloseTo(aggregate(per[id]).globalIntershap, 12);
    }
  });

  it('lists the samples whose local score moves most, largest first', () => {
    const engine = engineWith();
    const subset = Int32Array.from([5, 7, 7, 100, 200, 250]);
    const result = engine.handle({
      op: 'compare',
      referenceId: 'a',
      otherIds: ['b'],
      subset,
      movers: 3
    }) as ComparisonResult;
    const moves = [...new Set(subset)]
      .map(i => ({ i, size: Math.abs(per.b.local[i] - per.a.local[i]) }))
      .filter(m => Number.isFinite(m.size))
      .sort((x, y) => y.size - x.size)
      .slice(0, 3);
    expect(result.others[0].movers.map(m => m.index)).toEqual(moves.map(m => m.i));
    const first = result.others[0].movers[0];
    expect(first.delta).toBeCloseTo(first.other - first.reference, 12);
  });

  it('compares only the samples both models have while values stream in', () => {
    const engine = engineWith(N, 120);
    const result = engine.handle({
      op: 'compare',
      referenceId: 'a',
      otherIds: ['b'],
      movers: 0
    }) as ComparisonResult;
    expect(result.n).toBe(120);
    expect(result.others[0].delta.globalDelta).toBeCloseTo(
      pairedDelta(per.a, per.b, range(120)).globalDelta,
      12
    );
  });

  it('gives core’s paired bootstrap, in slices', async () => {
    const engine = engineWith();
    const subset = Int32Array.from(range(N).filter(i => i % 3 !== 0));
    const bounds = (await engine.handle({
      op: 'compareInterval',
      key: 'k',
      referenceId: 'a',
      otherId: 'c',
      subset,
      bootstrap: BOOTSTRAP
    })) as PairedBounds;
    const expected = pairedBootstrap(per.a, per.c, subset, BOOTSTRAP);
    expect(bounds.globalLow).toBe(expected.globalLow);
    expect(bounds.globalHigh).toBe(expected.globalHigh);
    expectAllClose(bounds.matrixLow, expected.matrixLow, 0, 'matrixLow');
  });

  it('gives core’s grouped paired bootstrap above the sample limit, in slices', async () => {
    // Above BOOTSTRAP_SAMPLE_LIMIT a resample draws 20,000 random groups; the groups are formed
    // when the job starts, and the slices must still give the one-shot bounds.
    const n = BOOTSTRAP_SAMPLE_LIMIT + 10_000;
    const big = { a: randomTables(n, 2, 21), b: randomTables(n, 2, 22) };
    const engine = new ComputeEngine();
    for (const id of ['a', 'b'] as const) {
      engine.handle({ op: 'reset', modelId: id, M: 2, nSamples: n });
      engine.handle({ op: 'append', modelId: id, start: 0, values: big[id] });
    }
    const bootstrap = { reps: 60, seed: 5, level: 0.9 };
    const bounds = (await engine.handle({
      op: 'compareInterval',
      key: 'big',
      referenceId: 'a',
      otherId: 'b',
      bootstrap
    })) as PairedBounds;
    const expected = pairedBootstrap(
      decomposeAll(big.a, 2),
      decomposeAll(big.b, 2),
      undefined,
      bootstrap
    );
    expectAllClose(
      [bounds.globalLow, bounds.globalHigh],
      [expected.globalLow, expected.globalHigh],
      1e-12,
      'global'
    );
    expectAllClose(bounds.matrixLow, expected.matrixLow, 1e-12, 'matrixLow');
    expectAllClose(bounds.matrixHigh, expected.matrixHigh, 1e-12, 'matrixHigh');
  });

  it('draws, brushes and clicks the paired plane: local score under a against b', () => {
    const engine = engineWith();
    const raster = engine.handle({
      op: 'raster',
      modelId: 'a',
      pairedWith: 'b',
      request: {
        width: 40,
        height: 30,
        xRange: null,
        yRange: null,
        colorBy: 'none',
        palette: [0],
        fallbackColor: 0,
        radius: 1,
        highlight: null,
        fadedAlpha: 60
      }
    }) as RasterResult;
    const plotted = range(N).filter(
      i => Number.isFinite(per.a.local[i]) && Number.isFinite(per.b.local[i])
    );
    expect(raster.nPlotted).toBe(plotted.length);
    const region = {
      kind: 'box' as const,
      x: [0, 0.5] as [number, number],
      y: [0.5, 1] as [number, number]
    };
    const selected = engine.handle({
      op: 'select',
      modelId: 'a',
      region,
      pairedWith: 'b'
    }) as Int32Array;
    const inside = plotted.filter(
      i =>
        per.a.local[i] >= 0 && per.a.local[i] <= 0.5 && per.b.local[i] >= 0.5 && per.b.local[i] <= 1
    );
    expect(Array.from(selected)).toEqual(Array.from(inside));
  });

  it('draws the paired plane again once either model gets a chunk', () => {
    // b has only its first 100 samples; the plane shows the samples both models have.
    const engine = engineWith(N, 100);
    const draw = () =>
      engine.handle({
        op: 'raster',
        modelId: 'a',
        pairedWith: 'b',
        request: {
          width: 40,
          height: 30,
          xRange: [0, 1],
          yRange: [0, 1],
          colorBy: 'none',
          palette: [0],
          fallbackColor: 0x123456,
          radius: 1,
          highlight: range(N).filter(i => i % 2 === 0),
          fadedAlpha: 60
        }
      }) as RasterResult;
    const expected = (bReceived: number) => {
      const received = new Uint8Array(N).fill(1, 0, bReceived);
      const highlight = Uint8Array.from({ length: N }, (_, i) => (i % 2 === 0 ? 1 : 0));
      return rasterizePoints(
        { x: per.a.local, y: per.b.local, received: bReceived === N ? null : received },
        {
          width: 40,
          height: 30,
          xRange: [0, 1],
          yRange: [0, 1],
          radius: 1,
          group: null,
          colors: [],
          fallbackColor: 0x123456,
          highlight,
          fadedAlpha: 60
        }
      );
    };
    expect(draw().pixels).toEqual(expected(100));
    engine.handle({ op: 'append', modelId: 'b', start: 100, values: tables.b.slice(100 * C) });
    expect(draw().pixels).toEqual(expected(N));
    expect(draw().nPlotted).toBe(
      range(N).filter(i => Number.isFinite(per.a.local[i]) && Number.isFinite(per.b.local[i]))
        .length
    );
  });

  it('refuses a model with other modalities, naming both sizes', () => {
    const engine = engineWith();
    engine.handle({ op: 'reset', modelId: 'd', M: 2, nSamples: N });
    expect(() =>
      engine.handle({ op: 'compare', referenceId: 'a', otherIds: ['d'], movers: 0 })
    ).toThrow(
      "compare: expected 'd' to have the reference's 300 samples and M = 3, got 300 samples and M = 2"
    );
  });
});
