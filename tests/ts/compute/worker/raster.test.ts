import { describe, expect, it } from 'vitest';
import { discOffsets, rasterizePoints } from '../../../../src/compute/worker/raster';
import type { RasterOptions } from '../../../../src/compute/worker/raster';
import type { PointSet } from '../../../../src/compute/worker/samples';

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
