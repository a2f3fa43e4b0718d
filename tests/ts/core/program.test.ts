/**
 * The pieces the generated kernels are built from: the statement form and its JavaScript printing
 * (core/program.ts), the Möbius steps and transforms (core/mobius.ts), the weights
 * (core/weights.ts) and the WebAssembly byte emitter (core/wasm.ts).
 */
import { describe, expect, it } from 'vitest';
import {
  mobiusInPlace,
  mobiusSteps,
  transposedMobiusInPlace,
  zetaInPlace
} from '../../../src/core/mobius';
import {
  abs,
  addTo,
  binary,
  chain,
  compileFunction,
  declare,
  element,
  local,
  number,
  printJavaScript,
  scaled,
  store,
  tree
} from '../../../src/core/program';
import type { Statement } from '../../../src/core/program';
import { signed, unsigned } from '../../../src/core/wasm';
import { diagonalWeight, localScore, pairWeight, shapleyWeight } from '../../../src/core/weights';
import { randomTables } from './helpers';

describe('the statement form', () => {
  it('prints every kind of statement as JavaScript', () => {
    const statements: Statement[] = [
      declare('x1', element('values', 's', 1)),
      addTo('x1', local('x0'), '-'),
      scaled('p3', 'x3', number(-0.25)),
      addTo('t', chain([local('a'), abs(local('b')), local('c')])),
      store('orderMass', 'o', 0, tree([local('a'), local('b'), local('c')])),
      store('local', 'a', 0, element('mass', null, 2)),
      { kind: 'finiteCheck', name: 'x3' },
      { kind: 'localScore', name: 'score', offDiagonal: 'off', total: 'total' },
      { kind: 'addDefined', sum: 'sl', count: 'sc', value: 'score' }
    ];
    expect(printJavaScript(statements)).toEqual([
      'let x1 = values[s + 1];',
      'x1 -= x0;',
      'let p3 = (x3 * (-0.25));',
      't += ((a + Math.abs(b)) + c);',
      'orderMass[o] = (a + (b + c));',
      'local[a] = mass[2];',
      'if (x3 - x3 !== 0) return a;',
      'let score = localScoreOf(off, total);',
      'if (score === score) { sl += score; sc++; }'
    ]);
  });

  it('compiles statements into a function that computes them, the local score included', () => {
    const lines = printJavaScript([
      declare('off', binary('*', number(2), abs(local('x')))),
      declare('total', chain([local('off'), abs(local('y'))])),
      { kind: 'localScore', name: 'score', offDiagonal: 'off', total: 'total' }
    ]);
    const f = compileFunction<(x: number, y: number) => number>(
      ['x', 'y'],
      [...lines, 'return score;'],
      'test'
    );
    expect(f(-1, 2)).toBe(localScore(2, 4));
    expect(f(0, 0)).toBeNaN();
  });
});

describe('the Möbius transforms', () => {
  it('mobiusSteps lists the steps of mobiusInPlace in its order', () => {
    for (let M = 1; M <= 6; M++) {
      const table = randomTables(1, M, 40 + M);
      const stepped = table.slice();
      for (const [b, partner] of mobiusSteps(M)) {
        stepped[b] -= stepped[partner];
      }
      mobiusInPlace(table, M);
      expect(Array.from(stepped)).toEqual(Array.from(table));
    }
  });

  it('zeta inverts Möbius, and the transposed transform is Σ_{T⊇S} (−1)^{|T|−|S|} c(T)', () => {
    const M = 5;
    const c = randomTables(1, M, 9);
    const back = c.slice();
    mobiusInPlace(back, M);
    zetaInPlace(back, M);
    back.forEach((x, k) => expect(x).toBeCloseTo(c[k], 12));
    const w = new Float64Array(2 * 32);
    w.set(c, 32); // at an offset, the first table untouched
    transposedMobiusInPlace(w, M, 32);
    for (let s = 0; s < 32; s++) {
      let expected = 0;
      for (let t = 0; t < 32; t++) {
        if ((t & s) === s) {
          expected += ((popcount(t ^ s) & 1) === 0 ? 1 : -1) * c[t];
        }
      }
      expect(w[32 + s]).toBeCloseTo(expected, 12);
    }
    expect(w.subarray(0, 32).every(x => x === 0)).toBe(true);
  });
});

function popcount(b: number): number {
  let count = 0;
  for (; b; b &= b - 1) {
    count++;
  }
  return count;
}

describe('the weights', () => {
  it('make the diagonal weight φ’s weight less the pair weights of the partners', () => {
    expect(diagonalWeight(1)).toBe(1);
    expect(diagonalWeight(2)).toBe(0);
    for (let k = 2; k <= 16; k++) {
      expect(diagonalWeight(k)).toBeCloseTo(shapleyWeight(k) - (k - 1) * pairWeight(k), 15);
    }
  });

  it('leave the local score undefined when the total is 0', () => {
    expect(localScore(0, 0)).toBeNaN();
    expect(localScore(1, 4)).toBe(0.25);
  });
});

describe('the WebAssembly emitter', () => {
  it('writes LEB128 numbers', () => {
    expect(unsigned(0)).toEqual([0]);
    expect(unsigned(127)).toEqual([0x7f]);
    expect(unsigned(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(signed(-1)).toEqual([0x7f]);
    expect(signed(63)).toEqual([0x3f]);
    expect(signed(64)).toEqual([0xc0, 0x00]);
    expect(signed(-123456)).toEqual([0xc0, 0xbb, 0x78]);
  });
});
