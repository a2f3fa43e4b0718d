/**
 * The resumable bootstrap: any slicing gives exactly the one-shot interval, and both give the
 * numbers the project gave before the resampler was split out of bootstrapGlobal (same seeds).
 */
import { describe, expect, it } from 'vitest';
import { allocatePerSample, bootstrapGlobal, decomposeAll, mulberry32 } from '../../../src/core';
import type { BootstrapOptions, PerSample } from '../../../src/core';
import { BOOTSTRAP_SAMPLE_LIMIT, BootstrapResampler } from '../../../src/core/bootstrap';
import { randomTables } from './helpers';

/** Φ matrices filled straight from the generator (no decomposition), two of them all zero. */
function fixedMatrices(): PerSample {
  const M = 3;
  const per = allocatePerSample(M, 150);
  const random = mulberry32(2024);
  for (let k = 0; k < per.matrices.length; k++) {
    per.matrices[k] = 2 * random() - 1;
  }
  for (const i of [20, 21]) {
    per.matrices.fill(0, i * M * M, (i + 1) * M * M);
  }
  return per;
}

/** Recorded from bootstrapGlobal before the resampler existed (commit 5102858). */
const RECORDED: [number[] | undefined, BootstrapOptions, number, number, number, number][] = [
  // subset, options, estimate, low, high, undefinedReps
  [
    undefined,
    { reps: 1000, seed: 0, level: 0.95 },
    0.7982026015414123,
    0.5244549853582788,
    0.8975205077891595,
    0
  ],
  [
    undefined,
    { reps: 200, seed: 5, level: 0.9 },
    0.7982026015414123,
    0.5685539488390619,
    0.8944109523619256,
    0
  ],
  [
    [3, 3, 10, 42, 7, 99, 120, 5, 5, 5, 64],
    { reps: 300, seed: 12345, level: 0.8 },
    0.6117926617196113,
    0.5399269513951499,
    0.7328074479118901,
    0
  ],
  [
    [20, 21, 7],
    { reps: 400, seed: 4294967295 },
    0.6366906741575852,
    0.6366906741575852,
    0.6366906741575852,
    108
  ]
];

function runInSlices(resampler: BootstrapResampler, budget: number): number {
  let slices = 1;
  while (!resampler.step(budget)) {
    slices++;
  }
  return slices;
}

describe('bootstrapGlobal', () => {
  it('gives the recorded intervals for the same seeds', () => {
    const per = fixedMatrices();
    for (const [subset, options, estimate, low, high, undefinedReps] of RECORDED) {
      expect(bootstrapGlobal(per, subset, options)).toEqual({ estimate, low, high, undefinedReps });
    }
  });
});

describe('BootstrapResampler', () => {
  const M = 3;
  const per = decomposeAll(randomTables(150, M, 11), M);
  const options = { reps: 200, seed: 5, level: 0.9 };

  it('gives exactly the one-shot interval, however it is sliced (all samples)', () => {
    const reference = bootstrapGlobal(per, undefined, options);
    for (const budget of [1, 149, 150 * 7, 1e9, Infinity]) {
      const resampler = new BootstrapResampler(per, undefined, options);
      const slices = runInSlices(resampler, budget);
      expect({ estimate: reference.estimate, ...resampler.result() }).toEqual(reference);
      expect(resampler.done).toBe(options.reps);
      if (budget <= 150) {
        expect(slices).toBe(options.reps);
      }
    }
  });

  it('gives exactly the one-shot interval on a subset with repeats, and on the recorded cases', () => {
    const subset = Int32Array.from([3, 3, 10, 42, 7, 99, 120, 5, 5, 5, 64]);
    const reference = bootstrapGlobal(per, subset, options);
    const resampler = new BootstrapResampler(per, subset, options);
    expect(runInSlices(resampler, 30)).toBe(Math.ceil(options.reps / 2));
    expect({ estimate: reference.estimate, ...resampler.result() }).toEqual(reference);
    const fixed = fixedMatrices();
    for (const [subsetList, recordedOptions, , low, high, undefinedReps] of RECORDED) {
      const sliced = new BootstrapResampler(fixed, subsetList, recordedOptions);
      runInSlices(sliced, 64);
      expect(sliced.result()).toEqual({ low, high, undefinedReps });
    }
  });

  it('has NaN bounds for an empty subset and refuses a result before it is done', () => {
    const empty = new BootstrapResampler(per, new Int32Array(0), options);
    expect(empty.finished).toBe(true);
    expect(empty.step(1)).toBe(true);
    expect(empty.result()).toEqual({ low: NaN, high: NaN, undefinedReps: options.reps });
    const unfinished = new BootstrapResampler(per, undefined, options);
    expect(unfinished.step(1)).toBe(false);
    expect(() => unfinished.result()).toThrow('1 of 200 resamples done');
  });

  it('checks its options and subset as bootstrapGlobal does', () => {
    expect(() => new BootstrapResampler(per, undefined, { reps: 0 })).toThrow(/options.reps/);
    expect(() => new BootstrapResampler(per, [150])).toThrow(/subset/);
  });
});

