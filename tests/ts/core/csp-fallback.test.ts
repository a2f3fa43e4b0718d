import { afterEach, describe, expect, it } from 'vitest';
import {
  aggregate,
  aggregateOfSums,
  allocateSums,
  allocateTables,
  decomposeAll,
  decomposeInto,
  usesSimd
} from '../../../src/core';
import { compiledKernel } from '../../../src/core/compiled';
import { expectAllClose, flatValues, loadGolden, naiveMatrix, randomTables } from './helpers';

// Runs in its own module instance (vitest isolates test files), so no kernel is cached yet.
const realFunction = globalThis.Function;

afterEach(() => {
  globalThis.Function = realFunction;
});

function forbidCompiling(): void {
  globalThis.Function = function forbidden() {
    throw new EvalError('Refused to evaluate a string as JavaScript (CSP)');
  } as unknown as FunctionConstructor;
}

describe('when a Content-Security-Policy forbids new Function', () => {
  it('decomposeAll falls back to the generic kernel with the same golden results', () => {
    forbidCompiling();
    const game = loadGolden().find(g => g.M === 4)!;
    const per = decomposeAll(flatValues(game), game.M);
    expect(compiledKernel(game.M)).toBeNull();
    expectAllClose(per.matrices, game.matrices.flat(2), 1e-9, 'matrices');
    expectAllClose(per.local, game.local, 1e-9, 'local');
  });

  // M = 8 and 11 are served by the blocked kernel when compiling is allowed.
  it.each([8, 11])('decomposes M = %i with the generic kernel, matching the naive formulas', M => {
    forbidCompiling();
    const values = randomTables(2, M, 60 + M);
    const per = decomposeAll(values, M);
    expect(compiledKernel(M)).toBeNull();
    for (let a = 0; a < 2; a++) {
      const v = values.subarray(a * 2 ** M, (a + 1) * 2 ** M);
      const Φ = per.matrices.subarray(a * M * M, (a + 1) * M * M);
      expectAllClose(Φ, naiveMatrix(v, M), 1e-10, `M=${M} Φ`);
    }
  });
});

describe('when WebAssembly is missing', () => {
  const realWebAssembly = globalThis.WebAssembly;
  afterEach(() => {
    globalThis.WebAssembly = realWebAssembly;
  });

  it('allocateTables gives ordinary arrays and the JavaScript kernel gives the same numbers', () => {
    (globalThis as { WebAssembly?: unknown }).WebAssembly = undefined;
    const values = randomTables(5, 4, 8);
    const tables = allocateTables(4, 5);
    expect(usesSimd(tables)).toBe(false);
    tables.values.set(values);
    decomposeInto(tables.values, 4, tables.per, 0);
    expect(Array.from(tables.per.matrices)).toEqual(Array.from(decomposeAll(values, 4).matrices));
  });
});

describe('when only WebAssembly may be compiled (no new Function)', () => {
  it('the SIMD kernel still decomposes every sample, the odd last one too, and sums them', () => {
    forbidCompiling();
    const M = 3;
    const values = randomTables(7, M, 12);
    const tables = allocateTables(M, 7);
    expect(usesSimd(tables)).toBe(true);
    tables.values.set(values);
    const sums = allocateSums(M);
    decomposeInto(tables.values, M, tables.per, 0, sums);
    globalThis.Function = realFunction;
    const reference = decomposeAll(values, M);
    expectAllClose(tables.per.matrices, reference.matrices, 1e-12, 'matrices');
    expect(aggregateOfSums(M, sums).n).toBe(7);
    expectAllClose(
      aggregateOfSums(M, sums).meanMatrix,
      aggregate(reference).meanMatrix,
      1e-12,
      'mean matrix'
    );
  });
});
