/**
 * Kernels compiled per M with `new Function` and cached: the numbers of the generic kernel
 * (kernels.ts), as statements (program.ts) printed as straight-line JavaScript over locals.
 *
 * Why: V8 runs arithmetic on local variables at about one operation per cycle, but a Float64Array
 * access in a loop costs 3–4 cycles (bounds check, index arithmetic), and the table loops of the
 * generic kernel are short and indirect: the compiled kernels are 5–13× faster
 * (docs/BENCHMARKS.md).
 *
 * - M ≤ MAX_REGISTER_M, "register" kernel (below): one function, all 2^M coefficients in locals.
 * - M > MAX_REGISTER_M, "blocked" kernel (blocked.ts): 32-coalition blocks, each in locals. One
 *   function stops fitting what V8 optimises: TurboFan skips functions over 60 KiB of bytecode,
 *   and the register kernel is 27 KiB at M = 7, 59 KiB at M = 8 (no faster than the blocked
 *   kernel there, and one V8 release away from the limit) and 125 KiB at M = 9.
 *
 * Both reach φ and Φ through pruned superset sums of weighted Möbius coefficients
 * (statements.ts): at M = 8, 1 151 additions and 502 multiplications per sample, where the 36
 * separate weighted sums the previous kernels emitted take 2 816 additions.
 *
 * Where `new Function` is forbidden (a Content-Security-Policy without 'unsafe-eval') compiling
 * fails and decomposeAll falls back to the generic kernel: same results up to summation order.
 *
 * The register kernel's statements are also translated into WebAssembly SIMD (simd.ts), which
 * runs instead on tables in WebAssembly memory (tables.ts), as the worker keeps them.
 */
import { blockedKernel } from './blocked';
import { popcount } from './coalitions';
import type { Kernel } from './kernels';
import {
  abs,
  addTo,
  chain,
  compileFunction,
  declare,
  element,
  local,
  number,
  printJavaScript,
  scaled,
  store
} from './program';
import type { Expr, Statement } from './program';
import {
  coalitionsOfSize,
  mobiusStatements,
  outputStatements,
  range,
  supersetStatements
} from './statements';
import { sumsLayout } from './sums';
import { diagonalWeight, pairWeight } from './weights';

/** Above this M the register kernel's bytecode nears or passes V8's optimising limit. */
export const MAX_REGISTER_M = 7;

const cache = new Map<number, Kernel | null>();

/** The compiled kernel for M, or null when compiling code is forbidden. */
export function compiledKernel(M: number): Kernel | null {
  if (!cache.has(M)) {
    let kernel: Kernel | null = null;
    try {
      kernel = M <= MAX_REGISTER_M ? registerKernel(M) : blockedKernel(M);
    } catch {
      kernel = null;
    }
    cache.set(M, kernel);
  }
  return cache.get(M) ?? null;
}

// --- register kernel (M ≤ MAX_REGISTER_M) ----------------------------------------------------

/** A running-sum local and the slots of sums.ts's layout it is added into after the loop. */
export interface Accumulator {
  readonly local: string;
  readonly slots: readonly number[];
}

/**
 * The register kernel's statements for M, shared by the JavaScript kernel below and the
 * WebAssembly SIMD kernel (simd.ts), so both compute the same numbers the same way.
 */
export interface RegisterSource {
  /** Per-sample statements over locals, reading values[s + b] and writing at offsets o, r, a. */
  readonly body: readonly Statement[];
  /** Running sums kept in locals across samples; the sample count goes into `countSlot`. */
  readonly accumulators: readonly Accumulator[];
  readonly countSlot: number;
}

/**
 * Per sample: load the table into locals x{b}, Möbius-transform, check finiteness, sum the order
 * masses, scale into pair shares p{b} and main-effect shares u{b}, run the pruned superset sums
 * (Φ_ij and Φ_ii; φ_i is the row sum), write every output once, in memory order, and add the
 * sample into the running sums (sums.ts).
 */
