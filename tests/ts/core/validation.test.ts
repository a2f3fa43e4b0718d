import { describe, expect, it } from 'vitest';
import { decomposeAll } from '../../../src/core';

describe('decomposeAll argument checks', () => {
  it('rejects values that are not a Float64Array', () => {
    expect(() => decomposeAll([0, 1, 2, 3] as never, 2)).toThrow(TypeError);
    expect(() => decomposeAll([0, 1, 2, 3] as never, 2)).toThrow(
      'values: expected a Float64Array of N × 2^M coalition values, got an array of length 4'
    );
    expect(() => decomposeAll(new Float32Array(4) as never, 2)).toThrow(/got a Float32Array/);
  });

  it('rejects a length that is not a multiple of 2^M', () => {
    expect(() => decomposeAll(new Float64Array(30), 4)).toThrow(
      new RangeError('values: expected a length divisible by 2^M = 16, got 30')
    );
  });

  it.each([1, 17, 2.5, NaN, '4', undefined])('rejects M = %s, naming the supported range', M => {
    expect(() => decomposeAll(new Float64Array(16), M as never)).toThrow(
      /^M: expected an integer number of modalities from 2 to 16, got /
    );
  });

  it('rejects NaN and ±Infinity, naming the sample and coalition', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      const values = new Float64Array(3 * 8);
      values[2 * 8 + 5] = bad;
      expect(() => decomposeAll(values, 3)).toThrow(
        new RangeError(
          `values: expected finite numbers, got ${bad} at sample 2, coalition 5 (flat index 21)`
        )
      );
    }
  });

  it('reports an overflow of finite but huge values', () => {
    const values = new Float64Array(4).fill(1e308);
    values[0] = -1e308;
    values[3] = -1e308;
    expect(() => decomposeAll(values, 2)).toThrow(/overflow at sample 0/);
  });

  it('accepts an empty batch', () => {
    const per = decomposeAll(new Float64Array(0), 3);
    expect(per.n).toBe(0);
    expect(per.matrices.length).toBe(0);
  });
});
