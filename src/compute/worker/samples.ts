/**
 * Per-sample queries behind the linked views: which samples a brush or lasso covers, which sample
 * a click hits, the histogram of local scores and the grouping of samples into cohorts. Pure
 * functions over typed arrays, run inside the worker (they touch every sample, so they never run
 * on the main thread over a whole data set).
 *
 * A sample is *plotted* when it was received (`received` is null once every sample is in) and both
 * of its coordinates are finite: a sample with an undefined local score has no place on the axes.
 */
import type { LocalHistogram, NearestQuery, Region } from '../types';

/** The per-sample coordinates of the scatter: x = the explained prediction, y = the local score. */
export interface PointSet {
  readonly x: Float64Array;
  readonly y: Float64Array;
  /** Non-zero where the sample has been received; null when every sample has. */
  readonly received: Uint8Array | null;
}

export function isPlotted(points: PointSet, i: number): boolean {
  return (
    (points.received === null || points.received[i] !== 0) &&
    Number.isFinite(points.x[i]) &&
    Number.isFinite(points.y[i])
  );
}

/** The padded extent of the plotted samples on each axis ([0, 1] when nothing is plotted). */
export function dataRanges(points: PointSet): { x: [number, number]; y: [number, number] } {
  let xLow = Infinity;
  let xHigh = -Infinity;
  let yLow = Infinity;
  let yHigh = -Infinity;
  for (let i = 0; i < points.x.length; i++) {
    if (!isPlotted(points, i)) {
      continue;
    }
    const x = points.x[i];
    const y = points.y[i];
    xLow = x < xLow ? x : xLow;
    xHigh = x > xHigh ? x : xHigh;
    yLow = y < yLow ? y : yLow;
    yHigh = y > yHigh ? y : yHigh;
  }
  return { x: padded(xLow, xHigh), y: padded(yLow, yHigh) };
}

/**
 * Widens [low, high] by 3% on each side so edge points are not cut in half, then out to a grid of
 * about a twentieth of the span; [0, 1] if empty. The grid is for streaming: each chunk moves the
 * extent a little, and a range that only changes when the extent crosses a grid line spares the
 * scatter most redraws of its axes (a plotly redraw is the longest main-thread task).
 */
function padded(low: number, high: number): [number, number] {
  if (!(low <= high)) {
    return [0, 1];
  }
  const span = high - low || Math.max(Math.abs(low), 1) * 0.1;
  const step = niceStep(span / 20);
  return [
    Math.floor((low - 0.03 * span) / step) * step,
    Math.ceil((high + 0.03 * span) / step) * step
  ];
}

/** The smallest of 1, 2 or 5 × 10^k that is at least `size`. */
function niceStep(size: number): number {
  const power = 10 ** Math.floor(Math.log10(size));
  return [1, 2, 5, 10].map(f => f * power).find(step => step >= size) ?? 10 * power;
}

/** The plotted samples inside `region`, in increasing index order. */
export function selectRegion(points: PointSet, region: Region): Int32Array {
  if (region.kind === 'box') {
    return selectBox(points, ordered(region.x), ordered(region.y));
  }
  const inside = regionTest(region);
  const n = points.x.length;
  const hits = new Int32Array(n);
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (isPlotted(points, i) && inside(points.x[i], points.y[i])) {
      hits[count++] = i;
    }
  }
  return hits.slice(0, count);
}

/**
 * A box's samples, as selectRegion's general loop finds them, without a branch per sample: a box
 * over shuffled samples takes about every other one, and a branch on that would be mispredicted
 * half the time. `v - v === 0` holds exactly for a finite v (NaN and ±Infinity give NaN).
 */
function selectBox(points: PointSet, [x0, x1]: [number, number], [y0, y1]: [number, number]) {
  const { x, y, received } = points;
  const n = x.length;
  const hits = new Int32Array(n + 1);
  let count = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[i];
    const yi = y[i];
    const inside =
      +(xi >= x0) &
      +(xi <= x1) &
      +(yi >= y0) &
      +(yi <= y1) &
      +(xi - xi === 0) &
      +(yi - yi === 0) &
      +(received === null || received[i] !== 0);
    // Written every time, kept only when inside: the slot after the last hit is scratch.
    hits[count] = i;
    count += inside;
  }
  return hits.slice(0, count);
}

function regionTest(region: Region): (x: number, y: number) => boolean {
  switch (region.kind) {
    case 'box': {
      const [x0, x1] = ordered(region.x);
      const [y0, y1] = ordered(region.y);
      return (x, y) => x >= x0 && x <= x1 && y >= y0 && y <= y1;
    }
    case 'localRange': {
      // Half-open like the histogram's bins, so a bin selects exactly the samples it counts;
      // the top bin includes 1.
      const [low, high] = ordered([region.low, region.high]);
      return (_x, y) => y >= low && (y < high || (high >= 1 && y <= 1));
    }
    case 'lasso':
      return (x, y) => insidePolygon(x, y, region.x, region.y);
  }
}

function ordered(pair: [number, number]): [number, number] {
  return pair[0] <= pair[1] ? pair : [pair[1], pair[0]];
}

/** Even-odd rule point-in-polygon test (the polygon closes itself). */
export function insidePolygon(x: number, y: number, xs: number[], ys: number[]): boolean {
  let inside = false;
  for (let a = 0, b = xs.length - 1; a < xs.length; b = a++) {
    const crosses =
      ys[a] > y !== ys[b] > y && x < ((xs[b] - xs[a]) * (y - ys[a])) / (ys[b] - ys[a]) + xs[a];
    if (crosses) {
      inside = !inside;
    }
  }
  return inside;
}

