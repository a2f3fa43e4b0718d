import { describe, expect, it } from 'vitest';
import { aggregate, decomposeAll } from '../../../src/core';
import { compiledKernel } from '../../../src/core/compiled';
import { genericKernel } from '../../../src/core/kernels';
import {
  expectAllClose,
  gameFromMobius,
  naiveMatrix,
  naiveShapley,
  randomTables,
  uniform
} from './helpers';

const MODALITY_COUNTS = [2, 3, 4, 5, 6, 7, 8, 9, 10];
const SAMPLES = 5;

/** A seeded random permutation of 0..M−1 (Fisher–Yates), never the identity. */
function shuffled(M: number, seed: number): number[] {
  const draw = uniform(seed, 0, 1);
  const perm = Array.from({ length: M }, (_, i) => i);
  for (let i = M - 1; i > 0; i--) {
    const j = Math.floor(draw() * (i + 1));
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  return perm.every((target, i) => target === i) ? perm.reverse() : perm;
}

function sampleTable(values: Float64Array, M: number, a: number): Float64Array {
  return values.subarray(a * 2 ** M, (a + 1) * 2 ** M);
}

describe.each(MODALITY_COUNTS)('random games with M = %i', M => {
  const values = randomTables(SAMPLES, M, 1000 + M);
  const per = decomposeAll(values, M);
  const full = 2 ** M - 1;

  it('matches the naive formulas computed straight from v', () => {
    for (let a = 0; a < SAMPLES; a++) {
      const v = sampleTable(values, M, a);
      expectAllClose(
        per.matrices.subarray(a * M * M, (a + 1) * M * M),
        naiveMatrix(v, M),
        1e-10,
        'Φ'
      );
      const phi = Array.from({ length: M }, (_, i) => naiveShapley(v, M, i));
      expectAllClose(per.shapley.subarray(a * M, (a + 1) * M), phi, 1e-10, 'φ');
    }
  });

  it('is efficient: Σ Φ = Σ φ = Σ order masses = v(full) − v(∅)', () => {
    for (let a = 0; a < SAMPLES; a++) {
      const v = sampleTable(values, M, a);
      const target = v[full] - v[0];
      const sum = (x: Float64Array) => x.reduce((s, y) => s + y, 0);
      expect(sum(per.matrices.subarray(a * M * M, (a + 1) * M * M))).toBeCloseTo(target, 10);
      expect(sum(per.shapley.subarray(a * M, (a + 1) * M))).toBeCloseTo(target, 10);
      expect(sum(per.orderMass.subarray(a * M, (a + 1) * M))).toBeCloseTo(target, 10);
    }
  });

  it('is symmetric, and row i sums to φ_i', () => {
    for (let a = 0; a < SAMPLES; a++) {
      const Φ = per.matrices.subarray(a * M * M, (a + 1) * M * M);
      for (let i = 0; i < M; i++) {
        let row = 0;
        for (let j = 0; j < M; j++) {
          expect(Φ[i * M + j]).toBe(Φ[j * M + i]);
          row += Φ[i * M + j];
        }
        expect(row).toBeCloseTo(per.shapley[a * M + i], 10);
      }
    }
  });

  it('an additive game has zero off-diagonals, InterSHAP 0 and only first-order mass', () => {
    const draw = uniform(7 * M);
    const effects = Array.from({ length: M }, draw);
    const base = draw();
    const v = Float64Array.from({ length: 2 ** M }, (_, s) =>
      effects.reduce((sum, e, i) => (s & (1 << i) ? sum + e : sum), base)
    );
    const additive = decomposeAll(v, M);
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < M; j++) {
        const expected = i === j ? effects[i] : 0;
        expect(Math.abs(additive.matrices[i * M + j] - expected)).toBeLessThan(1e-12);
      }
    }
    expect(Math.abs(aggregate(additive).globalIntershap)).toBeLessThan(1e-12);
    expect(additive.orderMass[0]).toBeCloseTo(
      effects.reduce((s, e) => s + e, 0),
      12
    );
    for (let k = 1; k < M; k++) {
      expect(Math.abs(additive.orderMass[k])).toBeLessThan(1e-12);
    }
  });

  it('pure M-way synergy gives InterSHAP M / (2(M − 1)) and all mass at order M', () => {
    const mobius = new Float64Array(2 ** M);
    mobius[full] = 0.8;
    const synergy = decomposeAll(gameFromMobius(mobius, M), M);
    const expected = M / (2 * (M - 1));
    expect(aggregate(synergy).globalIntershap).toBeCloseTo(expected, 12);
    expect(synergy.local[0]).toBeCloseTo(expected, 12);
    expect(synergy.orderMass[M - 1]).toBeCloseTo(0.8, 12);
  });

  it('permuting the modalities permutes Φ', () => {
    const perm = shuffled(M, 31 * M);
    expect(perm.some((target, i) => target !== i)).toBe(true);
    const permuteMask = (s: number) =>
      perm.reduce((mask, target, i) => (s & (1 << i) ? mask | (1 << target) : mask), 0);
    // Modality i of the original game is modality perm[i] of the permuted one.
    const v = sampleTable(values, M, 0);
    const permuted = new Float64Array(2 ** M);
    for (let s = 0; s < 2 ** M; s++) {
      permuted[permuteMask(s)] = v[s];
    }
    const Φ = per.matrices.subarray(0, M * M);
    const Ψ = decomposeAll(permuted, M).matrices;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < M; j++) {
        expect(Ψ[perm[i] * M + perm[j]]).toBeCloseTo(Φ[i * M + j], 12);
      }
    }
  });

  it('the order masses are the sums of Möbius coefficients by coalition size', () => {
    const draw = uniform(11 * M);
    const mobius = Float64Array.from({ length: 2 ** M }, draw);
    const expected = new Float64Array(M);
    for (let t = 1; t < 2 ** M; t++) {
      let size = 0;
      for (let x = t; x; x &= x - 1) size++;
      expected[size - 1] += mobius[t];
    }
    const game = decomposeAll(gameFromMobius(mobius, M), M);
    expectAllClose(game.orderMass, expected, 1e-10, 'orderMass');
  });

  it('the generic and compiled kernels agree', () => {
    const n = SAMPLES;
    const results = [genericKernel(M), compiledKernel(M)].map(kernel => {
      const out = [n * M, n * M * M, n, n * M].map(len => new Float64Array(len));
      expect(kernel!(values, n, out[0], out[1], out[2], out[3])).toBe(-1);
      return out;
    });
    for (let k = 0; k < 4; k++) {
      expectAllClose(results[0][k], results[1][k], 1e-12, `output ${k}`);
    }
  });
});

