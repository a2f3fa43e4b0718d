/**
 * Rasterises the per-sample scatter into RGBA pixels, in the worker.
 *
 * Why not plotly's scattergl: its first draw in a new chart takes 0.5–0.9 s of main-thread time
 * (measured in the project's headless chromium), and every widget is a new chart, so the page
 * would freeze whenever a large widget appears. Writing ~10 pixels per point here costs the main
 * thread only a putImageData of the finished image, whatever the number of samples; plotly still
 * draws the axes and handles the brush and lasso on top of the image.
 */
import type { PointSet } from './samples';

export interface RasterOptions {
  /** Image size in device pixels. */
  width: number;
  height: number;
  /** The data ranges mapped onto the image's left→right and bottom→top edges. */
  xRange: [number, number];
  yRange: [number, number];
  /** Disc radius in device pixels. */
  radius: number;
  /** Per-sample group (index into `colors`); null, or -1 for a sample, uses `fallbackColor`. */
  group: Int32Array | null;
  /** 0xRRGGBB per group. */
  colors: number[];
  fallbackColor: number;
  /** Non-zero for highlighted (selected) samples; null when nothing is selected. */
  highlight: Uint8Array | null;
  /** Opacity (0–255) of samples outside the selection while a selection exists. */
  fadedAlpha: number;
}

/** Pixel offsets (dx, dy) covered by a disc of the given radius around its centre pixel. */
export function discOffsets(radius: number): Int32Array {
  const reach = Math.ceil(radius);
  const offsets: number[] = [];
  for (let dy = -reach; dy <= reach; dy++) {
    for (let dx = -reach; dx <= reach; dx++) {
      if (dx * dx + dy * dy <= radius * radius + 0.5) {
        offsets.push(dx, dy);
      }
    }
  }
  return Int32Array.from(offsets);
}

/** How far (in pixels, either way) a disc of the given radius reaches from its centre pixel. */
export function discReach(radius: number): number {
  return radius > 0 ? Math.ceil(radius) : 0;
}

/**
 * Where each sample lands on an image of a given size and ranges: its centre pixel, as an index
 * into a grid that is the image with a margin of 2·reach pixels on every side (`stride` cells per
 * row, `rows` rows), or -1 when the sample is not plotted or too far off the image for its disc to
 * touch it. It depends only on the points, the image's size and ranges and the disc's reach, so
 * the engine keeps it: a brush, which only changes which samples are highlighted, then draws
 * without mapping a million points to pixels again.
 */
export interface Placement {
  readonly width: number;
  readonly height: number;
  readonly reach: number;
  readonly stride: number;
  readonly rows: number;
  readonly centres: Int32Array;
}

export function placePoints(
  points: PointSet,
  width: number,
  height: number,
  xRange: [number, number],
  yRange: [number, number],
  radius: number
): Placement {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new RangeError(`raster size: expected positive integers, got ${width} × ${height}`);
  }
  const reach = discReach(radius);
  const stride = width + 4 * reach;
  const rows = height + 4 * reach;
  const [x0, x1] = xRange;
  const [y0, y1] = yRange;
  const xScale = width / (x1 - x0);
  const yScale = height / (y1 - y0);
  const { x, y, received } = points;
  const n = x.length;
  const centres = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    centres[i] = -1;
    if (received !== null && received[i] === 0) {
      continue;
    }
    const xi = x[i];
    const yi = y[i];
    if (!(Number.isFinite(xi) && Number.isFinite(yi))) {
      continue;
    }
    // The same arithmetic as a disc stamped point by point (rasterizePoints' first version).
    const px = Math.floor((xi - x0) * xScale);
    const py = Math.floor((y1 - yi) * yScale);
    // A disc centred further off the image than its reach covers none of its pixels.
    if (px >= -reach && px < width + reach && py >= -reach && py < height + reach) {
      centres[i] = (py + 2 * reach) * stride + px + 2 * reach;
    }
  }
  return { width, height, reach, stride, rows, centres };
}

/** How drawPlaced colours the points: RasterOptions without the image's size and ranges. */
export type DrawOptions = Omit<RasterOptions, 'width' | 'height' | 'xRange' | 'yRange'>;

/**
 * Draws every plotted sample as a disc. With a selection, the samples outside it are drawn first
 * and faded, and the selected ones on top at full opacity, so a selection stays visible under
 * heavy overplotting.
 */
export function rasterizePoints(points: PointSet, options: RasterOptions): Uint8ClampedArray {
  const { width, height, xRange, yRange, radius } = options;
  return drawPlaced(placePoints(points, width, height, xRange, yRange, radius), options);
}

