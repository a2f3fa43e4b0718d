/**
 * One model's value tables and per-sample results in a single WebAssembly.Memory, so that the
 * SIMD kernel (simd.ts) reads and writes them where they are: no copy in or out per chunk. The
 * worker keeps its tables here; decomposeInto recognises them and runs the SIMD kernel.
 *
 * Where WebAssembly SIMD is unavailable, for M above MAX_SIMD_M (10), or for tables
 * over MAX_MEMORY_BYTES, the arrays are ordinary typed arrays and the JavaScript kernels run;
 * `fallback` then says why, in words the status bar shows.
 */
import { allocatePerSample } from './perSample';
import type { PerSample } from './perSample';
import { MAX_SIMD_M, simdKernel } from './simd';
import type { SimdKernel } from './simd';
import { sumsLength } from './sums';
import { checkModalityCount, describe, throwNonFinite } from './validate';

/** Value tables (N × 2^M, bitmask order) and the per-sample results decomposed from them. */
export interface Tables {
  readonly values: Float64Array;
  readonly per: PerSample;
  /** Why the tables are in ordinary arrays (the JavaScript kernels run); null in an arena. */
  readonly fallback: string | null;
}

/** Larger tables stay in ordinary arrays: one WebAssembly memory cannot grow past 4 GiB, and
 * asking a browser for one contiguous gigabyte is already a gamble. */
export const MAX_MEMORY_BYTES = 2 ** 30;

const PAGE_BYTES = 65536;

interface Arena {
  readonly M: number;
  readonly kernel: SimdKernel;
  /** Running sums the SIMD kernel adds into, inside the memory; added into the caller's after. */
  readonly scratch: Float64Array;
  /** Room for one pair of samples: a lone sample is decomposed as a pair with itself. */
  readonly pair: Tables & { readonly sums: Float64Array };
}

const arenas = new WeakMap<ArrayBufferLike, Arena>();

/** Lengths of the arrays for n samples: values, shapley, matrices, local, orderMass. */
function lengthsFor(M: number, n: number): number[] {
  return [n * 2 ** M, n * M, n * M * M, n, n * M];
}

/**
 * Zeroed tables for n samples of M modalities, in WebAssembly memory where the SIMD kernel runs.
 * `maxMemoryBytes` is the cap on that memory (MAX_MEMORY_BYTES; tests pass a smaller one).
 */
export function allocateTables(
  M: number,
  n: number,
  maxMemoryBytes: number = MAX_MEMORY_BYTES
): Tables {
  checkModalityCount(M);
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(
      `n: expected a non-negative integer number of samples, got ${describe(n)}`
    );
  }
  const lengths = [...lengthsFor(M, n), sumsLength(M), ...lengthsFor(M, 2), sumsLength(M)];
  const bytes = 8 * lengths.reduce((total, length) => total + length, 0);
  const fallback = (reason: string): Tables => ({
    values: new Float64Array(n * 2 ** M),
    per: allocatePerSample(M, n),
    fallback: reason
  });
  if (M > MAX_SIMD_M) {
    return fallback(`M = ${M}: the WebAssembly SIMD kernel serves up to ${MAX_SIMD_M} modalities`);
  }
  if (bytes > maxMemoryBytes) {
    return fallback(
      `the tables of ${n.toLocaleString('en-US')} samples take ${megabytes(bytes)}, above the ` +
        `${megabytes(maxMemoryBytes)} cap on one WebAssembly memory`
    );
  }
  if (typeof WebAssembly !== 'object' || WebAssembly === null) {
    return fallback('this browser has no WebAssembly');
  }
  let memory: WebAssembly.Memory;
  try {
    memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / PAGE_BYTES) });
  } catch {
    return fallback(`the browser refused ${megabytes(bytes)} of WebAssembly memory for the tables`);
  }
  const kernel = simdKernel(M, memory);
  if (kernel === null) {
    return fallback(
      "WebAssembly SIMD cannot be compiled here (no SIMD support, or a Content-Security-Policy without 'wasm-unsafe-eval')"
    );
  }
  let offset = 0;
  const arrays = lengths.map(length => {
    const array = new Float64Array(memory.buffer, offset, length);
    offset += 8 * length;
    return array;
  });
  const tables = asTables(M, n, arrays.slice(0, 5));
  const pair = { ...asTables(M, 2, arrays.slice(6, 11)), sums: arrays[11] };
  arenas.set(memory.buffer, { M, kernel, scratch: arrays[5], pair });
  return tables;
}

