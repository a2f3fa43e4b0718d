/**
 * Which background rows fill the absent modalities of each masked row when the browser evaluates
 * the model (`masking: 'random'`), stated in docs/SPEC.md §1 ("Draws in the browser").
 *
 * The background is put in a seeded order once (Fisher–Yates with mulberry32(seed)). Sample i
 * gets a seeded start s_i (the next N outputs of the same generator, scaled to n). Draw r of its
 * coalition b (1 ≤ b ≤ 2^M − 2) is row order[(s_i + (b − 1)·R + r) mod n]: a window of R
 * consecutive rows, the windows of one sample's coalitions R rows apart, so they are disjoint
 * while (2^M − 2)·R ≤ n, and a sample's values do not depend on chunk or batch size. With R a
 * multiple of n every window holds every row equally often: the value is the exact background
 * mean, as in the kernel's engine (whose windows are the same idea over a stratified order).
 */
import { mulberry32 } from '../../core/random';

export interface Draws {
  /** The background in seeded order. */
  order: Int32Array;
  /** Each sample's window start in `order`. */
  starts: Int32Array;
  /** Draws per coalition. */
  draws: number;
}

export function makeDraws(
  nBackground: number,
  nSamples: number,
  draws: number,
  seed: number
): Draws {
  const uniform = mulberry32(seed);
  const order = new Int32Array(nBackground);
  for (let i = 0; i < nBackground; i++) {
    order[i] = i;
  }
  for (let i = nBackground - 1; i > 0; i--) {
    const j = Math.floor(uniform() * (i + 1));
    const swap = order[i];
    order[i] = order[j];
    order[j] = swap;
  }
  const starts = new Int32Array(nSamples);
  for (let i = 0; i < nSamples; i++) {
    starts[i] = Math.floor(uniform() * nBackground);
  }
  return { order, starts, draws };
}

/** The background row of draw `r` of coalition `b` of sample `i`. */
export function drawnRow(d: Draws, sample: number, coalition: number, r: number): number {
  const n = d.order.length;
  return d.order[(d.starts[sample] + ((coalition - 1) * d.draws + r)) % n];
}

/**
 * Finite-population factor of a window mean of R draws from n rows: rem·(n − rem)/(n·R²) with
 * rem = R mod n, times the per-draw variance gives the variance of the mean (0 when R is a
 * multiple of n). The kernel's engine uses the same (draws.py, standard_error_of).
 */
export function windowVarianceFactor(n: number, draws: number): number {
  const rem = draws % n;
  return (rem * (n - rem)) / (n * draws * draws);
}
