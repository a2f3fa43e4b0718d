/**
 * Statement generators for the compiled kernels (compiled.ts, blocked.ts), in the statement form
 * of program.ts: the Möbius transform and the partial superset sums, unrolled over coalitions
 * held in local variables, and the writes of every output of one sample.
 *
 * The math, for coalitions T of some set of bits (SPEC §2): after the Möbius transform,
 * φ_i = Σ_{T∋i} m(T)/|T| and Φ_ij = Σ_{T⊇{i,j}} m(T)/(2(|T|−1)). Scaling every m(T) once by its
 * weight (weights.ts) turns both into superset sums, Σ_{T⊇S} w(T), which the bit-by-bit superset
 * transform computes for every S at once. Only the sets S of one or two bits are needed, so the
 * transform is pruned to the entries that can still reach them: at M = 8 that is 657 additions
 * for all 28 pairs instead of 1 792 for 28 separate sums of 64 terms.
 */
import { popcount } from './coalitions';
import { mobiusSteps } from './mobius';
import { abs, addTo, binary, chain, declare, local, number, store } from './program';
import type { Expr, Statement } from './program';

/** 0, 1, …, n − 1. */
export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** The coalitions of `bits` bits with `size` members, in increasing order. */
export function coalitionsOfSize(bits: number, size: number): number[] {
  return range(1 << bits).filter(b => popcount(b) === size);
}

/** The in-place Möbius transform over `bits` bits (mobius.ts), on the locals name(b). */
export function mobiusStatements(bits: number, name: (b: number) => string): Statement[] {
  return mobiusSteps(bits).map(([b, partner]) => addTo(name(b), local(name(partner)), '-'));
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
): Statement[] {
  const statements: Statement[] = [];
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
        const from = local(name(s | bit));
        statements.push(zero.delete(s) ? declare(name(s), from) : addTo(name(s), from));
      }
    }
  }
  return statements;
}

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
): Statement[] {
  const statements: Statement[] = [];
  const offDiagonal: Expr[] = [];
  for (let i = 0; i < M; i++) {
    for (let j = i + 1; j < M; j++) {
      offDiagonal.push(abs(local(pair(i, j))));
    }
  }
  const h = (i: number, j: number) => (i < j ? pair(i, j) : pair(j, i));
  for (let i = 0; i < M; i++) {
    const partners = chain(
      range(M)
        .filter(j => j !== i)
        .map(j => local(h(i, j)))
    );
    const [f, d] = [`f${i}`, `d${i}`];
    statements.push(
      ...('phi' in given
        ? [declare(f, local(given.phi(i))), declare(d, binary('-', local(f), partners))]
        : [declare(d, local(given.diagonal(i))), declare(f, binary('+', local(d), partners))]),
      ...range(M).map(j => store('matrices', 'r', i * M + j, local(i === j ? d : h(i, j)))),
      store('shapley', 'o', i, local(f))
    );
  }
  statements.push(
    declare('offDiagonal', binary('*', number(2), chain(offDiagonal))),
    declare('total', chain([local('offDiagonal'), ...range(M).map(i => abs(local(`d${i}`)))])),
    { kind: 'localScore', name: 'localScore', offDiagonal: 'offDiagonal', total: 'total' },
    store('local', 'a', 0, local('localScore'))
  );
  return statements;
}
