/**
 * JavaScript source fragments for the compiled kernels (compiled.ts, blocked.ts): the Möbius
 * transform and the partial superset sums, unrolled over coalitions held in local variables.
 *
 * The math, for coalitions T of some set of bits (SPEC §2): after the Möbius transform,
 * φ_i = Σ_{T∋i} m(T)/|T| and Φ_ij = Σ_{T⊇{i,j}} m(T)/(2(|T|−1)). Scaling every m(T) once by its
 * weight turns both into superset sums, Σ_{T⊇S} w(T), which the bit-by-bit superset transform
 * computes for every S at once. Only the sets S of one or two bits are needed, so the transform is
 * pruned to the entries that can still reach them: at M = 8 that is 657 additions for all 28
 * pairs instead of 1 792 for 28 separate sums of 64 terms.
 */
import { popcount } from './coalitions';

/**
 * Compiles a function from source lines. The sourceURL names it in profiles and stack traces.
 * Throws where a Content-Security-Policy forbids `new Function` (compiledKernel catches that).
 */
export function compileFunction<F>(params: string[], lines: string[], name: string): F {
  const body = ["'use strict';", ...lines, `//# sourceURL=intershap-${name}.js`].join('\n');
  return new Function(...params, body) as F;
}

/** 0, 1, …, n − 1. */
export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** The coalitions of `bits` bits with `size` members, in increasing order. */
export function coalitionsOfSize(bits: number, size: number): number[] {
  return range(1 << bits).filter(b => popcount(b) === size);
}

/**
 * The in-place Möbius transform over `bits` bits: name(b) −= name(b without bit), bit by bit.
 */
export function mobiusStatements(bits: number, name: (b: number) => string): string[] {
  const statements: string[] = [];
  for (let bit = 1; bit < 1 << bits; bit <<= 1) {
    for (let b = 0; b < 1 << bits; b++) {
      if (b & bit) {
        statements.push(`${name(b)} -= ${name(b ^ bit)};`);
      }
    }
  }
  return statements;
}

/**
 * The superset transform name(S) += name(S ∪ bit), bit by bit from the highest, pruned to what
 * the targets need: the sets with at most `keep` members, of which only those with at least
 * `minSize` members are read afterwards.
 *
 * When bit h is processed, entry S (bit h clear) only ever flows on into subsets of S that keep
 * S's bits ≥ h, so it is needed while those bits number at most `keep`; and an entry with fewer
 * than `minSize` members only reaches sets smaller still.
 */
export function supersetStatements(
  bits: number,
  keep: number,
  minSize: number,
  name: (b: number) => string,
  startsZero: (b: number) => boolean = () => false
): string[] {
  const statements: string[] = [];
  // Entries known to be 0 are not declared: an addition from one is skipped, and the first
  // addition into one declares it.
  const zero = new Set(range(1 << bits).filter(startsZero));
  for (let h = bits - 1; h >= 0; h--) {
    const bit = 1 << h;
    for (let s = 0; s < 1 << bits; s++) {
      if (!(s & bit) && popcount(s >> h) <= keep && popcount(s) >= minSize) {
        if (zero.has(s | bit)) {
          continue;
        }
        if (zero.delete(s)) {
          statements.push(`let ${name(s)} = ${name(s | bit)};`);
        } else {
          statements.push(`${name(s)} += ${name(s | bit)};`);
        }
      }
    }
  }
  return statements;
}

/**
 * `terms` summed as a balanced tree: a left-to-right chain makes each addition wait for the
 * previous one, a tree lets the CPU overlap them (blocked.ts sums up to 16 terms at once).
 */
export function sumTree(terms: string[]): string {
  if (terms.length === 0) {
    return '0';
  }
  if (terms.length === 1) {
    return terms[0];
  }
  const half = terms.length >> 1;
  return `(${sumTree(terms.slice(0, half))} + ${sumTree(terms.slice(half))})`;
}

/** The weight 1/(2(k−1)) that turns m(T), |T| = k ≥ 2, into its share of each Φ_ij, i,j ∈ T. */
export function pairWeight(size: number): number {
  return 1 / (2 * (size - 1));
}

/** The weight 1/k that turns m(T), |T| = k ≥ 1, into its share of each φ_i, i ∈ T. */
export function shapleyWeight(size: number): number {
  return 1 / size;
}

/**
 * The weight that turns m(T), |T| = k ≥ 1, into its share of each main effect Φ_ii, i ∈ T:
 * Φ_ii = φ_i − Σ_{j≠i} Φ_ij = Σ_{T∋i} m(T)·(1/k − [k ≥ 2]/2), so 1 for k = 1, 0 for k = 2 and
 * (2 − k)/(2k) above.
 */
export function diagonalWeight(size: number): number {
  return size === 1 ? 1 : (2 - size) / (2 * size);
}

/** The local score from the sums of |Φ|, in the form simd.ts recognises. */
export const LOCAL_SCORE = 'const localScore = total === 0 ? NaN : offDiagonal / total;';

/**
 * Φ (row-major), φ and the local score of sample a, from the names of Φ_ij (i < j) and either
 * φ_i (then Φ_ii = φ_i − Σ_{j≠i} Φ_ij) or Φ_ii (then φ_i = Φ_ii + Σ_{j≠i} Φ_ij); each name is
 * read several times. Offsets: o = a·M, r = a·M². Leaves the diagonal in d0 … d(M−1), φ in
 * f0 … f(M−1) and the local score in localScore.
 */
export function outputStatements(
  M: number,
  pair: (i: number, j: number) => string,
  given: { phi: (i: number) => string } | { diagonal: (i: number) => string }
): string[] {
  const statements: string[] = [];
  const offDiagonal: string[] = [];
  for (let i = 0; i < M; i++) {
    for (let j = i + 1; j < M; j++) {
      offDiagonal.push(`Math.abs(${pair(i, j)})`);
    }
  }
  const h = (i: number, j: number) => (i < j ? pair(i, j) : pair(j, i));
  for (let i = 0; i < M; i++) {
    const partners = range(M)
      .filter(j => j !== i)
      .map(j => h(i, j))
      .join(' + ');
    statements.push(
      ...('phi' in given
        ? [`const f${i} = ${given.phi(i)};`, `const d${i} = f${i} - (${partners});`]
        : [`const d${i} = ${given.diagonal(i)};`, `const f${i} = d${i} + (${partners});`]),
      ...range(M).map(j => `matrices[r + ${i * M + j}] = ${i === j ? `d${i}` : h(i, j)};`),
      `shapley[o + ${i}] = f${i};`
    );
  }
  statements.push(
    `const offDiagonal = 2 * (${offDiagonal.join(' + ')});`,
    `const total = offDiagonal + ${range(M)
      .map(i => `Math.abs(d${i})`)
      .join(' + ')};`,
    // Exactly 0 means the model ignores every modality: undefined, never a silent 0/0 (SPEC §2).
    LOCAL_SCORE,
    'local[a] = localScore;'
  );
  return statements;
}
