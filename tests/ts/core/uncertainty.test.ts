import { describe, expect, it } from 'vitest';
import { decomposeAll, propagateStandardErrors } from '../../../src/core';
import { factorial, normal, popcount, randomTables, uniform } from './helpers';

/** SE of φ_i from the explicit Shapley weights: Σ_{S∌i} ω_S² (se(S∪i)² + se(S)²). */
function explicitShapleySe(se: Float64Array, M: number, i: number): number {
  let variance = 0;
  for (let s = 0; s < 2 ** M; s++) {
    if (!(s & (1 << i))) {
      const k = popcount(s);
      const weight = (factorial(k) * factorial(M - k - 1)) / factorial(M);
      variance += weight ** 2 * (se[s | (1 << i)] ** 2 + se[s] ** 2);
    }
  }
  return Math.sqrt(variance);
}

function randomErrors(n: number, M: number, seed: number): Float64Array {
  const draw = uniform(seed, 0.01, 0.1);
  const se = Float64Array.from({ length: n * 2 ** M }, draw);
  for (let a = 0; a < n; a++) {
    se[a * 2 ** M] = 0; // v(∅) and v(full) are often exact
    se[(a + 1) * 2 ** M - 1] = 0;
  }
  return se;
}

describe('propagateStandardErrors', () => {
  it.each([2, 4, 7])('M = %i: φ errors match the explicit Shapley-weight formula', M => {
    const se = randomErrors(3, M, 40 + M);
    const result = propagateStandardErrors(se, M);
    for (let a = 0; a < 3; a++) {
      const table = se.subarray(a * 2 ** M, (a + 1) * 2 ** M);
      for (let i = 0; i < M; i++) {
        expect(result.shapley[a * M + i]).toBeCloseTo(explicitShapleySe(table, M, i), 14);
      }
    }
  });

  it('matches the spread of Φ and φ over Monte-Carlo perturbations of the values', () => {
    const M = 3;
    const C = 2 ** M;
    const draws = 40000;
    const se = randomErrors(1, M, 9);
    const centre = randomTables(1, M, 10);
    const gauss = normal(11);
    const noisy = new Float64Array(draws * C);
    for (let d = 0; d < draws; d++) {
      for (let s = 0; s < C; s++) {
        noisy[d * C + s] = centre[s] + se[s] * gauss();
      }
    }
    const per = decomposeAll(noisy, M);
    const predicted = propagateStandardErrors(se, M);
    const empiricalSd = (flat: Float64Array, width: number, k: number) => {
      let sum = 0;
      let squares = 0;
      for (let d = 0; d < draws; d++) {
        sum += flat[d * width + k];
        squares += flat[d * width + k] ** 2;
      }
      return Math.sqrt((squares - sum ** 2 / draws) / (draws - 1));
    };
    // With 40,000 draws the sample SD is within ~1.5% of the truth at 4 sigma.
    for (let k = 0; k < M * M; k++) {
      const expected = predicted.matrices[k];
      expect(Math.abs(empiricalSd(per.matrices, M * M, k) / expected - 1)).toBeLessThan(0.02);
    }
    for (let i = 0; i < M; i++) {
      const expected = predicted.shapley[i];
      expect(Math.abs(empiricalSd(per.shapley, M, i) / expected - 1)).toBeLessThan(0.02);
    }
  });

  it('zero errors give zero, and errors scale linearly', () => {
    const M = 4;
    expect(propagateStandardErrors(new Float64Array(2 ** M), M).matrices.every(x => x === 0)).toBe(
      true
    );
    const se = randomErrors(1, M, 3);
    const once = propagateStandardErrors(se, M);
    const twice = propagateStandardErrors(
      se.map(x => 2 * x),
      M
    );
    twice.matrices.forEach((x, k) => expect(x).toBeCloseTo(2 * once.matrices[k], 14));
  });

  it('rejects negative or non-finite errors and a bad layout', () => {
    const se = new Float64Array(8);
    se[3] = -0.1;
    expect(() => propagateStandardErrors(se, 3)).toThrow(
      /se: expected finite standard errors ≥ 0, got -0.1 at flat index 3/
    );
    se[3] = NaN;
    expect(() => propagateStandardErrors(se, 3)).toThrow(/se:/);
    expect(() => propagateStandardErrors(new Float64Array(9), 3)).toThrow(
      /se: expected a length divisible by 2\^M = 8, got 9/
    );
  });
});
