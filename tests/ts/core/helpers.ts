/**
 * Shared test helpers: the golden file, seeded random games, and a naive reference decomposition
 * written straight from the textbook formulas on v (no Möbius transform), so that the fast kernels
 * are checked against an independent derivation.
 */
import { readFileSync } from 'node:fs';
import { mulberry32 } from '../../../src/core/random';

export interface GoldenGame {
  kind: string;
  M: number;
  values: number[][];
  matrices: number[][][];
  shapley: number[][];
  local: (number | null)[];
  local_mean: number | null;
  global_intershap: number | null;
  modality_contributions: number[];
  interactions_share: number | null;
}

// The vendored copy of ../shared/golden (tests/python/test_golden_copy.py keeps it identical).
export const GOLDEN_URL = new URL('../../golden/reference_games.json', import.meta.url);

export function loadGoldenText(): string {
  return readFileSync(GOLDEN_URL, 'utf8');
}

export function loadGolden(): GoldenGame[] {
  return JSON.parse(loadGoldenText()).games as GoldenGame[];
}

export function flatValues(game: { values: number[][] }): Float64Array {
  return Float64Array.from(game.values.flat());
}

/** A seeded uniform generator on [low, high). */
export function uniform(seed: number, low = -1, high = 1): () => number {
  const random = mulberry32(seed);
  return () => low + (high - low) * random();
}

/** Seeded standard normal draws (Box–Muller). */
export function normal(seed: number): () => number {
  const random = mulberry32(seed);
  return () => {
    const u = 1 - random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  };
}

export function randomTables(n: number, M: number, seed: number): Float64Array {
  const draw = uniform(seed);
  return Float64Array.from({ length: n * 2 ** M }, draw);
}

export function popcount(mask: number): number {
  let count = 0;
  for (let x = mask; x !== 0; x &= x - 1) {
    count++;
  }
  return count;
}

export function factorial(k: number): number {
  let result = 1;
  for (let i = 2; i <= k; i++) {
    result *= i;
  }
  return result;
}

/** φ_i = Σ_{S∌i} |S|!(M−|S|−1)!/M! · (v(S∪i) − v(S)), straight from v. */
export function naiveShapley(v: ArrayLike<number>, M: number, i: number): number {
  let phi = 0;
  for (let s = 0; s < 2 ** M; s++) {
    if (s & (1 << i)) {
      continue;
    }
    const k = popcount(s);
    const weight = (factorial(k) * factorial(M - k - 1)) / factorial(M);
    phi += weight * (v[s | (1 << i)] - v[s]);
  }
  return phi;
}

/** SII({i,j}) = Σ_{S∌i,j} |S|!(M−|S|−2)!/(M−1)! · Δ_ij v(S), straight from v. */
export function naivePairSii(v: ArrayLike<number>, M: number, i: number, j: number): number {
  const bi = 1 << i;
  const bj = 1 << j;
  let sum = 0;
  for (let s = 0; s < 2 ** M; s++) {
    if (s & (bi | bj)) {
      continue;
    }
    const k = popcount(s);
    const weight = (factorial(k) * factorial(M - k - 2)) / factorial(M - 1);
    sum += weight * (v[s | bi | bj] - v[s | bi] - v[s | bj] + v[s]);
  }
  return sum;
}

/** m(T) = Σ_{S⊆T} (−1)^{|T|−|S|} v(S), straight from the definition. */
export function naiveMobius(v: ArrayLike<number>, M: number): Float64Array {
  const m = new Float64Array(2 ** M);
  for (let t = 0; t < 2 ** M; t++) {
    for (let s = 0; s < 2 ** M; s++) {
      if ((s & t) === s) {
        m[t] += (popcount(t) - popcount(s)) % 2 === 0 ? v[s] : -v[s];
      }
    }
  }
  return m;
}

/** Φ of one value table, row-major, from the naive formulas. */
export function naiveMatrix(v: ArrayLike<number>, M: number): Float64Array {
  const matrix = new Float64Array(M * M);
  for (let i = 0; i < M; i++) {
    let rowOff = 0;
    for (let j = 0; j < M; j++) {
      if (j !== i) {
        matrix[i * M + j] = naivePairSii(v, M, i, j) / 2;
        rowOff += matrix[i * M + j];
      }
    }
    matrix[i * M + i] = naiveShapley(v, M, i) - rowOff;
  }
  return matrix;
}

/** Builds a value table from Möbius coefficients: v(S) = Σ_{T⊆S} m(T). */
export function gameFromMobius(m: ArrayLike<number>, M: number): Float64Array {
  const v = new Float64Array(2 ** M);
  for (let s = 0; s < 2 ** M; s++) {
    for (let t = 0; t < 2 ** M; t++) {
      if ((t & s) === t) {
        v[s] += m[t];
      }
    }
  }
  return v;
}

export function expectAllClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number | null>,
  tolerance: number,
  label: string
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${label}: length ${actual.length} ≠ expected ${expected.length}`);
  }
  for (let k = 0; k < actual.length; k++) {
    const e = expected[k];
    const a = actual[k];
    const expectUndefined = e === null || Number.isNaN(e);
    const ok = expectUndefined ? Number.isNaN(a) : Math.abs(a - e) <= tolerance;
    if (!ok) {
      throw new Error(`${label}[${k}]: got ${a}, expected ${e} (tolerance ${tolerance})`);
    }
  }
}