export function registerSource(M: number): RegisterSource {
  const coalitions = 1 << M;
  const x = (b: number) => `x${b}`;
  const p = (b: number) => `p${b}`;
  const body: Statement[] = [
    ...range(coalitions).map(b => declare(x(b), element('values', 's', b))),
    ...mobiusStatements(M, x),
    { kind: 'finiteCheck', name: x(coalitions - 1) }
  ];
  for (let k = 1; k <= M; k++) {
    body.push(
      declare(`om${k}`, chain(coalitionsOfSize(M, k).map(b => local(x(b))))),
      store('orderMass', 'o', k - 1, local(`om${k}`))
    );
  }
  const size = range(coalitions).map(popcount);
  for (let b = 1; b < coalitions; b++) {
    if (size[b] >= 2) {
      body.push(scaled(p(b), x(b), number(pairWeight(size[b]))));
    }
  }
  // Main-effect shares u{b}: a single's is m itself (x{b}, updated in place), a pair's is 0.
  const u = (b: number) => (size[b] === 1 ? x(b) : `u${b}`);
  for (let b = 1; b < coalitions; b++) {
    if (size[b] >= 3) {
      body.push(scaled(`u${b}`, x(b), number(diagonalWeight(size[b]))));
    }
  }
  body.push(
    ...supersetStatements(M, 2, 2, p),
    ...supersetStatements(M, 1, 1, u, b => size[b] === 2)
  );
  const pair = (i: number, j: number) => p((1 << i) | (1 << j));
  body.push(...outputStatements(M, pair, { diagonal: i => u(1 << i) }));
  const sums = runningSums(M, pair, i => `f${i}`);
  body.push(...sums.add);
  return { body, accumulators: sums.accumulators, countSlot: sumsLayout(M).count };
}

/**
 * The register kernel as JavaScript. The running sums stay in locals and are added into `sums`
 * (when given) after the loop: a call stopped by a non-finite table returns before that, so a
 * failed chunk adds nothing.
 */
export function registerKernel(M: number): Kernel {
  const { body, accumulators, countSlot } = registerSource(M);
  const lines = [
    `let ${accumulators.map(t => `${t.local} = 0`).join(', ')};`,
    'for (let a = 0; a < n; a++) {',
    `const s = a * ${1 << M}, o = a * ${M}, r = a * ${M * M};`,
    ...printJavaScript(body),
    '}',
    'if (sums) {',
    ...accumulators.flatMap(t => t.slots.map(slot => `sums[${slot}] += ${t.local};`)),
    `sums[${countSlot}] += n;`,
    '}',
    'return -1;'
  ];
  const params = ['values', 'n', 'shapley', 'matrices', 'local', 'orderMass', 'sums'];
  return compileFunction<Kernel>(params, lines, `M${M}-register`);
}

/** The running sums of sums.ts as locals: what each adds per sample, and where it goes. */
function runningSums(
  M: number,
  pair: (i: number, j: number) => string,
  phi: (i: number) => string
): { accumulators: Accumulator[]; add: Statement[] } {
  const at = sumsLayout(M);
  const terms: { local: string; value: Expr; slots: number[] }[] = [];
  for (let i = 0; i < M; i++) {
    terms.push({ local: `sd${i}`, value: local(`d${i}`), slots: [at.matrix + i * M + i] });
    for (let j = i + 1; j < M; j++) {
      const slots = [at.matrix + i * M + j, at.matrix + j * M + i];
      terms.push({ local: `sp${i}_${j}`, value: local(pair(i, j)), slots });
    }
    terms.push({ local: `sq${i}`, value: local(phi(i)), slots: [at.shapley + i] });
  }
  for (let k = 1; k <= M; k++) {
    const mass = local(`om${k}`);
    terms.push({ local: `so${k}`, value: mass, slots: [at.order + k - 1] });
    terms.push({ local: `sa${k}`, value: abs(mass), slots: [at.orderAbs + k - 1] });
  }
  // A NaN local score marks an undefined one: left out of the sum and the count.
  const addLocal: Statement = { kind: 'addDefined', sum: 'sl', count: 'sc', value: 'localScore' };
  return {
    accumulators: [
      ...terms,
      { local: 'sl', slots: [at.localSum] },
      { local: 'sc', slots: [at.localCount] }
    ],
    add: [...terms.map(t => addTo(t.local, t.value)), addLocal]
  };
}