/**
 * The image of placed points: every disc in its sample's colour, samples in index order, so where
 * discs overlap the later sample's shows; with a highlight, every highlighted sample's disc over
 * every other one, and the others at `fadedAlpha`.
 *
 * Instead of stamping each sample's disc (a million samples: five million pixel writes, each
 * tested against the image's edges), it keeps per grid cell the last sample centred there (two
 * such grids with a highlight: highlighted samples and the others), spreads each cell's sample
 * over its disc keeping the last sample per pixel, and colours each pixel once. The image is
 * the one stamping gives, pixel for pixel: a pixel shows the last highlighted sample whose disc
 * covers it, else the last other one (tests/ts/compute/worker/raster.test.ts holds stamping as
 * the reference). What grows with the samples is one pass over their cells.
 */
export function drawPlaced(placement: Placement, options: DrawOptions): Uint8ClampedArray {
  const { width, height, reach, stride, rows, centres } = placement;
  const disc = discOffsets(options.radius);
  if (discReach(options.radius) > reach) {
    throw new RangeError(
      `raster: the points were placed for discs of reach ${reach}, got radius ${options.radius}`
    );
  }
  const spread = new Int32Array(disc.length / 2);
  for (let k = 0; k < spread.length; k++) {
    spread[k] = disc[2 * k + 1] * stride + disc[2 * k];
  }
  const cells = stride * rows;
  const n = centres.length;
  const highlight = options.highlight;
  if (highlight !== null && highlight.length !== n) {
    throw new RangeError(`highlight: expected one flag per sample (${n}), got ${highlight.length}`);
  }
  // Stamping never lets a faded disc cover a pixel whose stored opacity exceeds its own, an
  // empty pixel's 0 included: with an opacity the image stores rounded up (60.6 as 61), the first
  // faded sample on a pixel stays, and with one below 0 none is drawn.
  const otherAlpha = highlight === null ? 255 : options.fadedAlpha;
  const others =
    otherAlpha < 0 ? 'none' : Uint8ClampedArray.of(otherAlpha)[0] > otherAlpha ? 'first' : 'last';
  // The last sample centred in each cell: cells 0 … cells − 1 for the faded (or, without a
  // highlight, every) samples, cells … 2·cells − 1 for the highlighted ones. Without a highlight
  // the same loop runs with no sample highlighted: the image drawn while values stream in then
  // runs, and compiles, the code a brush's image runs.
  const flags = highlight ?? new Uint8Array(n);
  const last = new Int32Array(2 * cells).fill(-1);
  if (others === 'last') {
    for (let i = 0; i < n; i++) {
      const c = centres[i];
      if (c >= 0) {
        // (−flag) >>> 31 is 1 for a highlighted sample, 0 for another: no branch to mispredict
        // where highlighted and other samples alternate (a brush over shuffled samples).
        last[c + (-flags[i] >>> 31) * cells] = i;
      }
    }
  } else {
    for (let i = 0; i < n; i++) {
      const c = centres[i];
      if (c >= 0) {
        if (flags[i] !== 0) {
          last[c + cells] = i;
        } else if (others === 'first' && last[c] < 0) {
          last[c] = i;
        }
      }
    }
  }
  const coverOther = spreadOverDiscs(last.subarray(0, cells), spread, others === 'first');
  const coverHighlighted = spreadOverDiscs(last.subarray(cells), spread, false);
  const pixels = new Uint8ClampedArray(width * height * 4);
  const { group, colors, fallbackColor } = options;
  for (let py = 0; py < height; py++) {
    const row = (py + 2 * reach) * stride + 2 * reach;
    for (let px = 0; px < width; px++) {
      const cell = row + px;
      let i = coverHighlighted[cell];
      let alpha = 255;
      if (i < 0) {
        i = coverOther[cell];
        alpha = otherAlpha;
        if (i < 0) {
          continue;
        }
      }
      const g = group === null ? -1 : group[i];
      const color = g >= 0 && g < colors.length ? colors[g] : fallbackColor;
      const o = (py * width + px) * 4;
      pixels[o] = (color >> 16) & 255;
      pixels[o + 1] = (color >> 8) & 255;
      pixels[o + 2] = color & 255;
      pixels[o + 3] = alpha;
    }
  }
  return pixels;
}

/**
 * Per cell, the largest (`first`: the smallest) sample index of those given per cell whose disc
 * covers it; -1 for none.
 */
function spreadOverDiscs(samples: Int32Array, spread: Int32Array, first: boolean): Int32Array {
  const cover = new Int32Array(samples.length).fill(-1);
  const reachable = spread.length;
  for (let c = 0; c < samples.length; c++) {
    const i = samples[c];
    if (i < 0) {
      continue;
    }
    for (let k = 0; k < reachable; k++) {
      const p = c + spread[k];
      const shown = cover[p];
      if (first ? shown < 0 || i < shown : shown < i) {
        cover[p] = i;
      }
    }
  }
  return cover;
}
