import { describe, expect, it } from 'vitest';
import { coalitionRows, membersOf, waterfallSteps } from '../../../../src/compute/worker/local';
import { decomposeAll } from '../../../../src/core';
import { randomTables } from '../../core/helpers';

describe('waterfallSteps', () => {
  for (const M of [2, 3, 4, 5]) {
    it(`walks from v(∅) to v(full) through M main effects and M(M−1)/2 pairs (M = ${M})`, () => {
      const values = randomTables(5, M, 100 + M);
      const per = decomposeAll(values, M);
      const C = 2 ** M;
      for (let a = 0; a < 5; a++) {
        const v = values.subarray(a * C, (a + 1) * C);
        const matrix = per.matrices.subarray(a * M * M, (a + 1) * M * M);
        const steps = waterfallSteps(v, matrix, M);
        expect(steps.map(s => s.kind)).toEqual([
          'start',
          ...Array(M).fill('main'),
          ...Array((M * (M - 1)) / 2).fill('pair'),
          'end'
        ]);
        const landed = steps
          .filter(s => s.kind === 'main' || s.kind === 'pair')
          .reduce((sum, s) => sum + s.value, steps[0].value);
        expect(landed).toBeCloseTo(steps[steps.length - 1].value, 10);
        expect(steps[0].value).toBe(v[0]);
        expect(steps[steps.length - 1].value).toBe(v[C - 1]);
        // A pair bar is the whole pair interaction: both halves of Φ.
        const pair01 = steps.find(s => s.kind === 'pair')!;
        expect(pair01.modalities).toEqual([0, 1]);
        expect(pair01.value).toBeCloseTo(matrix[1] + matrix[M], 12);
      }
    });
  }
});

describe('coalitionRows', () => {
  it('lists all 2^M coalitions, smallest first, with their values and errors', () => {
    const values = [0, 1, 2, 3, 4, 5, 6, 7];
    const se = [0.5, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0];
    const rows = coalitionRows(values, se, 3);
    expect(rows.map(r => r.mask)).toEqual([0, 1, 2, 4, 3, 5, 6, 7]);
    expect(rows.map(r => r.value)).toEqual([0, 1, 2, 4, 3, 5, 6, 7]);
    expect(rows[3]).toEqual({ mask: 4, modalities: [2], value: 4, se: 0.4 });
    expect(coalitionRows(values, null, 3)[0].se).toBeNaN();
  });

  it('names members in index order', () => {
    expect(membersOf(0b1011, 4)).toEqual([0, 1, 3]);
    expect(membersOf(0, 4)).toEqual([]);
  });
});
