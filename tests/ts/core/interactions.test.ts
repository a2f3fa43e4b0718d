import { describe, expect, it } from 'vitest';
import { bernoulliNumbers, decomposeAll, kSii, sii } from '../../../src/core';
import { expectAllClose, naiveMobius, naivePairSii, popcount, randomTables } from './helpers';

describe('sii (Grabisch–Roubens) of any set', () => {
  it.each([3, 5, 8])('M = %i: singletons are φ, pairs are 2Φ_ij, the full set is m(full)', M => {
    const values = randomTables(3, M, 300 + M);
    const per = decomposeAll(values, M);
    const a = 2;
    const v = values.subarray(a * 2 ** M, (a + 1) * 2 ** M);
    for (let i = 0; i < M; i++) {
      expect(sii(values, M, a, 1 << i)).toBeCloseTo(per.shapley[a * M + i], 12);
      for (let j = i + 1; j < M; j++) {
        const pair = sii(values, M, a, (1 << i) | (1 << j));
        expect(pair).toBeCloseTo(2 * per.matrices[a * M * M + i * M + j], 12);
        expect(pair).toBeCloseTo(naivePairSii(v, M, i, j), 12);
      }
    }
    expect(sii(values, M, a, 2 ** M - 1)).toBeCloseTo(naiveMobius(v, M)[2 ** M - 1], 12);
  });

  it('rejects an empty or out-of-range set and a bad sample index', () => {
    const values = randomTables(2, 3, 1);
    expect(() => sii(values, 3, 0, 0)).toThrow(/setMask: expected a non-empty coalition bitmask/);
    expect(() => sii(values, 3, 0, 8)).toThrow(/setMask/);
    expect(() => sii(values, 3, 2, 1)).toThrow(
      /sample: expected an integer sample index from 0 to 1, got 2/
    );
  });
});

describe('bernoulliNumbers', () => {
  it('are 1, −1/2, 1/6, 0, −1/30, 0, 1/42', () => {
    expectAllClose(bernoulliNumbers(6), [1, -1 / 2, 1 / 6, 0, -1 / 30, 0, 1 / 42], 1e-14, 'B');
  });
});

describe('kSii (Bordt & von Luxburg 2023)', () => {
  const cases = [3, 4, 6, 8].map(M => ({ M, values: randomTables(2, M, 500 + M) }));

  it.each(cases)(
    'M = $M: efficient for every k (Σ over |S| ≤ k = v(full) − v(∅))',
    ({ M, values }) => {
      const v = values.subarray(2 ** M, 2 ** (M + 1));
      for (let k = 1; k <= M; k++) {
        const result = kSii(values, M, 1, k);
        const total = result.reduce((s, x) => s + x, 0);
        expect(total).toBeCloseTo(v[2 ** M - 1] - v[0], 11);
        result.forEach((x, s) => {
          if (s === 0 || popcount(s) > k) {
            expect(x).toBe(0);
          }
        });
      }
    }
  );

  it.each(cases)(
    'M = $M: k = 1 gives Shapley values, k = M the Möbius coefficients',
    ({ M, values }) => {
      const per = decomposeAll(values, M);
      const first = kSii(values, M, 1, 1);
      for (let i = 0; i < M; i++) {
        expect(first[1 << i]).toBeCloseTo(per.shapley[M + i], 12);
      }
      const mobius = naiveMobius(values.subarray(2 ** M, 2 ** (M + 1)), M);
      mobius[0] = 0; // kSii does not report the empty set
      expectAllClose(kSii(values, M, 1, M), mobius, 1e-11, 'k = M');
    }
  );

  it.each(cases)('M = $M: k = 2 gives the InterSHAP diagonal and the pair SII', ({ M, values }) => {
    const per = decomposeAll(values, M);
    const second = kSii(values, M, 0, 2);
    for (let i = 0; i < M; i++) {
      expect(second[1 << i]).toBeCloseTo(per.matrices[i * M + i], 12);
      for (let j = i + 1; j < M; j++) {
        expect(second[(1 << i) | (1 << j)]).toBeCloseTo(2 * per.matrices[i * M + j], 12);
      }
    }
  });

  it.each(cases)(
    'M = $M: matches Σ_{T⊇S,|T|≤k} B_{|T|−|S|} SII(T) computed from sii()',
    ({ M, values }) => {
      const B = bernoulliNumbers(M);
      const k = Math.min(3, M - 1);
      const result = kSii(values, M, 0, k);
      for (let s = 1; s < 2 ** M; s++) {
        if (popcount(s) > k) {
          continue;
        }
        let expected = 0;
        for (let t = s; t < 2 ** M; t++) {
          if ((t & s) === s && popcount(t) <= k) {
            expected += B[popcount(t) - popcount(s)] * sii(values, M, 0, t);
          }
        }
        expect(result[s]).toBeCloseTo(expected, 11);
      }
    }
  );

  it('rejects an order outside 1..M', () => {
    const values = randomTables(1, 3, 2);
    expect(() => kSii(values, 3, 0, 0)).toThrow(
      /k: expected an integer order from 1 to M = 3, got 0/
    );
    expect(() => kSii(values, 3, 0, 4)).toThrow(RangeError);
  });
});
