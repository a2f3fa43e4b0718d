/**
 * The fast Möbius transform: value table v(S) → Möbius coefficients (Harsanyi dividends)
 * m(T) = Σ_{S⊆T} (−1)^{|T|−|S|} v(S), in M·2^(M−1) subtractions, in place; its inverse (zeta)
 * and its transpose. Every kernel runs these steps, in this order: the generic and blocked kernels
 * through the functions below, the generated kernels through mobiusSteps (statements.ts).
 */

/**
 * Transforms buffer[offset .. offset + 2^M) in place from values to Möbius coefficients.
 * For each bit i, every coalition with bit i set subtracts its partner without bit i.
 */
export function mobiusInPlace(buffer: Float64Array, M: number, offset = 0): void {
  butterflies(buffer, offset, 1 << M, 1, 1 << M, -1);
}

/**
 * The Möbius steps of the bits fromBit ≤ bit < toBit (powers of two) only, over all of `buffer`:
 * the rest of a transform whose lower bits were done elsewhere (the blocked kernel's low pass).
 */
export function mobiusBitsInPlace(buffer: Float64Array, fromBit: number, toBit: number): void {
  butterflies(buffer, 0, buffer.length, fromBit, toBit, -1);
}

/** The inverse (zeta) transform, m → v: v(S) = Σ_{T⊆S} m(T). Used to build games from dividends. */
export function zetaInPlace(buffer: Float64Array, M: number, offset = 0): void {
  butterflies(buffer, offset, 1 << M, 1, 1 << M, 1);
}

/**
 * The transposed Möbius transform w(S) = Σ_{T⊇S} (−1)^{|T|−|S|} c(T), in place on
 * buffer[offset .. offset + 2^M). Reversing the coalitions complements every bitmask, which turns
 * supersets into subsets: it is the Möbius transform of the reversed table, reversed back, with
 * the same subtractions in the same order.
 */
export function transposedMobiusInPlace(buffer: Float64Array, M: number, offset = 0): void {
  const table = buffer.subarray(offset, offset + (1 << M));
  table.reverse();
  mobiusInPlace(table, M);
  table.reverse();
}

/**
 * For each bit from fromBit up to (not including) toBit, in blocks of 2·bit coalitions from
 * `offset` over `length` entries, the upper half of each block (bit set) adds sign × its partner
 * in the lower half. sign = −1 subtracts exactly (x + (−1)·y is x − y in IEEE arithmetic).
 */
function butterflies(
  buffer: Float64Array,
  offset: number,
  length: number,
  fromBit: number,
  toBit: number,
  sign: number
): void {
  for (let bit = fromBit; bit < toBit; bit <<= 1) {
    for (let block = offset; block < offset + length; block += 2 * bit) {
      for (let b = block + bit; b < block + 2 * bit; b++) {
        buffer[b] += sign * buffer[b - bit];
      }
    }
  }
}

/**
 * The steps of mobiusInPlace over `bits` bits as [coalition, partner] pairs, in its order: the
 * generated kernels write each step out as `coalition −= partner` over local variables.
 */
export function mobiusSteps(bits: number): [number, number][] {
  const steps: [number, number][] = [];
  for (let bit = 1; bit < 1 << bits; bit <<= 1) {
    for (let b = 0; b < 1 << bits; b++) {
      if (b & bit) {
        steps.push([b, b ^ bit]);
      }
    }
  }
  return steps;
}

/** Copies sample `sample`'s value table into `scratch` and Möbius-transforms it there. */
export function mobiusOfSample(
  values: Float64Array,
  M: number,
  sample: number,
  scratch: Float64Array
): Float64Array {
  const coalitions = 1 << M;
  scratch.set(values.subarray(sample * coalitions, (sample + 1) * coalitions));
  mobiusInPlace(scratch, M);
  return scratch;
}
