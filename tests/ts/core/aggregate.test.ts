import { describe, expect, it } from 'vitest';
import {
  aggregate,
  aggregateWithOrderSize,
  bootstrapGlobal,
  decomposeAll,
  mulberry32
} from '../../../src/core';
import type { PerSample } from '../../../src/core';
import { addRows, finishAggregate, sumDefinedLocals } from '../../../src/core/aggregate';
import { meanAbsoluteRows } from '../../../src/compute/worker/samples';
import { expectAllClose, randomTables } from './helpers';

const M = 4;
const N = 40;
const values = randomTables(N, M, 2024);
const per = decomposeAll(values, M);

/** Copies the chosen samples' value tables into a new table, as a user slicing the data would. */
function copyRows(indices: number[]): Float64Array {
  const C = 2 ** M;
  const copy = new Float64Array(indices.length * C);
  indices.forEach((a, r) => copy.set(values.subarray(a * C, (a + 1) * C), r * C));
  return copy;
}

function expectSameAggregate(actual: ReturnType<typeof aggregate>, expected: typeof actual) {
  expect(actual.n).toBe(expected.n);
  expect(actual.nUndefined).toBe(expected.nUndefined);
  expectAllClose(actual.meanMatrix, expected.meanMatrix, 1e-12, 'meanMatrix');
  expectAllClose(actual.meanShapley, expected.meanShapley, 1e-12, 'meanShapley');
  expectAllClose(actual.orderMass, expected.orderMass, 1e-12, 'orderMass');
  expectAllClose(actual.contributions, expected.contributions, 1e-12, 'contributions');
  expectAllClose(
    [actual.globalIntershap, actual.localMean, actual.interactionShare],
    [expected.globalIntershap, expected.localMean, expected.interactionShare],
    1e-12,
    'scores'
  );
}

describe('aggregate over a subset', () => {
  const indices = [3, 17, 17, 0, 39, 25, 8];

  it('equals aggregating a copy of the subset, for every subset form', () => {
    const expected = aggregate(decomposeAll(copyRows(indices), M));
    expectSameAggregate(aggregate(per, indices), expected);
    expectSameAggregate(aggregate(per, Int32Array.from(indices)), expected);
    expectSameAggregate(aggregate(per, Uint32Array.from(indices)), expected);
  });

  it('treats a Uint8Array as a mask of length N', () => {
    const mask = new Uint8Array(N);
    const chosen = [2, 5, 11, 30];
    chosen.forEach(a => (mask[a] = 1));
    expectSameAggregate(aggregate(per, mask), aggregate(decomposeAll(copyRows(chosen), M)));
  });

  it('undefined subset means every sample', () => {
    const all = Array.from({ length: N }, (_, a) => a);
    expectSameAggregate(aggregate(per), aggregate(per, all));
  });

  it('the global score is |mean|, not mean |.|, and contributions + InterSHAP sum to 1', () => {
    const summary = aggregate(per);
    let total = 0;
    let off = 0;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < M; j++) {
        let mean = 0;
        for (let a = 0; a < N; a++) {
          mean += per.matrices[a * M * M + i * M + j] / N;
        }
        total += Math.abs(mean);
        off += i === j ? 0 : Math.abs(mean);
      }
    }
    expect(summary.globalIntershap).toBeCloseTo(off / total, 12);
    const sum = summary.contributions.reduce((s, c) => s + c, summary.globalIntershap);
    expect(sum).toBeCloseTo(1, 12);
  });

  it('an empty subset gives n = 0 and NaNs, not a throw', () => {
    for (const empty of [[], new Int32Array(0), new Uint8Array(N)]) {
      const summary = aggregate(per, empty);
      expect(summary.n).toBe(0);
      expect(summary.globalIntershap).toBeNaN();
      expect(summary.localMean).toBeNaN();
      expect(Array.from(summary.meanMatrix).every(Number.isNaN)).toBe(true);
    }
  });

  it('rejects bad subsets with a message naming the argument', () => {
    expect(() => aggregate(per, [0, 40])).toThrow(
      /subset: expected sample indices from 0 to 39, got 40/
    );
    expect(() => aggregate(per, [1.5])).toThrow(RangeError);
    expect(() => aggregate(per, new Uint8Array(3))).toThrow(/mask of length N = 40, got length 3/);
    expect(() => aggregate(per, new Float64Array(2) as never)).toThrow(TypeError);
  });
});

