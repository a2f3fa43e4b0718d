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
import { isPlotted } from './samples';

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

/**
 * Draws every plotted sample as a disc. With a selection, the samples outside it are drawn first
 * and faded, and the selected ones on top at full opacity, so a selection stays visible under
 * heavy overplotting.
 */
export function rasterizePoints(points: PointSet, options: RasterOptions): Uint8ClampedArray {
  const { width, height } = options;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new RangeError(`raster size: expected positive integers, got ${width} × ${height}`);
  }
  const pixels = new Uint8ClampedArray(width * height * 4);
  const disc = discOffsets(options.radius);
  const [x0, x1] = options.xRange;
  const [y0, y1] = options.yRange;
  const xScale = width / (x1 - x0);
  const yScale = height / (y1 - y0);
  const stamp = (i: number, alpha: number) => {
    const px = Math.floor((points.x[i] - x0) * xScale);
    const py = Math.floor((y1 - points.y[i]) * yScale);
    const g = options.group === null ? -1 : options.group[i];
    const color = g >= 0 && g < options.colors.length ? options.colors[g] : options.fallbackColor;
    const r = (color >> 16) & 255;
    const gr = (color >> 8) & 255;
    const b = color & 255;
    for (let k = 0; k < disc.length; k += 2) {
      const cx = px + disc[k];
      const cy = py + disc[k + 1];
      if (cx < 0 || cy < 0 || cx >= width || cy >= height) {
        continue;
      }
      const o = (cy * width + cx) * 4;
      // A faded point never covers an opaque one drawn earlier.
      if (pixels[o + 3] > alpha) {
        continue;
      }
      pixels[o] = r;
      pixels[o + 1] = gr;
      pixels[o + 2] = b;
      pixels[o + 3] = alpha;
    }
  };
  const highlight = options.highlight;
  for (let i = 0; i < points.x.length; i++) {
    if (isPlotted(points, i) && (highlight === null || highlight[i] === 0)) {
      stamp(i, highlight === null ? 255 : options.fadedAlpha);
    }
  }
  if (highlight !== null) {
    for (let i = 0; i < points.x.length; i++) {
      if (highlight[i] !== 0 && isPlotted(points, i)) {
        stamp(i, 255);
      }
    }
  }
  return pixels;
}