/** The plotted sample nearest to the query in screen pixels, or -1 when none is within reach. */
export function nearestSample(points: PointSet, query: NearestQuery): number {
  const { x, y } = points;
  let best = -1;
  let bestDistance = query.radiusPx * query.radiusPx;
  for (let i = 0; i < x.length; i++) {
    const dx = (x[i] - query.x) / query.xPerPixel;
    const dy = (y[i] - query.y) / query.yPerPixel;
    const distance = dx * dx + dy * dy;
    // Within reach is rare, so it is tested first: NaN coordinates never are, and whether the
    // sample is plotted is asked only of the few that are.
    if (distance <= bestDistance && isPlotted(points, i)) {
      best = i;
      bestDistance = distance;
    }
  }
  return best;
}

export function localHistogram(
  local: Float64Array,
  received: Uint8Array | null,
  bins: number,
  selection: Int32Array | null
): LocalHistogram {
  const { all, nUndefined } = histogramOfAll(local, received, bins);
  const { edges, selected } = selectedHistogram(local, received, bins, selection);
  return { edges, all, selected, nUndefined };
}

/** The counts of every received sample per bin of local score, and of undefined scores. */
export function histogramOfAll(
  local: Float64Array,
  received: Uint8Array | null,
  bins: number
): { all: Int32Array; nUndefined: number } {
  checkBins(bins);
  const all = new Int32Array(bins);
  let nUndefined = 0;
  for (let i = 0; i < local.length; i++) {
    if (received !== null && received[i] === 0) {
      continue;
    }
    const bin = binOf(local[i], bins);
    if (bin < 0) {
      nUndefined++;
    } else {
      all[bin]++;
    }
  }
  return { all, nUndefined };
}

/** The bins' edges, and the counts of the selected received samples per bin (null: none). */
export function selectedHistogram(
  local: Float64Array,
  received: Uint8Array | null,
  bins: number,
  selection: Int32Array | null
): { edges: Float64Array; selected: Int32Array | null } {
  checkBins(bins);
  const edges = new Float64Array(bins + 1);
  for (let b = 0; b <= bins; b++) {
    edges[b] = b / bins;
  }
  let selected: Int32Array | null = null;
  if (selection !== null) {
    selected = new Int32Array(bins);
    for (let r = 0; r < selection.length; r++) {
      const i = selection[r];
      const bin = received !== null && received[i] === 0 ? -1 : binOf(local[i], bins);
      if (bin >= 0) {
        selected[bin]++;
      }
    }
  }
  return { edges, selected };
}

function checkBins(bins: number): void {
  if (!Number.isInteger(bins) || bins < 1) {
    throw new RangeError(`bins: expected a positive integer, got ${bins}`);
  }
}

/** The bin of a local score; the last bin includes 1. -1 for an undefined score. */
function binOf(score: number, bins: number): number {
  if (!(score >= 0 && score <= 1)) {
    return -1;
  }
  return Math.min(Math.floor(score * bins), bins - 1);
}

/** Samples grouped by a per-sample code (a label, a predicted class or a cohort code). */
export interface Grouping {
  /** The distinct finite codes, ascending. */
  categories: number[];
  /** For each category, its received samples in increasing order. */
  members: Int32Array[];
}

/** Groups the received samples by their code; NaN codes belong to no group. */
export function groupByCode(codes: Float64Array, received: Uint8Array | null): Grouping {
  const counts = new Map<number, number>();
  for (let i = 0; i < codes.length; i++) {
    if ((received === null || received[i] !== 0) && Number.isFinite(codes[i])) {
      counts.set(codes[i], (counts.get(codes[i]) ?? 0) + 1);
    }
  }
  const categories = [...counts.keys()].sort((a, b) => a - b);
  const slot = new Map(categories.map((code, k) => [code, k]));
  const members = categories.map(code => new Int32Array(counts.get(code)!));
  const filled = new Int32Array(categories.length);
  for (let i = 0; i < codes.length; i++) {
    const k = received === null || received[i] !== 0 ? slot.get(codes[i]) : undefined;
    if (k !== undefined) {
      members[k][filled[k]++] = i;
    }
  }
  return { categories, members };
}

/** The indices kept by a 0/1 mask, in increasing order. */
export function maskToIndices(mask: Uint8Array): Int32Array {
  let count = 0;
  for (let i = 0; i < mask.length; i++) {
    count += mask[i] === 0 ? 0 : 1;
  }
  const out = new Int32Array(count);
  for (let i = 0, r = 0; i < mask.length; i++) {
    if (mask[i] !== 0) {
      out[r++] = i;
    }
  }
  return out;
}

/**
 * The mean of |rows[a, k]| over the chosen rows (all when `indices` is undefined), for each column
 * k. For the order masses: signed means cancel when a model's interactions push some samples up
 * and others down (XOR), while the mean size per sample shows how much each order matters.
 */
export function meanAbsoluteRows(
  rows: Float64Array,
  width: number,
  indices: ArrayLike<number> | undefined
): Float64Array {
  const sum = new Float64Array(width);
  const count = indices === undefined ? rows.length / width : indices.length;
  for (let r = 0; r < count; r++) {
    const offset = (indices === undefined ? r : indices[r]) * width;
    for (let k = 0; k < width; k++) {
      sum[k] += Math.abs(rows[offset + k]);
    }
  }
  return sum.map(total => (count === 0 ? NaN : total / count));
}
