import { describe, expect, it } from 'vitest';
import {
  discOffsets,
  discReach,
  drawPlaced,
  placePoints,
  rasterizePoints
} from '../../../../src/compute/worker/raster';
import type { RasterOptions } from '../../../../src/compute/worker/raster';
import type { PointSet } from '../../../../src/compute/worker/samples';
import { mulberry32 } from '../../../../src/core';

const base: RasterOptions = {
  width: 10,
  height: 10,
  xRange: [0, 1],
  yRange: [0, 1],
  radius: 0,
  group: null,
  colors: [0xff0000, 0x00ff00],
  fallbackColor: 0x0000ff,
  highlight: null,
  fadedAlpha: 50
};

function pixel(pixels: Uint8ClampedArray, width: number, x: number, y: number): number[] {
  const o = (y * width + x) * 4;
  return Array.from(pixels.subarray(o, o + 4));
}

describe('rasterizePoints', () => {
  const points: PointSet = {
    x: new Float64Array([0.05, 0.95, 0.55, 2]),
    y: new Float64Array([0.95, 0.05, NaN, 0.5]),
    received: null
  };

  it('puts x to the right and y up, in the group colour', () => {
    const pixels = rasterizePoints(points, { ...base, group: new Int32Array([0, 1, 0, 0]) });
    expect(pixel(pixels, 10, 0, 0)).toEqual([255, 0, 0, 255]); // (0.05, 0.95): top left
    expect(pixel(pixels, 10, 9, 9)).toEqual([0, 255, 0, 255]); // (0.95, 0.05): bottom right
    // Undefined local scores and points outside the range draw nothing.
    const painted = pixels.filter((_, k) => k % 4 === 3 && pixels[k] > 0).length;
    expect(painted).toBe(2);
  });

  it('uses the fallback colour without groups', () => {
    const pixels = rasterizePoints(points, base);
    expect(pixel(pixels, 10, 0, 0)).toEqual([0, 0, 255, 255]);
  });

  it('fades samples outside the selection and draws the selected ones on top', () => {
    const overlapping: PointSet = {
      x: new Float64Array([0.5, 0.5, 0.05]),
      y: new Float64Array([0.5, 0.5, 0.05]),
      received: null
    };
    // Sample 1 is selected; sample 0 lies on the same pixel and is drawn first, faded.
    const pixels = rasterizePoints(overlapping, {
      ...base,
      group: new Int32Array([0, 1, 0]),
      highlight: new Uint8Array([0, 1, 0])
    });
    expect(pixel(pixels, 10, 5, 5)).toEqual([0, 255, 0, 255]);
    expect(pixel(pixels, 10, 0, 9)).toEqual([255, 0, 0, 50]);
  });

  it('skips samples not yet received', () => {
    const pixels = rasterizePoints({ ...points, received: new Uint8Array([0, 1, 1, 1]) }, base);
    expect(pixel(pixels, 10, 0, 0)[3]).toBe(0);
    expect(pixel(pixels, 10, 9, 9)[3]).toBe(255);
  });

  it('refuses an empty image', () => {
    expect(() => rasterizePoints(points, { ...base, width: 0 })).toThrow('raster size');
  });
});

describe('discOffsets', () => {
  it('covers a disc: one pixel at radius 0, a plus-shaped 5 at radius 1', () => {
    expect(discOffsets(0).length / 2).toBe(1);
    expect(discOffsets(1).length / 2).toBe(5);
    for (let k = 0; k < discOffsets(3).length; k += 2) {
      const [dx, dy] = [discOffsets(3)[k], discOffsets(3)[k + 1]];
      expect(dx * dx + dy * dy).toBeLessThanOrEqual(9.5);
    }
  });
});

/**
 * The first rasterizePoints, kept here as the reference: every plotted sample's disc stamped in
 * index order (the faded ones first, then the highlighted ones), each pixel tested against the
 * image's edges. drawPlaced must give its image pixel for pixel.
 */
function stamped(points: PointSet, options: RasterOptions): Uint8ClampedArray {
  const { width, height } = options;
  const pixels = new Uint8ClampedArray(width * height * 4);
  const disc = discOffsets(options.radius);
  const [x0, x1] = options.xRange;
  const [y0, y1] = options.yRange;
  const xScale = width / (x1 - x0);
  const yScale = height / (y1 - y0);
  const plotted = (i: number) =>
    (points.received === null || points.received[i] !== 0) &&
    Number.isFinite(points.x[i]) &&
    Number.isFinite(points.y[i]);
  const stamp = (i: number, alpha: number) => {
    const px = Math.floor((points.x[i] - x0) * xScale);
    const py = Math.floor((y1 - points.y[i]) * yScale);
    const g = options.group === null ? -1 : options.group[i];
    const color = g >= 0 && g < options.colors.length ? options.colors[g] : options.fallbackColor;
    for (let k = 0; k < disc.length; k += 2) {
      const cx = px + disc[k];
      const cy = py + disc[k + 1];
      if (cx < 0 || cy < 0 || cx >= width || cy >= height) {
        continue;
      }
      const o = (cy * width + cx) * 4;
      if (pixels[o + 3] > alpha) {
        continue;
      }
      pixels[o] = (color >> 16) & 255;
      pixels[o + 1] = (color >> 8) & 255;
      pixels[o + 2] = color & 255;
      pixels[o + 3] = alpha;
    }
  };
  const highlight = options.highlight;
  for (let i = 0; i < points.x.length; i++) {
    if (plotted(i) && (highlight === null || highlight[i] === 0)) {
      stamp(i, highlight === null ? 255 : options.fadedAlpha);
    }
  }
  if (highlight !== null) {
    for (let i = 0; i < points.x.length; i++) {
      if (highlight[i] !== 0 && plotted(i)) {
        stamp(i, 255);
      }
    }
  }
  return pixels;
}

