/**
 * Two models on the same samples: the deltas are differences of aggregate(), the paired bootstrap
 * is resumable like BootstrapResampler, and it draws the very resamples the numpy twin draws
 * (tests/fixtures/compare/paired.json, made by scripts/make_compare_fixture.py), of samples or,
 * above BOOTSTRAP_SAMPLE_LIMIT samples, of random groups (tests/fixtures/compare/paired_grouped.json,
 * made by tests/python/test_compare_math.py).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  aggregate,
  decomposeAll,
  localDeltas,
  mulberry32,
  pairedBootstrap,
  PairedBootstrapResampler,
  pairedDelta,
  popcount
} from '../../../src/core';
import type { PairedBounds, PerSample } from '../../../src/core';
import { BOOTSTRAP_GROUPS, BOOTSTRAP_SAMPLE_LIMIT } from '../../../src/core/bootstrap';
import { expectAllClose, randomTables } from './helpers';

const M = 3;
const N = 60;
const reference = decomposeAll(randomTables(N, M, 31), M);
const other = decomposeAll(shifted(randomTables(N, M, 31), M, 32), M);
const subset = [5, 5, 0, 59, 17, 17, 17, 42, 8, 33, 21, 2];
const options = { reps: 150, seed: 9, level: 0.9 };

/** The tables plus a little noise of their own: a second model that shares most of its variation. */
function shifted(tables: Float64Array, M: number, seed: number): Float64Array {
  const random = mulberry32(seed);
  return tables.map((v, k) => v + 0.2 * (random() - 0.5) + (k % 2 ** M === 2 ** M - 1 ? 0.3 : 0));
}

function difference(a: ArrayLike<number>, b: ArrayLike<number>): number[] {
  return Array.from(a, (x, k) => x - b[k]);
}

function runInSlices(resampler: PairedBootstrapResampler, budget: number): number {
  let slices = 1;
  while (!resampler.step(budget)) {
    slices++;
  }
  return slices;
}

describe('pairedDelta and localDeltas', () => {
  it('are the differences of the two aggregates, for every subset form', () => {
    const mask = new Uint8Array(N);
    [1, 4, 9, 40].forEach(a => (mask[a] = 1));
    for (const chosen of [undefined, subset, Int32Array.from(subset), mask]) {
      const ref = aggregate(reference, chosen);
      const oth = aggregate(other, chosen);
      const delta = pairedDelta(reference, other, chosen);
      expect(delta.n).toBe(ref.n);
      expect(delta.globalReference).toBe(ref.globalIntershap);
      expect(delta.globalOther).toBe(oth.globalIntershap);
      expect(delta.globalDelta).toBe(oth.globalIntershap - ref.globalIntershap);
      expectAllClose(delta.matrixDelta, difference(oth.meanMatrix, ref.meanMatrix), 0, 'matrix');
      expectAllClose(
        delta.contributionDelta,
        difference(oth.contributions, ref.contributions),
        0,
        'contributions'
      );
    }
  });

  it('gives local deltas in subset order, NaN where either local score is undefined', () => {
    const referenceUndefined = copyOf(reference);
    referenceUndefined.local[5] = NaN;
    const otherUndefined = copyOf(other);
    otherUndefined.local[17] = NaN;
    const local = localDeltas(referenceUndefined, otherUndefined, subset);
    expect(local.length).toBe(subset.length);
    subset.forEach((a, r) => {
      const expected = a === 5 || a === 17 ? NaN : other.local[a] - reference.local[a];
      expect(local[r]).toBe(expected);
    });
    expect(localDeltas(reference, other).length).toBe(N);
  });

  it('is NaN throughout for an empty subset', () => {
    const delta = pairedDelta(reference, other, []);
    expect(delta.n).toBe(0);
    expect(delta.globalDelta).toBeNaN();
    expect(Array.from(delta.matrixDelta).every(Number.isNaN)).toBe(true);
    expect(Array.from(delta.contributionDelta).every(Number.isNaN)).toBe(true);
    expect(localDeltas(reference, other, []).length).toBe(0);
  });
});

