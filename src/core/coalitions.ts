/**
 * Coalitions as bitmasks, and the per-M coefficient tables ("plans") that turn Möbius coefficients
 * into Shapley values and pair interactions.
 *
 * Why tables: φ_i = Σ_{T∋i} m(T)/|T| and SII({i,j}) = Σ_{T⊇{i,j}} m(T)/(|T|−1) are linear in the
 * Möbius coefficients with weights that depend only on M. Listing, once per M, which coalitions feed
 * each output and with which weight turns the per-sample work into short gather loops with no
 * branching, bit twiddling or allocation.
 */
import { pairWeight, shapleyWeight } from './weights';

export interface CoalitionPlan {
  readonly M: number;
  /** 2^M. */
  readonly coalitions: number;
  /** popcount of every coalition bitmask. */
  readonly size: Uint8Array;
  /** The non-empty coalitions sorted by size; order k's run starts at orderStart[k − 1]. */
  readonly coalitionsBySize: Int32Array;
  /** M + 1 offsets into coalitionsBySize. */
  readonly orderStart: Int32Array;
  /** 1/|T| per coalition (0 for ∅): scales m(T) into its share of each member's φ. */
  readonly shapleyWeightOf: Float64Array;
  /** 1/(2(|T|−1)) per coalition (0 for |T| < 2): half the Grabisch–Roubens pair weight, as
   * InterSHAP halves SII. */
  readonly pairWeightOf: Float64Array;
  /** Row i lists the 2^(M−1) coalitions T ∋ i, row-major (M rows). */
  readonly shapleyTerms: Int32Array;
  /** Number of unordered pairs, M(M−1)/2. */
  readonly pairCount: number;
  /** The pairs (i < j) in lexicographic order. */
  readonly pairFirst: Int32Array;
  readonly pairSecond: Int32Array;
  /** Row p lists the 2^(M−2) coalitions T ⊇ pair p, row-major. */
  readonly pairTerms: Int32Array;
}

export function popcount(mask: number): number {
  let x = mask - ((mask >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** Calls visit(T) for every T ⊇ set inside {0..M−1}, i.e. set ∪ each subset of its complement. */
export function forEachSuperset(set: number, M: number, visit: (superset: number) => void): void {
  const complement = (2 ** M - 1) & ~set;
  // Standard subset enumeration of the complement, from the complement itself down to ∅.
  for (let rest = complement; ; rest = (rest - 1) & complement) {
    visit(set | rest);
    if (rest === 0) {
      break;
    }
  }
}

const planCache = new Map<number, CoalitionPlan>();

/** The coefficient tables for M modalities, built once and cached (they depend on M alone). */
export function coalitionPlan(M: number): CoalitionPlan {
  let plan = planCache.get(M);
  if (plan === undefined) {
    plan = buildPlan(M);
    planCache.set(M, plan);
  }
  return plan;
}

function buildPlan(M: number): CoalitionPlan {
  const coalitions = 2 ** M;
  const size = new Uint8Array(coalitions);
  for (let b = 0; b < coalitions; b++) {
    size[b] = popcount(b);
  }
  const { coalitionsBySize, orderStart } = sortBySize(size, M);
  const shapleyWeightOf = new Float64Array(coalitions);
  const pairWeightOf = new Float64Array(coalitions);
  for (let t = 1; t < coalitions; t++) {
    shapleyWeightOf[t] = shapleyWeight(size[t]);
    pairWeightOf[t] = size[t] >= 2 ? pairWeight(size[t]) : 0;
  }
  const perModality = coalitions / 2;
  const shapleyTerms = new Int32Array(M * perModality);
  for (let i = 0; i < M; i++) {
    let k = i * perModality;
    forEachSuperset(1 << i, M, t => {
      shapleyTerms[k] = t;
      k++;
    });
  }
  const pairCount = (M * (M - 1)) / 2;
  const perPair = coalitions / 4;
  const pairFirst = new Int32Array(pairCount);
  const pairSecond = new Int32Array(pairCount);
  const pairTerms = new Int32Array(pairCount * perPair);
  let p = 0;
  for (let i = 0; i < M; i++) {
    for (let j = i + 1; j < M; j++) {
      pairFirst[p] = i;
      pairSecond[p] = j;
      let k = p * perPair;
      forEachSuperset((1 << i) | (1 << j), M, t => {
        pairTerms[k] = t;
        k++;
      });
      p++;
    }
  }
  return {
    M,
    coalitions,
    size,
    coalitionsBySize,
    orderStart,
    shapleyWeightOf,
    pairWeightOf,
    shapleyTerms,
    pairCount,
    pairFirst,
    pairSecond,
    pairTerms
  };
}

function sortBySize(
  size: Uint8Array,
  M: number
): { coalitionsBySize: Int32Array; orderStart: Int32Array } {
  const orderStart = new Int32Array(M + 1);
  for (let t = 1; t < size.length; t++) {
    orderStart[size[t]]++;
  }
  for (let k = 1; k <= M; k++) {
    orderStart[k] += orderStart[k - 1];
  }
  // orderStart[k] now ends order k; shift so that entry k − 1 starts order k.
  const next = Int32Array.from(orderStart.subarray(0, M));
  const coalitionsBySize = new Int32Array(size.length - 1);
  for (let t = 1; t < size.length; t++) {
    coalitionsBySize[next[size[t] - 1]++] = t;
  }
  return { coalitionsBySize, orderStart };
}
