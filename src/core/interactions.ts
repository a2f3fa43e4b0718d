/**
 * Interaction indices of any order, from one sample's value table (SPEC.md §4):
 * the Grabisch–Roubens Shapley interaction index and k-SII (Bordt & von Luxburg 2023).
 */
import { forEachSuperset, popcount } from './coalitions';
import { mobiusOfSample } from './mobius';
import {
  checkModalityCount,
  checkSampleIndex,
  checkValueTable,
  describe,
  throwNonFinite
} from './validate';

/** SII(S) = Σ_{T⊇S} m(T) / (|T| − |S| + 1) for the coalition bitmask `setMask` (|S| ≥ 1). */
export function sii(values: Float64Array, M: number, sample: number, setMask: number): number {
  const mobius = sampleMobius(values, M, sample);
  checkSetMask(setMask, M);
  const setSize = popcount(setMask);
  let sum = 0;
  forEachSuperset(setMask, M, t => {
    sum += mobius[t] / (popcount(t) - setSize + 1);
  });
  return sum;
}

/**
 * k-Shapley interaction values (Bordt & von Luxburg 2023, "From Shapley Values to Generalized
 * Additive Models and back") of every set of size 1..k, indexed by bitmask (length 2^M; the empty
 * set and sets larger than k hold 0).
 *
 * Definition: kSII(S) = Σ_{T⊇S, |T|≤k} B_{|T|−|S|} · SII(T), with Bernoulli numbers B_0 = 1,
 * B_1 = −1/2, B_2 = 1/6, … Written in Möbius coefficients this is
 * kSII(S) = Σ_{U⊇S} m(U) · c(|S|, |U|) with c(s, u) = Σ_{j=0}^{min(k,u)−s} C(u−s, j) B_j/(u−s−j+1):
 * every m(U) with |U| ≤ k stays on U (c = [u = s]), and larger coalitions are spread over their
 * subsets of size ≤ k. Hence k = 1 gives Shapley values, k = M the Möbius coefficients, and every k
 * is efficient: the values sum to v(full) − v(∅).
 */
export function kSii(values: Float64Array, M: number, sample: number, k: number): Float64Array {
  const mobius = sampleMobius(values, M, sample);
  if (!Number.isInteger(k) || k < 1 || k > M) {
    throw new RangeError(`k: expected an integer order from 1 to M = ${M}, got ${describe(k)}`);
  }
  const weight = kSiiWeights(M, k);
  const result = new Float64Array(2 ** M);
  for (let s = 1; s < result.length; s++) {
    const setSize = popcount(s);
    if (setSize > k) {
      continue;
    }
    let sum = 0;
    forEachSuperset(s, M, u => {
      sum += mobius[u] * weight[setSize * (M + 1) + popcount(u)];
    });
    result[s] = sum;
  }
  return result;
}

/** c(s, u) of kSii as an (M+1) × (M+1) table, row s, column u. */
function kSiiWeights(M: number, k: number): Float64Array {
  const B = bernoulliNumbers(M);
  const table = new Float64Array((M + 1) * (M + 1));
  for (let s = 1; s <= k; s++) {
    for (let u = s; u <= M; u++) {
      let c = 0;
      for (let j = 0; j <= Math.min(k, u) - s; j++) {
        c += (binomial(u - s, j) * B[j]) / (u - s - j + 1);
      }
      table[s * (M + 1) + u] = c;
    }
  }
  return table;
}

/** B_0 … B_n with B_1 = −1/2, from Σ_{j=0}^{m} C(m+1, j) B_j = 0 for m ≥ 1. */
export function bernoulliNumbers(n: number): Float64Array {
  const B = new Float64Array(n + 1);
  B[0] = 1;
  for (let m = 1; m <= n; m++) {
    let sum = 0;
    for (let j = 0; j < m; j++) {
      sum += binomial(m + 1, j) * B[j];
    }
    B[m] = -sum / (m + 1);
  }
  return B;
}

function binomial(n: number, r: number): number {
  let result = 1;
  for (let i = 1; i <= r; i++) {
    result = (result * (n - r + i)) / i;
  }
  return result;
}

function sampleMobius(values: Float64Array, M: number, sample: number): Float64Array {
  checkModalityCount(M);
  const n = checkValueTable(values, M);
  checkSampleIndex(sample, n);
  const mobius = mobiusOfSample(values, M, sample, new Float64Array(2 ** M));
  // As in decomposeAll: m(full) is finite exactly when the sample's table is.
  if (!Number.isFinite(mobius[mobius.length - 1])) {
    throwNonFinite(values, sample, mobius.length);
  }
  return mobius;
}

function checkSetMask(setMask: number, M: number): void {
  if (!Number.isInteger(setMask) || setMask < 1 || setMask >= 2 ** M) {
    throw new RangeError(
      `setMask: expected a non-empty coalition bitmask from 1 to 2^M − 1 = ${2 ** M - 1}, ` +
        `got ${describe(setMask)}`
    );
  }
}
