import { describe, expect, it } from 'vitest';
import { blockedKernel } from '../../../src/core/blocked';
import { allocatePerSample } from '../../../src/core/decompose';
import { compiledKernel, registerKernel } from '../../../src/core/compiled';
import { genericKernel, Kernel } from '../../../src/core/kernels';
import { expectAllClose, randomTables } from './helpers';

interface Outputs {
  bad: number;
  shapley: Float64Array;
  matrices: Float64Array;
  local: Float64Array;
  orderMass: Float64Array;
}

function run(kernel: Kernel, values: Float64Array, M: number): Outputs {
  const out = allocatePerSample(M, values.length / 2 ** M);
  const bad = kernel(values, out.n, out.shapley, out.matrices, out.local, out.orderMass, null);
  return { bad, ...out };
}

/** Compares every output of `kernel` with the table-driven generic kernel on random games. */
function expectMatchesGeneric(kernel: Kernel, M: number, samples: number, seed: number): void {
  const values = randomTables(samples, M, seed);
  const got = run(kernel, values, M);
  const want = run(genericKernel(M), values, M);
  expect(got.bad).toBe(-1);
  // Same sums in another order: agreement to rounding (|v| ≤ 1, so |m(T)| ≤ 2^M).
  const tolerance = 1e-15 * 4 ** M;
  expectAllClose(got.matrices, want.matrices, tolerance, `M=${M} matrices`);
  expectAllClose(got.shapley, want.shapley, tolerance, `M=${M} shapley`);
  expectAllClose(got.orderMass, want.orderMass, tolerance, `M=${M} orderMass`);
  expectAllClose(got.local, want.local, 1e-12, `M=${M} local`);
}

/** A kernel must stop at the first sample whose table is not finite and report its index. */
function expectStopsAtNonFinite(kernel: Kernel, M: number): void {
  const coalitions = 2 ** M;
  for (const bad of [NaN, Infinity, -Infinity]) {
    for (const coalition of [0, coalitions >> 1, coalitions - 1]) {
      const values = randomTables(3, M, 7);
      values[coalitions + coalition] = bad; // sample 1
      expect(run(kernel, values, M).bad).toBe(1);
    }
  }
}

function expectUndefinedForConstantGame(kernel: Kernel, M: number): void {
  const values = new Float64Array(2 ** M).fill(0.25);
  const out = run(kernel, values, M);
  expect(out.bad).toBe(-1);
  expect(out.local[0]).toBeNaN();
  expect(out.matrices.every(x => x === 0)).toBe(true);
}

describe.each([2, 3, 4, 5, 6, 7, 8])('register kernel, M = %i', M => {
  it('matches the generic kernel on random games', () => {
    expectMatchesGeneric(registerKernel(M), M, 9, 300 + M);
  });
  it('reports the first non-finite table', () => expectStopsAtNonFinite(registerKernel(M), M));
  it('leaves a constant game undefined', () => {
    expectUndefinedForConstantGame(registerKernel(M), M);
  });
});

// M = 5–7 are not served by the blocked kernel but check its layout with 0–2 low bits;
// M ≤ 9 use the straight-line finish, M ≥ 10 the index-list one, M ≥ 11 the looped low bits.
describe.each([5, 6, 7, 8, 9, 10, 11, 12, 13])('blocked kernel, M = %i', M => {
  const samples = M <= 10 ? 5 : 2;
  it('matches the generic kernel on random games', () => {
    expectMatchesGeneric(blockedKernel(M), M, samples, 400 + M);
  });
  it('reports the first non-finite table', () => expectStopsAtNonFinite(blockedKernel(M), M));
  it('leaves a constant game undefined', () => {
    expectUndefinedForConstantGame(blockedKernel(M), M);
  });
});

describe('compiledKernel', () => {
  it('compiles once per M and serves every M from 2 to 16', () => {
    for (let M = 2; M <= 16; M++) {
      const kernel = compiledKernel(M);
      expect(kernel).not.toBeNull();
      expect(compiledKernel(M)).toBe(kernel);
    }
  });
});
