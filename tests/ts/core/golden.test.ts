import { describe, expect, it } from 'vitest';
import { aggregate, allocatePerSample, decomposeAll } from '../../../src/core';
import { compiledKernel } from '../../../src/core/compiled';
import { genericKernel, Kernel } from '../../../src/core/kernels';
import { expectAllClose, flatValues, loadGolden } from './helpers';

const TOLERANCE = 1e-9;
const games = loadGolden();

describe('golden games (decomposed by the paper reference code)', () => {
  it('has games to check', () => {
    expect(games.length).toBeGreaterThanOrEqual(10);
  });

  games.forEach((game, g) => {
    it(`game ${g} (${game.kind}, M=${game.M}): per-sample and global numbers`, () => {
      const per = decomposeAll(flatValues(game), game.M);
      expectAllClose(per.matrices, game.matrices.flat(2), TOLERANCE, 'matrices');
      expectAllClose(per.shapley, game.shapley.flat(), TOLERANCE, 'shapley');
      expectAllClose(per.local, game.local, TOLERANCE, 'local');
      const summary = aggregate(per);
      expectAllClose([summary.globalIntershap], [game.global_intershap], TOLERANCE, 'global');
      expectAllClose([summary.interactionShare], [game.interactions_share], TOLERANCE, 'share');
      expectAllClose([summary.localMean], [game.local_mean], TOLERANCE, 'local_mean');
      expectAllClose(
        summary.contributions,
        game.modality_contributions,
        TOLERANCE,
        'modality_contributions'
      );
    });
  });
});

/** Runs one kernel directly, bypassing decomposeAll's choice. */
function runKernel(kernel: Kernel, values: Float64Array, M: number) {
  const out = allocatePerSample(M, values.length / 2 ** M);
  expect(kernel(values, out.n, out.shapley, out.matrices, out.local, out.orderMass, null)).toBe(-1);
  return out;
}

describe('both kernels reproduce the golden games', () => {
  games.forEach((game, g) => {
    it(`game ${g} (M=${game.M}) with the generic and the compiled kernel`, () => {
      const compiled = compiledKernel(game.M);
      expect(compiled).not.toBeNull();
      for (const kernel of [genericKernel(game.M), compiled as Kernel]) {
        const out = runKernel(kernel, flatValues(game), game.M);
        expectAllClose(out.matrices, game.matrices.flat(2), TOLERANCE, 'matrices');
        expectAllClose(out.shapley, game.shapley.flat(), TOLERANCE, 'shapley');
        expectAllClose(out.local, game.local, TOLERANCE, 'local');
      }
    });
  });
});
