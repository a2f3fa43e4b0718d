import { afterEach, describe, expect, it } from 'vitest';
import { decomposeAll } from '../../../src/core';
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
