/**
 * The "blocked" compiled kernel, for M above MAX_REGISTER_M (compiled.ts says why the register
 * kernel stops there).
 *
 * Coalition b is split as b = H·L + ℓ: ℓ holds the low Lb = M − 5 modalities, H the top five.
 * Per sample:
 * 1. low pass: Möbius transform over the low bits, run by run of L contiguous coalitions
 *    (straight-line over up to 32 locals; loops for any low bits beyond five);
 * 2. high pass, once per ℓ: the 32 coalitions H·L + ℓ are loaded into locals, Möbius-transformed
 *    over the high bits (they are now the final m(T)), summed into the order masses, scaled into
 *    pair and Shapley shares, and reduced by pruned superset sums over the high bits to the 16
 *    high parts with ≤ 2 members (and 6 with ≤ 1) that a pair (or a modality) can still reach;
 * 3. finish: Φ_ij and φ_i are sums of those results over the low parts ℓ that contain the low
 *    members of the pair (or modality); then the diagonal, the local score and the writes.
 *
 * Why five high bits: 32 coalitions in locals is about what V8 keeps in registers without
 * spilling much, it measured fastest at M = 8 (three to six were tried, docs/BENCHMARKS.md), and it
 * keeps one high pass for every M ≥ 8. The three variants of the high pass drop work that ℓ's
 * with 0 or 1 members never use.
 */
import { popcount } from './coalitions';
import type { Kernel } from './kernels';
import { mobiusBitsInPlace } from './mobius';
import {
  binary,
  compileFunction,
  declare,
  element,
  local,
  number,
  printJavaScript,
  scaled,
  store,
  tree
} from './program';
import type { Statement } from './program';
import {
  coalitionsOfSize,
  mobiusStatements,
  outputStatements,
  range,
  supersetStatements
} from './statements';
import { localScore, pairWeight, shapleyWeight } from './weights';

const HIGH_BITS = 5;
const BLOCK = 1 << HIGH_BITS;
/** High parts a pair can still reach (≤ 2 members), and a single modality (≤ 1). */
const PAIR_TARGETS = range(BLOCK).filter(h => popcount(h) <= 2);
const SHAPLEY_TARGETS = range(BLOCK).filter(h => popcount(h) <= 1);
/** The low pass transforms this many low bits in locals; loops do any further ones (M > 10). */
const LOW_PASS_BITS = 5;
/**
 * The finish is straight-line up to this many low bits (M ≤ 9), where that is faster than loops;
 * from M = 10 on loops over index lists are as fast, and at M = 11 a straight-line finish has
 * thousands of terms and is not optimised (docs/BENCHMARKS.md).
 */
const MAX_STRAIGHT_FINISH_LOW_BITS = 4;

type LowPass = (values: Float64Array, start: number, m: Float64Array) => void;

type HighPass = (
  m: Float64Array,
  pairShares: Float64Array,
  shapleyShares: Float64Array,
  mass: Float64Array,
  pairWeights: Float64Array,
  shapleyWeights: Float64Array,
  l: number,
  c: number
) => void;

type Finish = (
  pairShares: Float64Array,
  shapleyShares: Float64Array,
  mass: Float64Array,
  shapley: Float64Array,
  matrices: Float64Array,
  local: Float64Array,
  orderMass: Float64Array,
  a: number
) => void;

/** Where each modality sits: a bit of the low part ℓ, or of the high part H. */
interface Split {
  readonly M: number;
  readonly lowBits: number;
  /** 2^lowBits: the stride between the coalitions of one high pass. */
  readonly L: number;
  lowMask(i: number): number;
  highMask(i: number): number;
}

function split(M: number): Split {
  const lowBits = M - HIGH_BITS;
  return {
    M,
    lowBits,
    L: 1 << lowBits,
    lowMask: i => (i < lowBits ? 1 << i : 0),
    highMask: i => (i < lowBits ? 0 : 1 << (i - lowBits))
  };
}