describe('pairedBootstrap', () => {
  it('gives exactly the one-shot bounds however step() is sliced', () => {
    for (const chosen of [undefined, subset]) {
      const oneShot = pairedBootstrap(reference, other, chosen, options);
      const count = chosen === undefined ? N : chosen.length;
      for (const budget of [1, count - 1, count * 7, 1e9, Infinity]) {
        const resampler = new PairedBootstrapResampler(reference, other, chosen, options);
        const slices = runInSlices(resampler, budget);
        expect(resampler.result()).toEqual(oneShot);
        expect(resampler.done).toBe(options.reps);
        if (budget < count) {
          expect(slices).toBe(options.reps);
        }
      }
    }
  });

  it('has zero deltas and zero-width intervals for identical models', () => {
    const delta = pairedDelta(reference, reference, subset);
    expect(delta.globalDelta).toBe(0);
    expect(Array.from(delta.matrixDelta).every(x => x === 0)).toBe(true);
    expect(Array.from(delta.contributionDelta).every(x => x === 0)).toBe(true);
    const bounds = pairedBootstrap(reference, copyOf(reference), subset, options);
    expect([bounds.globalLow, bounds.globalHigh]).toEqual([0, 0]);
    for (const array of [bounds.contributionLow, bounds.contributionHigh]) {
      expect(Array.from(array)).toEqual(new Array(M).fill(0));
    }
    for (const array of [bounds.matrixLow, bounds.matrixHigh]) {
      expect(Array.from(array)).toEqual(new Array(M * M).fill(0));
    }
    expect(bounds.undefinedReps).toBe(0);
  });

  it('has NaN bounds for an empty subset, and refuses a result before it is done', () => {
    const empty = new PairedBootstrapResampler(reference, other, [], options);
    expect(empty.finished).toBe(true);
    expect(empty.step(1)).toBe(true);
    const bounds = empty.result();
    expect(bounds.undefinedReps).toBe(options.reps);
    expect([bounds.globalLow, bounds.globalHigh]).toEqual([NaN, NaN]);
    expect(Array.from(bounds.matrixLow).every(Number.isNaN)).toBe(true);
    expect(Array.from(bounds.contributionHigh).every(Number.isNaN)).toBe(true);
    const unfinished = new PairedBootstrapResampler(reference, other, undefined, options);
    expect(unfinished.step(1)).toBe(false);
    expect(() => unfinished.result()).toThrow('1 of 150 resamples done');
  });

  it('names `other` when the two models differ in N or M, and checks options and subset', () => {
    const fewer = decomposeAll(randomTables(N - 10, M, 1), M);
    const wider = decomposeAll(randomTables(N, M + 1, 1), M + 1);
    const fewerText =
      `other: expected the same ${N} samples and M = ${M} as the reference, ` +
      `got ${N - 10} samples and M = ${M}`;
    expect(() => pairedDelta(reference, fewer)).toThrow(fewerText);
    expect(() => localDeltas(reference, fewer)).toThrow(fewerText);
    expect(() => pairedBootstrap(reference, wider)).toThrow(`got ${N} samples and M = ${M + 1}`);
    expect(() => new PairedBootstrapResampler(reference, other, undefined, { reps: 0 })).toThrow(
      /options.reps/
    );
    expect(() => pairedBootstrap(reference, other, [N])).toThrow(/subset/);
  });

  it('uses seed 0 by default', () => {
    expect(pairedBootstrap(reference, other, subset, { reps: 50 })).toEqual(
      pairedBootstrap(reference, other, subset, { reps: 50, seed: 0 })
    );
  });
});

interface FixtureCase {
  name: string;
  M: number;
  reference: number[][];
  other: number[][];
  subset: number[] | null;
  reps: number;
  seed: number;
  level: number;
  delta: {
    n: number;
    global_reference: number | null;
    global_other: number | null;
    global_delta: number | null;
    matrix_delta: (number | null)[][];
    contribution_delta: (number | null)[];
    local_delta: (number | null)[];
  };
  bootstrap: {
    global_delta: [number | null, number | null];
    contribution_delta: (number | null)[][];
    matrix_delta: (number | null)[][][];
    undefined_reps: number;
  };
}

const FIXTURE = JSON.parse(
  readFileSync(new URL('../../fixtures/compare/paired.json', import.meta.url), 'utf8')
) as {
  mulberry32: { seed: number; start: number; values: number[] }[];
  cases: FixtureCase[];
};