describe('undefined local scores', () => {
  it('a sample the model ignores (constant game) has local NaN and is left out of the mean', () => {
    const M = 3;
    const values = new Float64Array(2 * 8);
    values.fill(0.4, 0, 8); // constant game: every Φ entry is 0
    values.set(randomTables(1, M, 5), 8);
    const per = decomposeAll(values, M);
    expect(per.local[0]).toBeNaN();
    expect(Number.isNaN(per.local[1])).toBe(false);
    const summary = aggregate(per);
    expect(summary.nUndefined).toBe(1);
    expect(summary.localMean).toBeCloseTo(per.local[1], 15);
    const onlyIgnored = aggregate(per, [0]);
    expect(onlyIgnored.localMean).toBeNaN();
    expect(onlyIgnored.globalIntershap).toBeNaN();
    expect(Array.from(onlyIgnored.contributions).every(Number.isNaN)).toBe(true);
  });
});

describe('large M', () => {
  it('decomposes M = 12 and M = 16 tables (efficiency holds)', () => {
    for (const M of [12, 16]) {
      const values = randomTables(1, M, 99);
      const per = decomposeAll(values, M);
      const total = per.matrices.reduce((s, x) => s + x, 0);
      expect(total).toBeCloseTo(values[2 ** M - 1] - values[0], 8);
    }
  });
});