describe('bootstrapGlobal', () => {
  const subset = Array.from({ length: 30 }, (_, a) => a + 5);

  it('is reproducible with a seed and changes with another seed', () => {
    const first = bootstrapGlobal(per, subset, { reps: 200, seed: 7 });
    const again = bootstrapGlobal(per, subset, { reps: 200, seed: 7 });
    const other = bootstrapGlobal(per, subset, { reps: 200, seed: 8 });
    expect(again).toEqual(first);
    expect(other.low).not.toBe(first.low);
    expect(first.estimate).toBeCloseTo(aggregate(per, subset).globalIntershap, 15);
    expect(first.low).toBeLessThan(first.estimate);
    expect(first.high).toBeGreaterThan(first.estimate);
  });

  it('one replicate is the global score of the resample drawn with the same generator', () => {
    const seed = 42;
    const random = mulberry32(seed);
    const drawn = subset.map(() => subset[Math.floor(random() * subset.length)]);
    const expected = aggregate(per, drawn).globalIntershap;
    const result = bootstrapGlobal(per, subset, { reps: 1, seed });
    expect(result.low).toBeCloseTo(expected, 12);
    expect(result.high).toBeCloseTo(expected, 12);
  });

  it('a wider level gives a wider interval, and identical samples give a zero-width one', () => {
    const narrow = bootstrapGlobal(per, subset, { reps: 300, seed: 3, level: 0.5 });
    const wide = bootstrapGlobal(per, subset, { reps: 300, seed: 3, level: 0.99 });
    expect(wide.high - wide.low).toBeGreaterThan(narrow.high - narrow.low);
    const same = bootstrapGlobal(per, [4, 4, 4, 4], { reps: 50 });
    expect(same.low).toBeCloseTo(same.estimate, 12);
    expect(same.high).toBeCloseTo(same.estimate, 12);
  });

  it('validates its options and handles an empty subset', () => {
    expect(() => bootstrapGlobal(per, subset, { reps: 0 })).toThrow(/options.reps/);
    expect(() => bootstrapGlobal(per, subset, { level: 1 })).toThrow(/options.level/);
    expect(() => bootstrapGlobal(per, subset, { seed: -1 })).toThrow(/options.seed/);
    const empty = bootstrapGlobal(per, [], { reps: 10 });
    expect(empty.low).toBeNaN();
    expect(empty.estimate).toBeNaN();
  });
});

describe('aggregateWithOrderSize: one pass over a subset, the numbers of a pass per field', () => {
  /** The aggregate as it was computed before the fused pass: addRows per field, then the rest. */
  function passPerField(per: PerSample, indices: ArrayLike<number> | null) {
    const count = indices === null ? per.n : indices.length;
    const matrixSum = new Float64Array(per.M * per.M);
    const shapleySum = new Float64Array(per.M);
    const orderSum = new Float64Array(per.M);
    addRows(matrixSum, per.matrices, indices, count);
    addRows(shapleySum, per.shapley, indices, count);
    addRows(orderSum, per.orderMass, indices, count);
    const locals = sumDefinedLocals(per.local, indices, count);
    return {
      aggregate: finishAggregate(
        per.M,
        count,
        matrixSum,
        shapleySum,
        orderSum,
        locals.sum,
        locals.count
      ),
      orderMassAbs: meanAbsoluteRows(per.orderMass, per.M, indices ?? undefined)
    };
  }

  /** Equal to the last bit: NaN to NaN, and 0 and −0 told apart. */
  function expectSameBits(actual: unknown, expected: unknown): void {
    const bits = (value: unknown): unknown =>
      value instanceof Float64Array
        ? Array.from(value, v => (Object.is(v, -0) ? '-0' : Number.isNaN(v) ? 'NaN' : v))
        : typeof value === 'number' && (Number.isNaN(value) || Object.is(value, -0))
          ? String(value === 0 ? '-0' : value)
          : value;
    const fields = (record: object) =>
      Object.fromEntries(Object.entries(record).map(([key, value]) => [key, bits(value)]));
    expect(fields(actual as object)).toEqual(fields(expected as object));
  }

  for (const m of [2, 3, 4, 5]) {
    it(`M = ${m}: subsets sorted, shuffled, with repeats, of every length mod 4`, () => {
      const n = 203;
      const random = mulberry32(40 + m);
      const tables = randomTables(n, m, 77 + m);
      // Samples whose value table is constant have an undefined local score (NaN).
      for (const a of [4, 50, 51, 52, 199]) {
        tables.fill(0.25, a * 2 ** m, (a + 1) * 2 ** m);
      }
      const subjects = decomposeAll(tables, m);
      expect(Number.isNaN(subjects.local[50])).toBe(true);
      const subsets: ArrayLike<number>[] = [
        Int32Array.from({ length: n }, (_, i) => i),
        Int32Array.from({ length: 120 }, (_, i) => (i * 5) % n).sort(),
        Int32Array.from({ length: 97 }, () => Math.floor(random() * n)),
        Uint32Array.from([50, 51, 52]),
        [3, 3, 3, 3, 3, 7],
        new Int32Array(0)
      ];
      for (let length = 1; length <= 9; length++) {
        subsets.push(Int32Array.from({ length }, () => Math.floor(random() * n)));
      }
      for (const subset of subsets) {
        const expected = passPerField(subjects, subset);
        const actual = aggregateWithOrderSize(subjects, subset as Int32Array);
        expectSameBits(actual.aggregate, expected.aggregate);
        expectSameBits({ size: actual.orderMassAbs }, { size: expected.orderMassAbs });
        expectSameBits(aggregate(subjects, subset as Int32Array), expected.aggregate);
      }
      const whole = aggregateWithOrderSize(subjects, undefined);
      const expected = passPerField(subjects, null);
      expectSameBits(whole.aggregate, expected.aggregate);
      expectSameBits({ size: whole.orderMassAbs }, { size: expected.orderMassAbs });
      // A mask selects its set positions, as before.
      const mask = Uint8Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : 0));
      const positions = Int32Array.from({ length: Math.ceil(n / 3) }, (_, r) => 3 * r);
      expectSameBits(
        aggregateWithOrderSize(subjects, mask).aggregate,
        passPerField(subjects, positions).aggregate
      );
      expect(aggregateWithOrderSize(subjects, [0], false).orderMassAbs).toBeNull();
    });
  }

  it('checks the subset as aggregate does', () => {
    expect(() => aggregateWithOrderSize(per, [0, 40])).toThrow(
      'subset: expected sample indices from 0 to 39, got 40 at position 1'
    );
  });
});
