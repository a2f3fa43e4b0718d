import { describe, expect, it } from 'vitest';
import { allocatePerSample, decomposeAll, decomposeInto } from '../../../src/core';
import { randomTables } from './helpers';

describe('decomposeInto', () => {
  it('fills preallocated arrays chunk by chunk exactly like one decomposeAll', () => {
    for (const M of [2, 4, 9]) {
      const n = 37;
      const values = randomTables(n, M, 5 + M);
      const whole = decomposeAll(values, M);
      const out = allocatePerSample(M, n);
      const width = 2 ** M;
      for (const [a, b] of [
        [20, 37],
        [0, 7],
        [7, 20]
      ]) {
        expect(decomposeInto(values.subarray(a * width, b * width), M, out, a)).toBe(b - a);
      }
      expect(out.shapley).toEqual(whole.shapley);
      expect(out.matrices).toEqual(whole.matrices);
      expect(out.local).toEqual(whole.local);
      expect(out.orderMass).toEqual(whole.orderMass);
    }
  });

  it('refuses a chunk that does not fit, naming out and what was expected', () => {
    const out = allocatePerSample(4, 10);
    const values = randomTables(3, 4, 1);
    expect(() => decomposeInto(values, 4, out, 8)).toThrow(
      'out: expected room for 3 samples of M = 4 from sample 8, got 10 samples of M = 4'
    );
    expect(() => decomposeInto(values, 3, out, 0)).toThrow(/out: expected room .* M = 3/);
    expect(out.local.every(x => x === 0)).toBe(true); // nothing written
  });

  it('writes the valid tables before a non-finite one and none after it', () => {
    const M = 3;
    const values = randomTables(4, M, 2);
    values[2 * 8 + 5] = NaN;
    const out = allocatePerSample(M, 6);
    out.local.fill(-1);
    expect(() => decomposeInto(values, M, out, 1)).toThrow(/NaN/);
    const expected = decomposeAll(values.subarray(0, 16), M).local;
    expect(Array.from(out.local)).toEqual([-1, expected[0], expected[1], -1, -1, -1]);
  });
});
