/**
 * Running sums (core/sums.ts): decomposing chunk by chunk into sums must give the same aggregate
 * as the pass over the per-sample arrays, with every kernel that can serve an M.
 */
import { describe, expect, it } from 'vitest';
import {
  aggregate,
  aggregateOfSums,
  allocatePerSample,
  allocateSums,
  decomposeInto,
  meanAbsoluteOrderMass
} from '../../../src/core';
import type { Aggregate } from '../../../src/core';
import { expectAllClose, randomTables } from './helpers';

function expectSameAggregate(actual: Aggregate, expected: Aggregate, label: string): void {
  expect(actual.n, label).toBe(expected.n);
  expect(actual.nUndefined, label).toBe(expected.nUndefined);
  for (const field of ['meanMatrix', 'meanShapley', 'orderMass', 'contributions'] as const) {
    expectAllClose(actual[field], expected[field], 1e-12, `${label} ${field}`);
  }
  for (const field of ['globalIntershap', 'localMean'] as const) {
    expectAllClose([actual[field]], [expected[field]], 1e-12, `${label} ${field}`);
  }
}

/** Decomposes `values` in three uneven chunks into fresh arrays and running sums. */
function decomposeInChunks(values: Float64Array, M: number, n: number) {
  const per = allocatePerSample(M, n);
  const sums = allocateSums(M);
  const width = 2 ** M;
  for (const [a, b] of [
    [0, 5],
    [5, 6],
    [6, n]
  ]) {
    decomposeInto(values.subarray(a * width, b * width), M, per, a, sums);
  }
  return { per, sums };
}

describe('running sums', () => {
  // M ≤ 7: register kernels sum in their locals; M = 8, 9: blocked kernels, summed afterwards.
  it.each([2, 3, 4, 5, 6, 7, 8, 9])('give the aggregate of the pass at M = %i', M => {
    const n = 23;
    const values = randomTables(n, M, 40 + M);
    // Two games the model ignores: their local scores are undefined and must stay out of the mean.
    for (const a of [3, 17]) {
      values.fill(0.25, a * 2 ** M, (a + 1) * 2 ** M);
    }
    const { per, sums } = decomposeInChunks(values, M, n);
    const expected = aggregate(per);
    expect(expected.nUndefined).toBe(2);
    expectSameAggregate(aggregateOfSums(M, sums), expected, `M=${M}`);
    const meanAbs = Array.from({ length: M }, (_, k) => {
      let total = 0;
      for (let a = 0; a < n; a++) {
        total += Math.abs(per.orderMass[a * M + k]);
      }
      return total / n;
    });
    expectAllClose(meanAbsoluteOrderMass(M, sums), meanAbs, 1e-12, `M=${M} mean |Mass_k|`);
  });

  it('add nothing for a chunk stopped by a non-finite table', () => {
    const M = 4;
    const per = allocatePerSample(M, 10);
    const sums = allocateSums(M);
    const values = randomTables(10, M, 9);
    decomposeInto(values.subarray(0, 4 * 16), M, per, 0, sums);
    const before = sums.slice();
    const bad = values.slice(4 * 16);
    bad[2 * 16 + 7] = Infinity;
    expect(() => decomposeInto(bad, M, per, 4, sums)).toThrow(/Infinity/);
    expect(Array.from(sums)).toEqual(Array.from(before));
    expectSameAggregate(aggregateOfSums(M, sums), aggregate(per, [0, 1, 2, 3]), 'after refusal');
  });

  it('are refused when laid out for another M, naming the argument', () => {
    const per = allocatePerSample(4, 3);
    expect(() => decomposeInto(randomTables(3, 4, 1), 4, per, 0, allocateSums(3))).toThrow(
      `sums: expected running sums for M = 4 (${allocateSums(4).length} numbers), got ${allocateSums(3).length}`
    );
  });

  it('give NaN scores and n = 0 before any sample', () => {
    const empty = aggregateOfSums(3, allocateSums(3));
    expect(empty.n).toBe(0);
    expect(empty.globalIntershap).toBeNaN();
    expect(empty.localMean).toBeNaN();
    expect(Array.from(meanAbsoluteOrderMass(3, allocateSums(3))).every(Number.isNaN)).toBe(true);
  });
});
