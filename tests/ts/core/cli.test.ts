import { describe, expect, it } from 'vitest';
import { decomposeGamesJson } from '../../../src/cli/decompose';
import { expectAllClose, loadGolden, loadGoldenText } from './helpers';

describe('decomposeGamesJson (the intershap-decompose command)', () => {
  it('reproduces every golden game to 1e-9', () => {
    const golden = loadGolden();
    const output = JSON.parse(decomposeGamesJson(loadGoldenText())).games;
    expect(output).toHaveLength(golden.length);
    golden.forEach((game, g) => {
      const got = output[g];
      expect(got.M).toBe(game.M);
      expectAllClose(got.matrices.flat(2), game.matrices.flat(2), 1e-9, `game ${g} matrices`);
      expectAllClose(got.shapley.flat(), game.shapley.flat(), 1e-9, `game ${g} shapley`);
      expectAllClose(got.local, game.local, 1e-9, `game ${g} local`);
      expectAllClose([got.global_intershap], [game.global_intershap], 1e-9, `game ${g} global`);
      expectAllClose(
        got.modality_contributions,
        game.modality_contributions,
        1e-9,
        `game ${g} contributions`
      );
      expect(got.order_mass).toHaveLength(game.values.length);
      got.order_mass.forEach((masses: number[], a: number) => {
        const v = game.values[a];
        const sum = masses.reduce((s, x) => s + x, 0);
        expect(sum).toBeCloseTo(v[v.length - 1] - v[0], 12);
      });
    });
  });

  it('prints undefined numbers as null', () => {
    const text = JSON.stringify({ games: [{ M: 2, values: [[1, 1, 1, 1]] }] });
    const [game] = JSON.parse(decomposeGamesJson(text)).games;
    expect(game.local).toEqual([null]);
    expect(game.global_intershap).toBeNull();
    expect(game.local_mean).toBeNull();
    expect(game.n_undefined).toBe(1);
  });

  it('explains bad input', () => {
    expect(() => decomposeGamesJson('{')).toThrow(/^input: expected JSON text/);
    expect(() => decomposeGamesJson('{"game": []}')).toThrow(/^games: expected an array/);
    expect(() => decomposeGamesJson('{"games": [{"M": 1, "values": []}]}')).toThrow(
      /^games\[0\].M: expected an integer number of modalities from 2 to 16, got 1/
    );
    expect(() => decomposeGamesJson('{"games": [{"M": 2, "values": [[1, 2, 3]]}]}')).toThrow(
      /^games\[0\].values\[0\]: expected an array of 2\^M = 4 numbers, got an array of length 3/
    );
    expect(() => decomposeGamesJson('{"games": [{"M": 2, "values": [[1, 2, null, 3]]}]}')).toThrow(
      /^games\[0\].values\[0\]\[2\]: expected a finite number, got null/
    );
  });
});
