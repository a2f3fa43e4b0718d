/**
 * Kernels compiled per M: the sums of the generic kernel (kernels.ts), read off the same coefficient
 * tables, emitted as straight-line JavaScript with `new Function` and cached.
 *
 * Why: measured with `npm run bench`, the table loops of the generic kernel run ~27× slower than a
 * plain summation pass at M = 4. Their inner loops are 4–8 iterations long and loop overhead and
 * indirect loads dominate. Straight-line code removes both:
 *
 * - M ≤ 7, "register" kernel: one function; the 2^M Möbius coefficients live in local variables.
 *   At M = 4 it is ~8× faster than the generic kernel.
 * - M = 8 and 9, "chunked" kernel: the code no longer fits one function that V8 will optimise
 *   (its optimising compiler skips functions past ~60 KB of bytecode; a single M = 8 function ran
 *   5× slower than the generic loops). So the coefficients live in a scratch Float64Array and the
 *   statements are split into functions of at most CHUNK_TERMS reads each (1024 measured best of
 *   512–8192). ~2× faster than generic at M = 8, ~1.5× at M = 9; at M = 10 the gain fell to
 *   ~1.2× for 25–50 ms of compiling, so M ≥ 10 uses the generic kernel.
 *
 * Where `new Function` is forbidden (a Content-Security-Policy without 'unsafe-eval') compiling
 * fails and decomposeAll falls back to the generic kernel: same results up to summation order.
 */
import { coalitionPlan, CoalitionPlan } from './coalitions';
import { fillDiagonalAndLocal, Kernel } from './kernels';

export const MAX_REGISTER_M = 7;
export const MAX_COMPILED_M = 9;
const CHUNK_TERMS = 1024;

const cache = new Map<number, Kernel | null>();

/** The compiled kernel for M, or null when M > MAX_COMPILED_M or compiling code is forbidden. */
export function compiledKernel(M: number): Kernel | null {
  if (!cache.has(M)) {
    let kernel: Kernel | null = null;
    if (M <= MAX_COMPILED_M) {
      try {
        const plan = coalitionPlan(M);
        kernel = M <= MAX_REGISTER_M ? registerKernel(plan) : chunkedKernel(plan);
      } catch {
        kernel = null;
      }
    }
    cache.set(M, kernel);
  }
  return cache.get(M) ?? null;
}

// --- register kernel (M ≤ 7) ------------------------------------------------------------------

function registerKernel(plan: CoalitionPlan): Kernel {
  const { M, coalitions } = plan;
  const local = (b: number) => `m${b}`;
  const lines: string[] = [
    "'use strict';",
    'for (let a = 0; a < n; a++) {',
    `const s = a * ${coalitions}, o = a * ${M}, q = a * ${M * M};`
  ];
  for (let b = 0; b < coalitions; b++) {
    lines.push(`let m${b} = values[s + ${b}];`);
  }
  lines.push(...mobiusStatements(M, local));
  // m(full) − m(full) is 0 unless m(full) is NaN or ±Infinity, i.e. unless the table is not finite.
  lines.push(`if (m${coalitions - 1} - m${coalitions - 1} !== 0) return a;`);
  lines.push(...orderMassStatements(plan, local));
  lines.push(...shapleyStatements(plan, local));
  lines.push(...pairStatements(plan, local));
  lines.push(...diagonalAndLocalStatements(plan));
  lines.push('}', 'return -1;');
  const params = ['values', 'n', 'shapley', 'matrices', 'local', 'orderMass'];
  return new Function(...params, lines.join('\n')) as Kernel;
}

function diagonalAndLocalStatements(plan: CoalitionPlan): string[] {
  const { M } = plan;
  const pairName = (i: number, j: number): string => (i < j ? `h${i}_${j}` : `h${j}_${i}`);
  const statements: string[] = [];
  const mainAbs: string[] = [];
  for (let i = 0; i < M; i++) {
    const partners = Array.from({ length: M }, (_, j) => j)
      .filter(j => j !== i)
      .map(j => pairName(i, j));
    statements.push(
      `const d${i} = phi${i} - (${partners.join(' + ')});`,
      `matrices[q + ${i * M + i}] = d${i};`
    );
    mainAbs.push(`Math.abs(d${i})`);
  }
  const pairAbs = Array.from(
    plan.pairFirst,
    (i, p) => `Math.abs(${pairName(i, plan.pairSecond[p])})`
  );
  statements.push(
    `const offDiagonal = 2 * (${pairAbs.join(' + ')});`,
    `const total = offDiagonal + ${mainAbs.join(' + ')};`,
    // Exactly 0 means the model ignores every modality: undefined, never a silent 0/0 (SPEC §2).
    'local[a] = total === 0 ? NaN : offDiagonal / total;'
  );
  return statements;
}

// --- chunked kernel (M = 8, 9) -----------------------------------------------------------------

type Chunk = (
  s: Float64Array,
  shapley: Float64Array,
  matrices: Float64Array,
  orderMass: Float64Array,
  o: number,
  q: number
) => void;

