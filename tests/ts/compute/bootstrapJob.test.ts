import { describe, expect, it } from 'vitest';
import { BootstrapJob } from '../../../src/compute/bootstrapJob';
import { bootstrapGlobal, decomposeAll } from '../../../src/core';
import { randomTables } from '../core/helpers';

const M = 3;
const per = decomposeAll(randomTables(150, M, 11), M);
const settings = { reps: 200, seed: 5, level: 0.9 };

function runInSlices(job: BootstrapJob, budget: number): number {
  let slices = 0;
  while (!job.step(budget)) {
    slices++;
  }
  return slices + 1;
}

describe('BootstrapJob', () => {
  it('gives exactly core bootstrapGlobal, however it is sliced (all samples)', () => {
    const reference = bootstrapGlobal(per, undefined, settings);
    for (const budget of [1, 150 * 7, 1e9]) {
      const job = new BootstrapJob(per, null, settings);
      const slices = runInSlices(job, budget);
      expect(job.result()).toEqual({ low: reference.low, high: reference.high });
      if (budget === 1) {
        expect(slices).toBe(settings.reps);
      }
    }
  });

  it('gives exactly core bootstrapGlobal on a subset with repeats', () => {
    const subset = Int32Array.from([3, 3, 10, 42, 7, 99, 120, 5, 5, 5, 64]);
    const reference = bootstrapGlobal(per, subset, settings);
    const job = new BootstrapJob(per, subset, settings);
    runInSlices(job, 30);
    expect(job.result()).toEqual({ low: reference.low, high: reference.high });
  });

  it('has NaN bounds for an empty subset and refuses a result before it is done', () => {
    const empty = new BootstrapJob(per, new Int32Array(0), settings);
    expect(empty.finished).toBe(true);
    expect(empty.result().low).toBeNaN();
    const unfinished = new BootstrapJob(per, null, settings);
    unfinished.step(1);
    expect(() => unfinished.result()).toThrow('1 of 200 resamples done');
  });
});
