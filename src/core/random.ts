/**
 * A small seeded pseudo-random generator.
 *
 * Why not Math.random: it cannot be seeded, so a bootstrap interval would change on every redraw and
 * no test or figure could be reproduced. mulberry32 is tiny, fast, and good enough for resampling
 * (it passes gjrand and PractRand up to a few GB, far more draws than a bootstrap makes).
 */

/** Returns a generator of uniform numbers in [0, 1), with 2^-32 resolution, from a 32-bit seed. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