function chunkedKernel(plan: CoalitionPlan): Kernel {
  const { M, coalitions } = plan;
  const element = (b: number) => `s[${b}]`;
  const mobiusChunks = compileChunks(mobiusStatements(M, element));
  const outputChunks = compileChunks([
    ...orderMassStatements(plan, element),
    ...shapleyStatements(plan, element),
    ...pairStatements(plan, element)
  ]);
  return (values, n, shapley, matrices, local, orderMass) => {
    const s = new Float64Array(coalitions);
    for (let a = 0; a < n; a++) {
      for (let b = 0; b < coalitions; b++) {
        s[b] = values[a * coalitions + b];
      }
      for (const chunk of mobiusChunks) {
        chunk(s, shapley, matrices, orderMass, 0, 0);
      }
      if (!Number.isFinite(s[coalitions - 1])) {
        return a; // see registerKernel
      }
      for (const chunk of outputChunks) {
        chunk(s, shapley, matrices, orderMass, a * M, a * M * M);
      }
      local[a] = fillDiagonalAndLocal(shapley, a * M, matrices, a * M * M, M);
    }
    return -1;
  };
}

/**
 * Groups statements into functions of at most CHUNK_TERMS terms (reads of s) each, keeping their
 * order. A statement never spans two functions, so the names it declares stay in scope.
 */
function compileChunks(statements: string[]): Chunk[] {
  const bodies: string[][] = [[]];
  let terms = 0;
  for (const statement of statements) {
    const count = (statement.match(/\bs\[/g) ?? []).length;
    if (terms + count > CHUNK_TERMS && bodies[bodies.length - 1].length > 0) {
      bodies.push([]);
      terms = 0;
    }
    bodies[bodies.length - 1].push(statement);
    terms += count;
  }
  const params = ['s', 'shapley', 'matrices', 'orderMass', 'o', 'q'];
  return bodies.map(body => new Function(...params, "'use strict';\n" + body.join('\n')) as Chunk);
}

// --- statements shared by both kernels ----------------------------------------------------------

/** The in-place Möbius transform, unrolled: m[b] −= m[b without bit], bit by bit. */
function mobiusStatements(M: number, ref: (b: number) => string): string[] {
  const statements: string[] = [];
  const coalitions = 1 << M;
  for (let bit = 1; bit < coalitions; bit <<= 1) {
    for (let b = 0; b < coalitions; b++) {
      if (b & bit) {
        statements.push(`${ref(b)} -= ${ref(b ^ bit)};`);
      }
    }
  }
  return statements;
}

function orderMassStatements(plan: CoalitionPlan, ref: (b: number) => string): string[] {
  const statements: string[] = [];
  for (let k = 0; k < plan.M; k++) {
    const run = plan.coalitionsBySize.subarray(plan.orderStart[k], plan.orderStart[k + 1]);
    statements.push(`orderMass[o + ${k}] = ${Array.from(run, ref).join(' + ')};`);
  }
  return statements;
}

/** Σ weight(T)·m(T) over terms[start..end), multiplying each distinct weight once. */
function weightedSum(
  terms: Int32Array,
  weightOf: Float64Array,
  start: number,
  end: number,
  ref: (b: number) => string
): string {
  const groups = new Map<number, string[]>();
  for (let k = start; k < end; k++) {
    const weight = weightOf[terms[k]];
    const group = groups.get(weight) ?? [];
    group.push(ref(terms[k]));
    groups.set(weight, group);
  }
  const parts: string[] = [];
  for (const [weight, group] of groups) {
    const sum = group.join(' + ');
    parts.push(weight === 1 ? sum : `(${sum}) * ${weight}`);
  }
  return parts.join(' + ');
}

/** φ_i, named phi{i}; one statement per modality. */
function shapleyStatements(plan: CoalitionPlan, ref: (b: number) => string): string[] {
  const perModality = plan.coalitions >> 1;
  const statements: string[] = [];
  for (let i = 0; i < plan.M; i++) {
    const start = i * perModality;
    const sum = weightedSum(
      plan.shapleyTerms,
      plan.shapleyWeightOf,
      start,
      start + perModality,
      ref
    );
    statements.push(`const phi${i} = ${sum}; shapley[o + ${i}] = phi${i};`);
  }
  return statements;
}

/** Φ_ij = Φ_ji = SII({i,j})/2, named h{i}_{j}; one statement per pair. */
function pairStatements(plan: CoalitionPlan, ref: (b: number) => string): string[] {
  const { M } = plan;
  const perPair = plan.coalitions >> 2;
  const statements: string[] = [];
  for (let p = 0; p < plan.pairCount; p++) {
    const i = plan.pairFirst[p];
    const j = plan.pairSecond[p];
    const start = p * perPair;
    const sum = weightedSum(plan.pairTerms, plan.pairWeightOf, start, start + perPair, ref);
    const name = `h${i}_${j}`;
    statements.push(
      `const ${name} = ${sum}; ` +
        `matrices[q + ${i * M + j}] = ${name}; matrices[q + ${j * M + i}] = ${name};`
    );
  }
  return statements;
}