describe('BootstrapResampler above BOOTSTRAP_SAMPLE_LIMIT samples', () => {
  // Matrices with a common signal and per-sample noise, so the score's bootstrap spread is real.
  const M = 3;
  const n = BOOTSTRAP_SAMPLE_LIMIT + 10_000;
  const per = allocatePerSample(M, n);
  const random = mulberry32(7);
  for (let a = 0; a < n; a++) {
    for (let k = 0; k < M * M; k++) {
      per.matrices[a * M * M + k] = (k % 4 === 0 ? 0.3 : 0.1) + 0.8 * (random() - 0.5);
    }
  }
  const options = { reps: 300, seed: 3, level: 0.95 };

  it('resamples random groups: the interval of the sample-level bootstrap, to Monte-Carlo noise', () => {
    const grouped = bootstrapGlobal(per, undefined, options);
    // Just under the limit, the same samples but 5% fewer: resampled one by one.
    const subset = Int32Array.from({ length: BOOTSTRAP_SAMPLE_LIMIT }, (_, i) => i);
    const samples = bootstrapGlobal(per, subset, options);
    const width = samples.high - samples.low;
    expect(width).toBeGreaterThan(0);
    expect(Math.abs(grouped.high - grouped.low - width)).toBeLessThan(0.2 * width);
    expect(
      Math.abs((grouped.high + grouped.low) / 2 - (samples.high + samples.low) / 2)
    ).toBeLessThan(0.25 * width);
  });

  it('gives the one-shot interval in any slicing, and the same again for the same seed', () => {
    const oneShot = bootstrapGlobal(per, undefined, options);
    const sliced = new BootstrapResampler(per, undefined, options);
    while (!sliced.step(50_000)) {
      // slices of two or three resamples of 20,000 groups
    }
    expect(sliced.result()).toEqual({
      low: oneShot.low,
      high: oneShot.high,
      undefinedReps: oneShot.undefinedReps
    });
  });

  it('sums its groups in slices too, before the first resample, with the same interval', () => {
    // 210,000 samples in 20,000 groups: 11 per group, four draws of budget per sample read.
    const subset = Int32Array.from({ length: n }, (_, i) => n - 1 - i);
    const oneShot = bootstrapGlobal(per, subset, options);
    const sliced = new BootstrapResampler(per, subset, options);
    for (let slice = 0; slice < 20; slice++) {
      expect(sliced.step(44 * 1000)).toBe(false); // 1,000 groups
      expect(sliced.done).toBe(0);
    }
    // Every group summed: now two resamples of 20,000 groups per slice.
    expect(sliced.step(44 * 1000)).toBe(false);
    expect(sliced.done).toBe(2);
    // A tiny budget still moves on: one group, then one resample per step.
    const tiny = new BootstrapResampler(per, subset, options);
    expect(tiny.step(1)).toBe(false);
    while (!tiny.step(1)) {
      // 19,999 more groups, then 300 resamples
    }
    for (const resampler of [sliced, tiny]) {
      while (!resampler.step(123_457)) {
        // the resamples
      }
      expect(resampler.result()).toEqual({
        low: oneShot.low,
        high: oneShot.high,
        undefinedReps: oneShot.undefinedReps
      });
    }
    expect(tiny.done).toBe(options.reps);
  });
});
