/**
 * Argument checks shared by the public functions of the core.
 *
 * Every message names the argument, what was expected and what was given, so that a user can act on
 * it without reading a stack trace (DESIGN.md, "Errors a user can act on").
 */

/** Smallest and largest number of modalities the core accepts. */
export const MIN_MODALITIES = 2;
/** 2^16 coalitions per sample is 512 KiB per value table; beyond that a dense table is impractical. */
export const MAX_MODALITIES = 16;

/** A short, readable description of any value, for error messages. */
export function describe(value: unknown): string {
  if (value === null) {
    return 'null';
  }
  if (Array.isArray(value)) {
    return `an array of length ${value.length}`;
  }
  if (ArrayBuffer.isView(value)) {
    return `a ${value.constructor.name}`;
  }
  if (typeof value === 'number') {
    return String(value);
  }
  if (typeof value === 'string') {
    return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
  }
  return typeof value;
}

export function checkModalityCount(M: unknown, name = 'M'): asserts M is number {
  if (typeof M !== 'number' || !Number.isInteger(M) || M < MIN_MODALITIES || M > MAX_MODALITIES) {
    throw new RangeError(
      `${name}: expected an integer number of modalities from ${MIN_MODALITIES} to ` +
        `${MAX_MODALITIES}, got ${describe(M)}`
    );
  }
}

/**
 * Checks the layout of a flat value table (N samples × 2^M coalitions) and returns N.
 * Finiteness is checked later, inside the decomposition loop, where it costs almost nothing.
 */
export function checkValueTable(values: unknown, M: number, name = 'values'): number {
  if (!(values instanceof Float64Array)) {
    throw new TypeError(
      `${name}: expected a Float64Array of N × 2^M coalition values, got ${describe(values)}`
    );
  }
  const coalitions = 2 ** M;
  if (values.length % coalitions !== 0) {
    throw new RangeError(
      `${name}: expected a length divisible by 2^M = ${coalitions}, got ${values.length}`
    );
  }
  return values.length / coalitions;
}

/** Throws a RangeError naming the first non-finite entry of one sample's value table. */
export function throwNonFinite(values: Float64Array, sample: number, coalitions: number): never {
  const start = sample * coalitions;
  for (let b = 0; b < coalitions; b++) {
    const v = values[start + b];
    if (!Number.isFinite(v)) {
      throw new RangeError(
        `values: expected finite numbers, got ${v} at sample ${sample}, coalition ${b} ` +
          `(flat index ${start + b})`
      );
    }
  }
  // Every entry is finite, yet a Möbius coefficient overflowed: the magnitudes are too large.
  throw new RangeError(
    `values: expected magnitudes small enough for finite Möbius coefficients, got an overflow ` +
      `at sample ${sample}`
  );
}

export function checkSampleIndex(
  sample: unknown,
  n: number,
  name = 'sample'
): asserts sample is number {
  if (typeof sample !== 'number' || !Number.isInteger(sample) || sample < 0 || sample >= n) {
    throw new RangeError(
      `${name}: expected an integer sample index from 0 to ${n - 1}, got ${describe(sample)}`
    );
  }
}
