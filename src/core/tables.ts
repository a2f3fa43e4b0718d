/**
 * One model's value tables and per-sample results in a single WebAssembly.Memory, so that the
 * SIMD kernel (simd.ts) reads and writes them where they are: no copy in or out per chunk. The
 * worker keeps its tables here; decomposeInto recognises them and runs the SIMD kernel.
 *
 * Where WebAssembly SIMD is unavailable, for M above the register kernels' range, or for tables
 * over MAX_MEMORY_BYTES, the arrays are ordinary typed arrays and the JavaScript kernels run.
 */
import { MAX_REGISTER_M } from './compiled';
import { allocatePerSample, decomposeWithJavaScript, PerSample } from './decompose';
import { SimdKernel, simdKernel } from './simd';
import { allocateSums } from './sums';
import { checkModalityCount, describe } from './validate';

/** Value tables (N × 2^M, bitmask order) and the per-sample results decomposed from them. */
export interface Tables {
  readonly values: Float64Array;
  readonly per: PerSample;
}

/** Larger tables stay in ordinary arrays: one WebAssembly memory cannot grow past 4 GiB, and
 * asking a browser for one contiguous gigabyte is already a gamble. */
export const MAX_MEMORY_BYTES = 2 ** 30;

const PAGE_BYTES = 65536;

interface Arena {
  readonly kernel: SimdKernel;
  /** Running sums the SIMD kernel adds into, inside the memory; added into the caller's after. */
  readonly scratch: Float64Array;
}

const arenas = new WeakMap<ArrayBufferLike, Arena>();

/** Zeroed tables for n samples of M modalities, in WebAssembly memory where the SIMD kernel runs. */
export function allocateTables(M: number, n: number): Tables {
  checkModalityCount(M);
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(
      `n: expected a non-negative integer number of samples, got ${describe(n)}`
    );
  }
  const lengths = [n * 2 ** M, n * M, n * M * M, n, n * M, allocateSums(M).length];
  const bytes = 8 * lengths.reduce((total, length) => total + length, 0);
  if (M <= MAX_REGISTER_M && bytes <= MAX_MEMORY_BYTES && typeof WebAssembly === 'object') {
    try {
      const memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / PAGE_BYTES) });
      const kernel = simdKernel(M, memory);
      if (kernel !== null) {
        let offset = 0;
        const [values, shapley, matrices, local, orderMass, scratch] = lengths.map(length => {
          const array = new Float64Array(memory.buffer, offset, length);
          offset += 8 * length;
          return array;
        });
        arenas.set(memory.buffer, { kernel, scratch });
        return { values, per: { M, n, shapley, matrices, local, orderMass } };
      }
    } catch {
      // No memory of that size here: ordinary arrays below.
    }
  }
  return { values: new Float64Array(n * 2 ** M), per: allocatePerSample(M, n) };
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
  const done = arena.kernel(
    values.byteOffset,
    n,
    part.shapley.byteOffset,
    part.matrices.byteOffset,
    part.local.byteOffset,
    part.orderMass.byteOffset,
    arena.scratch.byteOffset
  );
  // A pair with a non-finite table, or the odd last sample: the JavaScript kernel takes over
  // from there, writing what is valid and naming the bad sample, as decomposeInto promises.
  if (done < n) {
    decomposeWithJavaScript(values, M, part, arena.scratch, done);
  }
  if (sums !== undefined) {
    for (let k = 0; k < sums.length; k++) {
      sums[k] += arena.scratch[k];
    }
  }
  return true;
}
