/**
 * The browser's evaluator with onnxruntime-web's WebAssembly build (in Node here, as in the
 * page's worker), against the kernel engine's values for the same ONNX models and data
 * (tests/fixtures/evaluate, made by scripts/make_evaluate_fixture.py): equal to 1e-5 wherever both
 * are exact (mean and baseline masking, random masking with every background row drawn).
 */
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-web/wasm';
import { describe, expect, it } from 'vitest';
import { makeDraws } from '../../../../src/compute/evaluate/draws';
import {
  CoalitionEvaluator,
  EvaluationCancelled
} from '../../../../src/compute/evaluate/evaluator';
import type { ModelCall } from '../../../../src/compute/evaluate/evaluator';
import type { EvaluationData, EvaluationSettings } from '../../../../src/compute/evaluate/types';

interface Case {
  model: string;
  fusion: 'early' | 'list';
  inputNames: string[];
  softmax: boolean;
  settings: EvaluationSettings;
  baseline: Record<string, number[]> | null;
  values: number[];
  se: number[];
  prediction: number[];
}

interface Fixture {
  samples: Record<string, number[]>;
  background: Record<string, number[]>;
  shapes: Record<string, number[]>;
  nSamples: number;
  nBackground: number;
  cases: Record<string, Case>;
}

const dir = new URL('../../../fixtures/evaluate/', import.meta.url);
const fixture = JSON.parse(readFileSync(new URL('kernel_values.json', dir), 'utf8')) as Fixture;
const names = Object.keys(fixture.shapes);
ort.env.wasm.numThreads = 1;

function dataFor(c: Case): EvaluationData {
  return {
    modelId: 'm',
    label: 'model',
    names,
    nSamples: fixture.nSamples,
    nBackground: fixture.nBackground,
    samples: names.map(n => Float32Array.from(fixture.samples[n])),
    background: names.map(n => Float32Array.from(fixture.background[n])),
    baseline: c.baseline ? names.map(n => Float32Array.from(c.baseline![n])) : null,
    inputs: {
      fusion: c.fusion,
      inputNames: c.inputNames,
      outputName: 'logits',
      shapes: names.map(n => fixture.shapes[n])
    },
    softmax: c.softmax,
    labels: null
  };
}

/** The model through onnxruntime-web, with the input shapes the worker gives it (ort.ts). */
async function modelCall(c: Case, data: EvaluationData): Promise<ModelCall> {
  const session = await ort.InferenceSession.create(readFileSync(new URL(c.model, dir)));
  const widths = data.inputs.shapes.map(s => s.reduce((a, b) => a * b, 1));
  const shapes = c.fusion === 'early' ? [[widths.reduce((a, b) => a + b, 0)]] : data.inputs.shapes;
  return async (buffers, rows) => {
    const feeds: Record<string, ort.Tensor> = {};
    buffers.forEach((b, k) => {
      feeds[c.inputNames[k]] = new ort.Tensor('float32', b.slice(), [rows, ...shapes[k]]);
    });
    const out = (await session.run(feeds)).logits;
    return { data: out.data as Float32Array, width: out.dims[1] };
  };
}

async function evaluate(c: Case, chunkSamples: number, settings = c.settings, batchRows?: number) {
  const data = dataFor(c);
  const evaluator = new CoalitionEvaluator(data, settings, await modelCall(c, data), batchRows);
  const values: number[] = [];
  const se: number[] = [];
  const prediction: number[] = [];
  for (let start = 0; start < data.nSamples; start += chunkSamples) {
    const count = Math.min(chunkSamples, data.nSamples - start);
    const chunk = await evaluator.chunk(start, count, () => false);
    values.push(...chunk.values);
    se.push(...chunk.se);
    prediction.push(...chunk.prediction);
  }
  return { values, se, prediction, evaluator };
}

function expectClose(got: number[], want: number[], tolerance: number): void {
  expect(got.length).toBe(want.length);
  const worst = Math.max(...got.map((g, i) => Math.abs(g - want[i])));
  expect(worst).toBeLessThan(tolerance);
}

