/**
 * The WebAssembly SIMD kernels (core/simd.ts) on tables from allocateTables: the same numbers as
 * the JavaScript kernels, bit for bit per sample, with the same behaviour on non-finite tables.
 */
import { describe, expect, it } from 'vitest';
import {
  aggregateOfSums,
  allocatePerSample,
  allocateSums,
  allocateTables,
  decomposeAll,
  decomposeInto,
  usesSimd
} from '../../../src/core';
import type { PerSample } from '../../../src/core';
import { registerKernel } from '../../../src/core/compiled';
import { MAX_MEMORY_BYTES } from '../../../src/core/tables';
import { expectAllClose, flatValues, loadGolden, randomTables } from './helpers';

const FIELDS = ['shapley', 'matrices', 'local', 'orderMass'] as const;

function expectIdentical(actual: PerSample, expected: PerSample, label: string): void {
  for (const field of FIELDS) {
    // Object.is also tells NaN (an undefined local score) and −0 apart from anything else.
    const same = Array.from(actual[field]).every((x, k) => Object.is(x, expected[field][k]));
    expect(same, `${label} ${field}`).toBe(true);
  }
}

/** Tables holding `values`, decomposed in the given chunks with running sums. */
function decomposeInTables(values: Float64Array, M: number, chunks: number[][]) {
  const n = values.length >> M;
  const tables = allocateTables(M, n);
  tables.values.set(values);
  const sums = allocateSums(M);
  for (const [a, b] of chunks) {
    decomposeInto(tables.values.subarray(a << M, b << M), M, tables.per, a, sums);
  }
  return { tables, sums };
}

describe('the SIMD kernels', () => {
  it('serve M = 2 … 10 from allocateTables, and M = 11 falls back to ordinary arrays', () => {
    for (let M = 2; M <= 10; M++) {
      expect(usesSimd(allocateTables(M, 3)), `M=${M}`).toBe(true);
    }
    expect(usesSimd(allocateTables(11, 3))).toBe(false);
    expect(allocateTables(10, 3).fallback).toBeNull();
    expect(allocateTables(11, 3).fallback).toBe(
      'M = 11: the WebAssembly SIMD kernel serves up to 10 modalities'
    );
  });

  it('leave tables above the WebAssembly memory cap in ordinary arrays, saying why', () => {
    // The real cap is MAX_MEMORY_BYTES (1 GiB, about 3.3 million samples at M = 4); a 1 MiB cap
    // shows the same path without allocating a gigabyte.
    const M = 4;
    const below = allocateTables(M, 3000, 2 ** 20);
    expect(usesSimd(below)).toBe(true);
    const above = allocateTables(M, 4000, 2 ** 20);
    expect(usesSimd(above)).toBe(false);
    expect(above.fallback).toBe(
      'the tables of 4,000 samples take 2 MiB, above the 1 MiB cap on one WebAssembly memory'
    );
    expect(MAX_MEMORY_BYTES).toBe(2 ** 30);
    // The JavaScript kernels decompose them to the same numbers.
    const values = randomTables(4000, M, 77);
    above.values.set(values);
    decomposeInto(above.values, M, above.per, 0);
    expectAllClose(above.per.matrices, decomposeAll(values, M).matrices, 1e-12, 'matrices');
  });

  // The reference is the JavaScript register kernel compiled from the same statements; from M = 8
  // on decomposeAll uses the blocked kernels, which add in another order.
  it.each([2, 3, 4, 5, 6, 7, 8, 9, 10])(
    'give the JavaScript register kernel’s numbers bit for bit at M = %i',
    M => {
      const n = 33;
      const values = randomTables(n, M, 70 + M);
      values.fill(0.5, 4 << M, 5 << M); // one game the model ignores: undefined local score
      const reference = allocatePerSample(M, n);
      const { shapley, matrices, local, orderMass } = reference;
      expect(registerKernel(M)(values, n, shapley, matrices, local, orderMass, null)).toBe(-1);
      // Odd and even chunk sizes and starts: pairs, lone last samples, one-sample chunks.
      const { tables, sums } = decomposeInTables(values, M, [
        [0, 1],
        [1, 8],
        [8, 20],
        [20, 33]
      ]);
      expectIdentical(tables.per, reference, `M=${M}`);
      const expected = allocateSums(M);
      decomposeInto(values, M, decomposeAll(values, M), 0, expected);
      expectAllClose(sums, expected, 1e-10, `M=${M} running sums`);
      expect(aggregateOfSums(M, sums).nUndefined).toBe(1);
    }
  );

  it('reproduce every golden game to 1e-9', () => {
    for (const game of loadGolden()) {
      const { tables } = decomposeInTables(flatValues(game), game.M, [[0, game.values.length]]);
      expectAllClose(tables.per.matrices, game.matrices.flat(2), 1e-9, `${game.kind} matrices`);
      expectAllClose(tables.per.local, game.local, 1e-9, `${game.kind} local`);
      expectAllClose(tables.per.shapley, game.shapley.flat(), 1e-9, `${game.kind} shapley`);
    }
  });

  // The SIMD kernel takes two samples at a time; a bad table may sit in either lane, or be the
  // lone last sample that the JavaScript kernel finishes.
  it.each([
    [6, 'the first of a pair'],
    [7, 'the second of a pair'],
    [10, 'the lone last sample']
  ])('stop at a non-finite table in %s (%s) as the JavaScript kernel does', sample => {
    const M = 4;
    const values = randomTables(11, M, 3);
    values[(sample << M) + 9] = NaN;
    const tables = allocateTables(M, 11);
    tables.values.set(values);
    tables.per.local.fill(-1);
    const sums = allocateSums(M);
    expect(() => decomposeInto(tables.values, M, tables.per, 0, sums)).toThrow(
      `values: expected finite numbers, got NaN at sample ${sample}, coalition 9 (flat index ${(sample << M) + 9})`
    );
    const valid = decomposeAll(values.subarray(0, sample << M), M).local;
    expect(Array.from(tables.per.local.subarray(0, sample))).toEqual(Array.from(valid));
    expect(Array.from(tables.per.local.subarray(sample)).every(x => x === -1)).toBe(true);
    expect(sums.every(x => x === 0)).toBe(true);
  });
});