describe('drawPlaced: the stamped image, pixel for pixel', () => {
  const random = mulberry32(17);
  const n = 3000;
  // Crowded points (many share a pixel), some undefined, infinite or far outside the ranges.
  const x = Float64Array.from({ length: n }, () => random() * 1.2 - 0.1);
  const y = Float64Array.from({ length: n }, () => random() * random() * 1.2 - 0.1);
  for (let i = 0; i < n; i += 97) {
    y[i] = NaN;
  }
  x[5] = Infinity;
  x[6] = -1e300;
  y[7] = 1e300;
  const received = Uint8Array.from({ length: n }, () => (random() < 0.9 ? 1 : 0));
  // Groups past the palette and -1 take the fallback colour.
  const group = Int32Array.from({ length: n }, () => Math.floor(random() * 5) - 1);
  const highlight = Uint8Array.from({ length: n }, (_, i) =>
    x[i] > 0.3 && x[i] < 0.7 ? (random() < 0.9 ? 1 + (i % 3) : 0) : 0
  );
  const cases: Array<[string, Partial<RasterOptions>]> = [
    ['plain', {}],
    ['groups', { group }],
    ['highlight', { group, highlight }],
    ['highlight, one colour', { highlight }],
    ['radius 0', { radius: 0, group, highlight }],
    ['radius 0.4', { radius: 0.4, group }],
    ['radius 1.4 at dpr 2 (2.8)', { radius: 2.8, group, highlight }],
    ['radius 3.6', { radius: 3.6, group, highlight }],
    ['negative radius', { radius: -0.5, group, highlight }],
    ['radius -2: no disc', { radius: -2, group }],
    ['NaN radius', { radius: Number.NaN, group }],
    ['faded alpha rounded up (60.6 → 61)', { group, highlight, fadedAlpha: 60.6 }],
    ['faded alpha rounded down', { group, highlight, fadedAlpha: 60.4 }],
    ['faded alpha 0.6 (stored as 1)', { group, highlight, fadedAlpha: 0.6 }],
    ['faded alpha 0', { group, highlight, fadedAlpha: 0 }],
    ['faded alpha below 0: no faded sample drawn', { group, highlight, fadedAlpha: -3 }],
    ['faded alpha NaN', { group, highlight, fadedAlpha: Number.NaN }],
    ['faded alpha above 255', { group, highlight, fadedAlpha: 300 }],
    ['zoomed in: most points off the image', { xRange: [0.4, 0.45], yRange: [0.1, 0.12] }],
    ['reversed ranges', { xRange: [1, 0], yRange: [1, 0], group, highlight }],
    ['a 1 × 1 image', { width: 1, height: 1, group, highlight }],
    ['a wide image', { width: 97, height: 13, radius: 1, group, highlight }]
  ];
  for (const [name, overrides] of cases) {
    it(name, () => {
      const options: RasterOptions = {
        ...base,
        width: 61,
        height: 47,
        radius: 1,
        colors: [0xff0000, 0x00ff00, 0x0000ff],
        ...overrides
      };
      for (const points of [
        { x, y, received },
        { x, y, received: null }
      ]) {
        const expected = stamped(points, options);
        expect(rasterizePoints(points, options)).toEqual(expected);
        // A placement made once serves any highlight and colouring at the same size and ranges.
        const placed = placePoints(
          points,
          options.width,
          options.height,
          options.xRange,
          options.yRange,
          options.radius
        );
        expect(drawPlaced(placed, options)).toEqual(expected);
        const other = { ...options, highlight: null, group: null };
        expect(drawPlaced(placed, other)).toEqual(stamped(points, other));
      }
    });
  }

  it('refuses a disc wider than the placement, and a highlight of another length', () => {
    const placed = placePoints({ x, y, received: null }, 20, 20, [0, 1], [0, 1], 1);
    expect(placed.reach).toBe(1);
    expect(discReach(1.5)).toBe(2);
    expect(() => drawPlaced(placed, { ...base, radius: 1.5 })).toThrow('reach 1');
    expect(() => drawPlaced(placed, { ...base, radius: 1, highlight: new Uint8Array(3) })).toThrow(
      `expected one flag per sample (${n}), got 3`
    );
    expect(() => placePoints({ x, y, received: null }, 0, 5, [0, 1], [0, 1], 1)).toThrow(
      'raster size'
    );
  });
});