export function blockedKernel(M: number): Kernel {
  if (M < HIGH_BITS) {
    throw new RangeError(`blockedKernel: expected M ≥ ${HIGH_BITS}, got ${M}`);
  }
  const layout = split(M);
  const { L, lowBits } = layout;
  const coalitions = 1 << M;
  const lowPass = compileLowPass(layout);
  // One variant per |ℓ| = 0, 1, ≥ 2 (see compileHighPass).
  const [high0, high1, high2] = [0, 1, 2].map(c => compileHighPass(layout, c));
  const finish =
    lowBits <= MAX_STRAIGHT_FINISH_LOW_BITS ? compileFinish(layout) : gatherFinish(layout);
  const pairWeights = weightsBySize(M, k => (k >= 2 ? pairWeight(k) : 0));
  const shapleyWeights = weightsBySize(M, k => (k >= 1 ? shapleyWeight(k) : 0));
  const lowSize = Int32Array.from(range(L), popcount);
  return (values, n, shapley, matrices, local, orderMass) => {
    const m = new Float64Array(coalitions);
    const pairShares = new Float64Array(L * PAIR_TARGETS.length);
    const shapleyShares = new Float64Array(L * SHAPLEY_TARGETS.length);
    const mass = new Float64Array(M + 1);
    for (let a = 0; a < n; a++) {
      lowPass(values, a * coalitions, m);
      mobiusBitsInPlace(m, 1 << LOW_PASS_BITS, L); // only past five low bits (M > 10)
      mass.fill(0);
      for (let l = 0; l < L; l++) {
        const c = lowSize[l];
        const high = c >= 2 ? high2 : c === 1 ? high1 : high0;
        high(m, pairShares, shapleyShares, mass, pairWeights, shapleyWeights, l, c);
      }
      // mass[M] is m(full): finite exactly when the whole table is (see program.ts).
      if (!Number.isFinite(mass[M])) {
        return a;
      }
      finish(pairShares, shapleyShares, mass, shapley, matrices, local, orderMass, a);
    }
    return -1;
  };
}

/** weight(k) at index k = 0 … M (a high pass reads index |ℓ| + |H|). */
function weightsBySize(M: number, weight: (k: number) => number): Float64Array {
  return Float64Array.from(range(M + 1), weight);
}

// --- 1. low pass ---------------------------------------------------------------------------------

/** Möbius over the low bits, up to the first five of them in locals, run by run. */
function compileLowPass(layout: Split): LowPass {
  const bits = Math.min(layout.lowBits, LOW_PASS_BITS);
  const run = 1 << bits;
  const y = (b: number) => `y${b}`;
  const body = [
    `for (let d = 0; d < ${1 << layout.M}; d += ${run}) {`,
    'const base = start + d;',
    ...printJavaScript([
      ...range(run).map(b => declare(y(b), element('values', 'base', b))),
      ...mobiusStatements(bits, y),
      ...range(run).map(b => store('m', 'd', b, local(y(b))))
    ]),
    '}'
  ];
  return compileFunction<LowPass>(['values', 'start', 'm'], body, `M${layout.M}-low`);
}

// --- 2. high pass --------------------------------------------------------------------------------

/**
 * The high pass for low parts ℓ with c members (c = 2 stands for ≥ 2). A pair reached from ℓ has
 * at least 2 − c high members, a modality at least 1 − c: shares below that are never read, so
 * the c = 0 and c = 1 variants skip them.
 */
function compileHighPass(layout: Split, c: number): HighPass {
  const minPair = Math.max(0, 2 - c);
  const minShapley = Math.max(0, 1 - c);
  const x = (h: number) => `x${h}`;
  const lines = printJavaScript([
    ...range(BLOCK).map(h => declare(x(h), element('m', 'l', h * layout.L))),
    ...mobiusStatements(HIGH_BITS, x),
    ...range(HIGH_BITS + 1).map(k => {
      const terms = tree(coalitionsOfSize(HIGH_BITS, k).map(h => local(x(h))));
      return store('mass', 'c', k, binary('+', element('mass', 'c', k), terms));
    }),
    ...range(HIGH_BITS + 1).flatMap(k => [
      declare(`wp${k}`, element('pairWeights', 'c', k)),
      declare(`wq${k}`, element('shapleyWeights', 'c', k))
    ]),
    // Shapley shares first, stored, then pair shares: at most 64 values are live instead of 96
    // (x, p and q together), which spills less and measured faster (docs/BENCHMARKS.md).
    ...shareStatements('q', 1, minShapley, SHAPLEY_TARGETS, 'shapleyShares'),
    ...shareStatements('p', 2, minPair, PAIR_TARGETS, 'pairShares')
  ]);
  const params = ['m', 'pairShares', 'shapleyShares', 'mass', 'pairWeights', 'shapleyWeights'];
  return compileFunction<HighPass>([...params, 'l', 'c'], lines, `M${layout.M}-high${c}`);
}

/**
 * One kind of share (q: Shapley, p: pair): every x{h} with at least `minSize` members scaled by
 * the weight local w{kind}{|h|}, reduced by the pruned superset sums to the sets of at most `keep`
 * members, and those in `targets` stored from l × targets.length on in `array`.
 */
function shareStatements(
  kind: 'q' | 'p',
  keep: number,
  minSize: number,
  targets: readonly number[],
  array: string
): Statement[] {
  const name = (h: number) => `${kind}${h}`;
  const offset = `o${kind}`;
  return [
    ...range(BLOCK)
      .filter(h => popcount(h) >= minSize)
      .map(h => scaled(name(h), `x${h}`, local(`w${kind}${popcount(h)}`))),
    ...supersetStatements(HIGH_BITS, keep, minSize, name),
    declare(offset, binary('*', local('l'), number(targets.length))),
    ...targets.flatMap((h, t) =>
      popcount(h) >= minSize ? [store(array, offset, t, local(name(h)))] : []
    )
  ];
}