describe('browser evaluation equals the kernel engine where both are exact', () => {
  for (const [name, c] of Object.entries(fixture.cases)) {
    it(`${name} (${c.fusion} fusion, ${c.settings.masking} masking)`, async () => {
      const got = await evaluate(c, 5);
      expectClose(got.values, c.values, 1e-5);
      expectClose(got.prediction, c.prediction, 1e-5);
      // v(∅) of random masking has an SE over the background; every exact value has SE 0
      expectClose(got.se, c.se, 1e-5);
    });
  }

  it('gives the same values whatever the chunk and batch sizes', async () => {
    const c = fixture.cases.early_random_all_rows;
    const settings = { ...c.settings, draws: 7, seed: 3 };
    const one = await evaluate(c, 1, settings);
    const all = await evaluate(c, fixture.nSamples, settings);
    // batches of 3 rows: v(∅)'s 20 background rows and every job span several model calls
    const small = await evaluate(c, 5, settings, 3);
    expect(one.values).toEqual(all.values);
    expect(one.se).toEqual(all.se);
    expect(small.values).toEqual(all.values);
    expect(one.evaluator.modelRows).toBeGreaterThan(0);
  });

  it('draws fewer rows than the background: a Monte-Carlo estimate with a standard error', async () => {
    const c = fixture.cases.early_random_all_rows;
    const got = await evaluate(c, 4, { ...c.settings, draws: 5 });
    const F = 8;
    const masked = got.se.filter((_, i) => i % F !== 0 && i % F !== F - 1);
    expect(masked.every(s => s > 0)).toBe(true);
    // SEs from 5 draws are rough: most values (not all) lie within 3 of them of the exact ones
    const errors = got.values
      .map((v, i) => ({ error: Math.abs(v - c.values[i]), se: got.se[i], i }))
      .filter(({ i }) => i % F !== 0 && i % F !== F - 1);
    const covered = errors.filter(({ error, se }) => error <= 3 * se).length / errors.length;
    expect(covered).toBeGreaterThan(0.8);
  });

  it('stops between batches once cancelled', async () => {
    const c = fixture.cases.early_mean;
    const data = dataFor(c);
    const evaluator = new CoalitionEvaluator(data, c.settings, await modelCall(c, data));
    await expect(evaluator.chunk(0, 4, () => true)).rejects.toBeInstanceOf(EvaluationCancelled);
  });

  it('names a class index the model does not have', async () => {
    const c = fixture.cases.early_mean;
    const data = dataFor(c);
    const evaluator = new CoalitionEvaluator(
      data,
      { ...c.settings, target: 7 },
      await modelCall(c, data)
    );
    await expect(evaluator.chunk(0, 2, () => false)).rejects.toThrow(
      'target: expected a class index in 0..2 for a model with 3 outputs, got 7'
    );
  });

  it('names non-finite outputs', async () => {
    const c = fixture.cases.early_mean;
    const data = dataFor(c);
    data.samples[0][0] = NaN;
    const evaluator = new CoalitionEvaluator(data, c.settings, await modelCall(c, data));
    await expect(evaluator.chunk(0, 2, () => false)).rejects.toThrow(
      /model: expected finite outputs, got NaN in row 0/
    );
  });
});

describe('the browser draws (docs/SPEC.md §1)', () => {
  it('orders the background by a seeded permutation and windows every sample in it', () => {
    const d = makeDraws(10, 4, 3, 1);
    expect([...d.order].sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
    expect(makeDraws(10, 4, 3, 1)).toEqual(d);
    expect(makeDraws(10, 4, 3, 2).order).not.toEqual(d.order);
    expect([...d.starts].every(s => s >= 0 && s < 10)).toBe(true);
  });
});

describe('loading a model onnxruntime-web cannot run (ort.ts)', () => {
  it('names the operator it lacks', async () => {
    const { loadModel } = await import('../../../../src/compute/evaluate/ort');
    const bytes = readFileSync(new URL('unsupported.onnx', dir));
    const inputs = {
      fusion: 'early' as const,
      inputNames: ['features'],
      outputName: 'logits',
      shapes: [[12]]
    };
    await expect(loadModel(bytes, inputs)).rejects.toThrow(
      /onnxruntime-web could not load the model: .*FancyMix/
    );
  });
});