/** The two sides sum in different orders, so they agree to rounding, far inside this. */
const CROSS_TOLERANCE = 1e-12;

describe('the numpy twin (tests/fixtures/compare/paired.json)', () => {
  it('reproduces mulberry32 at any offset', () => {
    for (const { seed, start, values } of FIXTURE.mulberry32) {
      const random = mulberry32(seed);
      for (let k = 0; k < start; k++) {
        random();
      }
      expect(values.map(() => random())).toEqual(values);
    }
  });

  for (const c of FIXTURE.cases) {
    it(`gives the same deltas and paired bounds: ${c.name}`, () => {
      const ref = decomposeAll(Float64Array.from(c.reference.flat()), c.M);
      const oth = decomposeAll(Float64Array.from(c.other.flat()), c.M);
      const chosen = c.subset ?? undefined;
      const delta = pairedDelta(ref, oth, chosen);
      expect(delta.n).toBe(c.delta.n);
      expectAllClose(
        [delta.globalReference, delta.globalOther, delta.globalDelta],
        [c.delta.global_reference, c.delta.global_other, c.delta.global_delta],
        CROSS_TOLERANCE,
        'global'
      );
      expectAllClose(delta.matrixDelta, c.delta.matrix_delta.flat(), CROSS_TOLERANCE, 'matrix');
      expectAllClose(delta.contributionDelta, c.delta.contribution_delta, CROSS_TOLERANCE, 'c');
      expectAllClose(localDeltas(ref, oth, chosen), c.delta.local_delta, CROSS_TOLERANCE, 'local');
      const options = { reps: c.reps, seed: c.seed, level: c.level };
      expectSameBounds(pairedBootstrap(ref, oth, chosen, options), c.bootstrap);
    });
  }
});

function expectSameBounds(actual: PairedBounds, expected: FixtureCase['bootstrap']): void {
  expect(actual.undefinedReps).toBe(expected.undefined_reps);
  const t = CROSS_TOLERANCE;
  expectAllClose([actual.globalLow, actual.globalHigh], expected.global_delta, t, 'global');
  const contribution = expected.contribution_delta;
  expectAllClose(
    actual.contributionLow,
    contribution.map(b => b[0]),
    t,
    'contribution low'
  );
  expectAllClose(
    actual.contributionHigh,
    contribution.map(b => b[1]),
    t,
    'contribution high'
  );
  const matrix = expected.matrix_delta.flat();
  expectAllClose(
    actual.matrixLow,
    matrix.map(b => b[0]),
    t,
    'matrix low'
  );
  expectAllClose(
    actual.matrixHigh,
    matrix.map(b => b[1]),
    t,
    'matrix high'
  );
}

interface GroupedCase {
  name: string;
  M: number;
  n: number;
  tables: { shared: number; reference: number; other: number };
  subset: { seed: number; count: number } | null;
  reps: number;
  seed: number;
  level: number;
  bootstrap: FixtureCase['bootstrap'];
}

const GROUPED = JSON.parse(
  readFileSync(new URL('../../fixtures/compare/paired_grouped.json', import.meta.url), 'utf8')
) as { cases: GroupedCase[] };

/**
 * The two models of a grouped case, made from mulberry32 streams as the numpy side's
 * `grouped_tables` makes them (every operation exact: the same tables on both sides).
 */
function groupedPair(c: GroupedCase): { ref: PerSample; oth: PerSample; chosen?: Int32Array } {
  const C = 2 ** c.M;
  const shared = mulberry32(c.tables.shared);
  const ownReference = mulberry32(c.tables.reference);
  const ownOther = mulberry32(c.tables.other);
  const game = Array.from({ length: C }, (_, S) => popcount(S) / 2 + (S === C - 1 ? 1 : 0));
  const gameOther = game.map((v, S) => v + (S === C - 1 ? 0.5 : 0));
  const reference = new Float64Array(c.n * C);
  const other = new Float64Array(c.n * C);
  for (let k = 0; k < c.n * C; k++) {
    const x = shared();
    reference[k] = x + 0.25 * (ownReference() - 0.5) + game[k % C];
    other[k] = x + 0.25 * (ownOther() - 0.5) + gameOther[k % C];
  }
  const ref = decomposeAll(reference, c.M);
  const oth = decomposeAll(other, c.M);
  if (c.subset === null) {
    return { ref, oth };
  }
  const random = mulberry32(c.subset.seed);
  return {
    ref,
    oth,
    chosen: Int32Array.from({ length: c.subset.count }, () => Math.floor(random() * c.n))
  };
}

