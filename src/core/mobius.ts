/**
 * The fast Möbius transform: value table v(S) → Möbius coefficients (Harsanyi dividends)
 * m(T) = Σ_{S⊆T} (−1)^{|T|−|S|} v(S), in M·2^(M−1) subtractions, in place.
 */

/**
 * Transforms buffer[offset .. offset + 2^M) in place from values to Möbius coefficients.
 * For each bit i, every coalition with bit i set subtracts its partner without bit i.
 */
export function mobiusInPlace(buffer: Float64Array, M: number, offset = 0): void {
  const coalitions = 1 << M;
  for (let bit = 1; bit < coalitions; bit <<= 1) {
    // Blocks of 2·bit coalitions: the upper half of each block has bit i set.
    for (let block = offset; block < offset + coalitions; block += 2 * bit) {
      for (let b = block + bit; b < block + 2 * bit; b++) {
        buffer[b] -= buffer[b - bit];
      }
    }
  }
}

/** The inverse (zeta) transform, m → v: v(S) = Σ_{T⊆S} m(T). Used to build games from dividends. */
export function zetaInPlace(buffer: Float64Array, M: number, offset = 0): void {
  const coalitions = 1 << M;
  for (let bit = 1; bit < coalitions; bit <<= 1) {
    for (let block = offset; block < offset + coalitions; block += 2 * bit) {
      for (let b = block + bit; b < block + 2 * bit; b++) {
        buffer[b] += buffer[b - bit];
      }
    }
  }
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