// --- 3. finish -----------------------------------------------------------------------------------

/** Indices into pairShares whose sum is Φ_ij (i ≠ j). */
function pairTerms(layout: Split, i: number, j: number): number[] {
  const low = layout.lowMask(i) | layout.lowMask(j);
  const target = PAIR_TARGETS.indexOf(layout.highMask(i) | layout.highMask(j));
  return range(layout.L)
    .filter(l => (l & low) === low)
    .map(l => l * PAIR_TARGETS.length + target);
}

/** Indices into shapleyShares whose sum is φ_i. */
function shapleyTerms(layout: Split, i: number): number[] {
  const low = layout.lowMask(i);
  const target = SHAPLEY_TARGETS.indexOf(layout.highMask(i));
  return range(layout.L)
    .filter(l => (l & low) === low)
    .map(l => l * SHAPLEY_TARGETS.length + target);
}

function compileFinish(layout: Split): Finish {
  const { M } = layout;
  const pairShare = (t: number) => element('pairShares', null, t);
  const shapleyShare = (t: number) => element('shapleyShares', null, t);
  const lines = [
    `const o = a * ${M}, r = a * ${M * M};`,
    ...printJavaScript([
      ...range(M).flatMap(i =>
        range(M)
          .filter(j => j > i)
          .map(j => declare(`h${i}_${j}`, tree(pairTerms(layout, i, j).map(pairShare))))
      ),
      ...range(M).map(i => declare(`g${i}`, tree(shapleyTerms(layout, i).map(shapleyShare)))),
      ...outputStatements(M, (i, j) => `h${i}_${j}`, { phi: i => `g${i}` }),
      ...range(M).map(k => store('orderMass', 'o', k, element('mass', null, k + 1)))
    ])
  ];
  const params = ['pairShares', 'shapleyShares', 'mass', 'shapley', 'matrices', 'local'];
  return compileFunction<Finish>([...params, 'orderMass', 'a'], lines, `M${M}-finish`);
}

/** The finish as loops over index lists, for low parts too large to write out (M > 9). */
function gatherFinish(layout: Split): Finish {
  const { M } = layout;
  const pairs = range(M).flatMap(i =>
    range(M)
      .filter(j => j > i)
      .map(j => [i, j])
  );
  const first = Int32Array.from(pairs, pair => pair[0]);
  const second = Int32Array.from(pairs, pair => pair[1]);
  const pairList = termLists(pairs.map(([i, j]) => pairTerms(layout, i, j)));
  const shapleyList = termLists(range(M).map(i => shapleyTerms(layout, i)));
  const phi = new Float64Array(M);
  return (pairShares, shapleyShares, mass, shapley, matrices, local, orderMass, a) => {
    const o = a * M;
    const r = a * M * M;
    for (let i = 0; i < M; i++) {
      phi[i] = gather(shapleyShares, shapleyList, i);
      shapley[o + i] = phi[i];
      orderMass[o + i] = mass[i + 1];
    }
    let offDiagonal = 0;
    for (let p = 0; p < first.length; p++) {
      const i = first[p];
      const j = second[p];
      const half = gather(pairShares, pairList, p);
      matrices[r + i * M + j] = half;
      matrices[r + j * M + i] = half;
      phi[i] -= half;
      phi[j] -= half;
      offDiagonal += 2 * Math.abs(half);
    }
    let total = offDiagonal;
    for (let i = 0; i < M; i++) {
      matrices[r + i * M + i] = phi[i];
      total += Math.abs(phi[i]);
    }
    local[a] = localScore(offDiagonal, total);
  };
}

interface TermLists {
  readonly terms: Int32Array;
  /** List k is terms[start[k] … start[k + 1]). */
  readonly start: Int32Array;
}

function termLists(lists: number[][]): TermLists {
  const start = new Int32Array(lists.length + 1);
  lists.forEach((list, k) => (start[k + 1] = start[k] + list.length));
  return { terms: Int32Array.from(lists.flat()), start };
}

/** Σ shares[t] over list k, with two accumulators so that the additions overlap. */
function gather(shares: Float64Array, lists: TermLists, k: number): number {
  const { terms, start } = lists;
  const end = start[k + 1];
  let even = 0;
  let odd = 0;
  let t = start[k];
  for (; t + 1 < end; t += 2) {
    even += shares[terms[t]];
    odd += shares[terms[t + 1]];
  }
  return t < end ? even + odd + shares[terms[t]] : even + odd;
}
