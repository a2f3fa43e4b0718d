/**
 * Standard errors of φ and Φ from the Monte-Carlo standard errors of the coalition values
 * (SPEC.md §1: a value averaged over R background draws has an error; users need error bars).
 */
import { coalitionPlan } from './coalitions';
import type { CoalitionPlan } from './coalitions';
import { transposedMobiusInPlace } from './mobius';
import { checkModalityCount, checkValueTable } from './validate';
import { diagonalWeight } from './weights';

export interface StandardErrors {
  /** SE of φ_i, N × M. */
  readonly shapley: Float64Array;
  /** SE of Φ_ij, N × M × M row-major. */
  readonly matrices: Float64Array;
}

/**
 * Every φ_i and Φ_ij is a fixed linear combination Σ_S w(S)·v(S) of the coalition values, so with
 * independent coalition estimates SE = sqrt(Σ_S w(S)² · se(S)²). `se` has the layout of the value
 * table (N × 2^M); entries may be 0 (v(∅) and v(full) are often exact).
 */
export function propagateStandardErrors(se: Float64Array, M: number): StandardErrors {
  checkModalityCount(M);
  const n = checkValueTable(se, M, 'se');
  checkStandardErrors(se);
  const weights = squaredWeights(M);
  const coalitions = 2 ** M;
  const variance = new Float64Array(coalitions);
  const shapley = new Float64Array(n * M);
  const matrices = new Float64Array(n * M * M);
  for (let a = 0; a < n; a++) {
    for (let s = 0; s < coalitions; s++) {
      variance[s] = se[a * coalitions + s] ** 2;
    }
    for (let i = 0; i < M; i++) {
      shapley[a * M + i] = Math.sqrt(dot(weights.shapley, i * coalitions, variance));
    }
    for (let p = 0; p < weights.entryRow.length; p++) {
      const i = weights.entryRow[p];
      const j = weights.entryColumn[p];
      const error = Math.sqrt(dot(weights.matrix, p * coalitions, variance));
      matrices[a * M * M + i * M + j] = error;
      matrices[a * M * M + j * M + i] = error;
    }
  }
  return { shapley, matrices };
}

function dot(table: Float64Array, offset: number, vector: Float64Array): number {
  let sum = 0;
  for (let s = 0; s < vector.length; s++) {
    sum += table[offset + s] * vector[s];
  }
  return sum;
}

interface SquaredWeights {
  /** w(S)² of φ_i, M rows of 2^M. */
  readonly shapley: Float64Array;
  /** w(S)² of Φ_ij for i ≤ j (Φ is symmetric), one row of 2^M per entry. */
  readonly matrix: Float64Array;
  readonly entryRow: Int32Array;
  readonly entryColumn: Int32Array;
}

const weightCache = new Map<number, SquaredWeights>();

/**
 * The squared weights of every output over the coalition values.
 *
 * Each output is Σ_T c(T)·m(T) with coefficients c over coalitions (coalitions.ts). Since
 * m(T) = Σ_{S⊆T} (−1)^{|T|−|S|} v(S), the weight of v(S) is w(S) = Σ_{T⊇S} (−1)^{|T|−|S|} c(T):
 * the transposed Möbius transform of c, computed in place in M·2^(M−1) subtractions per output.
 */
function squaredWeights(M: number): SquaredWeights {
  const cached = weightCache.get(M);
  if (cached !== undefined) {
    return cached;
  }
  const plan = coalitionPlan(M);
  const coalitions = plan.coalitions;
  const shapley = new Float64Array(M * coalitions);
  for (let i = 0; i < M; i++) {
    const row = shapley.subarray(i * coalitions, (i + 1) * coalitions);
    for (let t = 0; t < coalitions; t++) {
      row[t] = t & (1 << i) ? plan.shapleyWeightOf[t] : 0;
    }
  }
  const entries = (M * (M + 1)) / 2;
  const matrix = new Float64Array(entries * coalitions);
  const entryRow = new Int32Array(entries);
  const entryColumn = new Int32Array(entries);
  for (let i = 0, p = 0; i < M; i++) {
    for (let j = i; j < M; j++, p++) {
      entryRow[p] = i;
      entryColumn[p] = j;
      const row = matrix.subarray(p * coalitions, (p + 1) * coalitions);
      for (let t = 0; t < coalitions; t++) {
        row[t] = i === j ? mainEffectCoefficient(plan, i, t) : pairCoefficient(plan, i, j, t);
      }
    }
  }
  for (const table of [shapley, matrix]) {
    for (let offset = 0; offset < table.length; offset += coalitions) {
      transposedMobiusInPlace(table, M, offset);
    }
    for (let k = 0; k < table.length; k++) {
      table[k] *= table[k];
    }
  }
  const weights = { shapley, matrix, entryRow, entryColumn };
  // Beyond M = 12 the tables pass 10 MB: rebuild them rather than keep them alive.
  if (M <= 12) {
    weightCache.set(M, weights);
  }
  return weights;
}

/** Coefficient of m(T) in Φ_ij, i ≠ j: half the SII weight when T ⊇ {i, j}. */
function pairCoefficient(plan: CoalitionPlan, i: number, j: number, t: number): number {
  const pair = (1 << i) | (1 << j);
  return (t & pair) === pair ? plan.pairWeightOf[t] : 0;
}

/** Coefficient of m(T) in Φ_ii = φ_i − Σ_{j≠i} Φ_ij (weights.ts). */
function mainEffectCoefficient(plan: CoalitionPlan, i: number, t: number): number {
  return t & (1 << i) ? diagonalWeight(plan.size[t]) : 0;
}

function checkStandardErrors(se: Float64Array): void {
  for (let k = 0; k < se.length; k++) {
    if (!(se[k] >= 0 && se[k] < Infinity)) {
      throw new RangeError(
        `se: expected finite standard errors ≥ 0, got ${se[k]} at flat index ${k}`
      );
    }
  }
}