describe('pairedBootstrap above BOOTSTRAP_SAMPLE_LIMIT samples: random groups', () => {
  const c = GROUPED.cases[0];
  const { ref, oth } = groupedPair(c);
  const options = { reps: c.reps, seed: c.seed, level: c.level };

  for (const g of GROUPED.cases) {
    it(`gives the numpy twin’s bounds (paired_grouped.json): ${g.name}`, () => {
      expect(g.subset?.count ?? g.n).toBeGreaterThan(BOOTSTRAP_SAMPLE_LIMIT);
      const pair = g === c ? { ref, oth, chosen: undefined } : groupedPair(g);
      const bounds = pairedBootstrap(pair.ref, pair.oth, pair.chosen, {
        reps: g.reps,
        seed: g.seed,
        level: g.level
      });
      expectSameBounds(bounds, g.bootstrap);
    });
  }

  it('draws groups, not samples: a budget of ten resamples of groups makes ten a slice', () => {
    const oneShot = pairedBootstrap(ref, oth, undefined, options);
    for (const budget of [1, BOOTSTRAP_GROUPS * 10]) {
      const resampler = new PairedBootstrapResampler(ref, oth, undefined, options);
      const slices = runInSlices(resampler, budget);
      expect(slices).toBe(budget === 1 ? c.reps : c.reps / 10);
      expect(resampler.result()).toEqual(oneShot);
    }
  });

  it('uses the same groups and draws for both models: a common shift is recovered exactly', () => {
    const shift = Array.from({ length: c.M * c.M }, (_, j) => j / 10);
    const shifted = copyOf(ref);
    shifted.matrices.forEach((v, k) => (shifted.matrices[k] = v + shift[k % shift.length]));
    const bounds = pairedBootstrap(ref, shifted, undefined, { ...options, reps: 50 });
    expectAllClose(bounds.matrixLow, shift, 1e-12, 'matrix low');
    expectAllClose(bounds.matrixHigh, shift, 1e-12, 'matrix high');
    const same = pairedBootstrap(ref, copyOf(ref), undefined, { ...options, reps: 50 });
    expect([same.globalLow, same.globalHigh]).toEqual([0, 0]);
  });

  it('gives the sample-level interval to Monte-Carlo noise', () => {
    // Below the default limit, so the sample-level bootstrap is quick: 60,000 samples in the
    // 20,000 groups (three a group) against the samples themselves, on the same models.
    const subset = Int32Array.from({ length: 60_000 }, (_, i) => i * 4);
    const reps = { reps: 400, seed: 2, level: 0.95 };
    const grouped = pairedBootstrap(ref, oth, subset, { ...reps, sampleLimit: 50_000 });
    const samples = pairedBootstrap(ref, oth, subset, { ...reps, sampleLimit: Infinity });
    const pairs: [number, number, number, number][] = [
      [grouped.globalLow, grouped.globalHigh, samples.globalLow, samples.globalHigh]
    ];
    for (let j = 0; j < c.M * c.M; j++) {
      pairs.push([
        grouped.matrixLow[j],
        grouped.matrixHigh[j],
        samples.matrixLow[j],
        samples.matrixHigh[j]
      ]);
    }
    for (const [low, high, sampleLow, sampleHigh] of pairs) {
      const width = sampleHigh - sampleLow;
      expect(width).toBeGreaterThan(0);
      // 400 resamples: each bound's Monte-Carlo error is several percent of the width.
      expect(Math.abs(high - low - width)).toBeLessThan(0.2 * width);
      expect(Math.abs((high + low) / 2 - (sampleHigh + sampleLow) / 2)).toBeLessThan(0.2 * width);
    }
  });
});

function copyOf(per: PerSample): PerSample {
  return {
    M: per.M,
    n: per.n,
    shapley: per.shapley.slice(),
    matrices: per.matrices.slice(),
    local: per.local.slice(),
    orderMass: per.orderMass.slice()
  };
}