/** Bytes in whole MiB, for the status bar. */
function megabytes(bytes: number): string {
  return `${Math.ceil(bytes / 2 ** 20).toLocaleString('en-US')} MiB`;
}

function asTables(M: number, n: number, arrays: Float64Array[]): Tables {
  const [values, shapley, matrices, local, orderMass] = arrays;
  return { values, per: { M, n, shapley, matrices, local, orderMass }, fallback: null };
}

/** Whether `tables` lie in WebAssembly memory, where decomposeInto runs the SIMD kernel. */
export function usesSimd(tables: Tables): boolean {
  return arenaOf(tables.values, tables.per) !== null;
}

/** The arena holding `values` and every array of `out`, when the SIMD kernel can run on them. */
function arenaOf(values: Float64Array, out: PerSample): Arena | null {
  const arena = arenas.get(values.buffer);
  if (arena === undefined) {
    return null;
  }
  const arrays = [out.shapley, out.matrices, out.local, out.orderMass];
  return arrays.every(array => array.buffer === values.buffer) ? arena : null;
}

/**
 * Decomposes the n samples of `values` into `part` (views of the same arena) with the SIMD
 * kernel, adding them into `sums` when given. Returns false when the arrays are not in an arena.
 * Throws on a non-finite table as the JavaScript kernels do: the samples before it are written,
 * nothing is added into `sums`.
 */
export function decomposeInArena(
  values: Float64Array,
  M: number,
  part: PerSample,
  sums: Float64Array | undefined
): boolean {
  const arena = arenaOf(values, part);
  if (arena === null) {
    return false;
  }
  const n = part.n;
  arena.scratch.fill(0);
  const done = run(arena, values, part, n, arena.scratch);
  // Left: the lone last sample, or a pair with a non-finite table. One by one, each as a pair
  // with itself, so a sample's numbers never depend on where a chunk starts or ends.
  for (let a = done; a < n; a++) {
    if (!decomposeAlone(arena, values, part, a)) {
      throwNonFinite(values, a, 2 ** M);
    }
  }
  if (sums !== undefined) {
    for (let k = 0; k < sums.length; k++) {
      sums[k] += arena.scratch[k];
    }
  }
  return true;
}

/** The SIMD kernel on n samples of `values` into `out`, adding into `sums`: see SimdKernel. */
function run(
  arena: Arena,
  values: Float64Array,
  out: PerSample,
  n: number,
  sums: Float64Array
): number {
  return arena.kernel(
    values.byteOffset,
    n,
    out.shapley.byteOffset,
    out.matrices.byteOffset,
    out.local.byteOffset,
    out.orderMass.byteOffset,
    sums.byteOffset
  );
}

/**
 * Sample a as the pair (a, a): writes its numbers and adds half the pair's running sums (exact:
 * the two lanes hold the same numbers). False, with nothing written, if its table is not finite.
 */
function decomposeAlone(arena: Arena, values: Float64Array, part: PerSample, a: number): boolean {
  const { M, pair } = arena;
  const width = 2 ** M;
  const table = values.subarray(a * width, (a + 1) * width);
  pair.values.set(table);
  pair.values.set(table, width);
  pair.sums.fill(0);
  if (run(arena, pair.values, pair.per, 2, pair.sums) < 2) {
    return false;
  }
  part.shapley.set(pair.per.shapley.subarray(0, M), a * M);
  part.matrices.set(pair.per.matrices.subarray(0, M * M), a * M * M);
  part.local[a] = pair.per.local[0];
  part.orderMass.set(pair.per.orderMass.subarray(0, M), a * M);
  for (let k = 0; k < pair.sums.length; k++) {
    arena.scratch[k] += pair.sums[k] / 2;
  }
  return true;
}
