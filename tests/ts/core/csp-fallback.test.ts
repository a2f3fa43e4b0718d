import { afterEach, describe, expect, it } from 'vitest';
import { decomposeAll } from '../../../src/core';
import { compiledKernel } from '../../../src/core/compiled';
import { expectAllClose, flatValues, loadGolden } from './helpers';

// Runs in its own module instance (vitest isolates test files), so no kernel is cached yet.
const realFunction = globalThis.Function;

afterEach(() => {
  globalThis.Function = realFunction;
});

describe('when a Content-Security-Policy forbids new Function', () => {
  it('decomposeAll falls back to the generic kernel with the same golden results', () => {
    globalThis.Function = function forbidden() {
      throw new EvalError('Refused to evaluate a string as JavaScript (CSP)');
    } as unknown as FunctionConstructor;
    const game = loadGolden().find(g => g.M === 4)!;
    const per = decomposeAll(flatValues(game), game.M);
    expect(compiledKernel(game.M)).toBeNull();
    expectAllClose(per.matrices, game.matrices.flat(2), 1e-9, 'matrices');
    expectAllClose(per.local, game.local, 1e-9, 'local');
  });
});
