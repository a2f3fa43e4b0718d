import { describe, expect, it } from 'vitest';
import {
  dataRanges,
  groupByCode,
  insidePolygon,
  localHistogram,
  maskToIndices,
  meanAbsoluteRows,
  histogramOfAll,
  nearestSample,
  selectedHistogram,
  selectRegion
} from '../../../../src/compute/worker/samples';
import type { PointSet } from '../../../../src/compute/worker/samples';
import { uniform } from '../../core/helpers';

/** Random points in [0, 1]², some undefined (NaN local score) and, optionally, some not received. */
function randomPoints(n: number, seed: number, withReceived = false): PointSet {
  const random = uniform(seed, 0, 1);
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  const received = withReceived ? new Uint8Array(n) : null;
  for (let i = 0; i < n; i++) {
    x[i] = random();
    y[i] = random() < 0.05 ? NaN : random();
    if (received) {
      received[i] = random() < 0.7 ? 1 : 0;
    }
  }
  return { x, y, received };
}

/** The brute-force answer: every plotted sample for which `inside` holds. */
function expected(points: PointSet, inside: (x: number, y: number) => boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < points.x.length; i++) {
    const plotted =
      (!points.received || points.received[i] === 1) &&
      Number.isFinite(points.x[i]) &&
      Number.isFinite(points.y[i]);
    if (plotted && inside(points.x[i], points.y[i])) {
      out.push(i);
    }
  }
  return out;
}

describe('selectRegion', () => {
  const points = randomPoints(3000, 1, true);

  it('selects exactly the plotted samples inside a box, whichever way it was dragged', () => {
    const hits = selectRegion(points, { kind: 'box', x: [0.7, 0.2], y: [0.1, 0.6] });
    const want = expected(points, (x, y) => x >= 0.2 && x <= 0.7 && y >= 0.1 && y <= 0.6);
    expect(Array.from(hits)).toEqual(want);
    expect(want.length).toBeGreaterThan(100);
  });

  it('selects a box with infinite coordinates or bounds as the plotted test says', () => {
    const special: PointSet = {
      x: new Float64Array([0.5, Infinity, -Infinity, NaN, 0.5, 0.2, 0.3, 1e308]),
      y: new Float64Array([0.5, 0.5, 0.5, 0.5, Infinity, 0.2, -0, 0.5]),
      received: null
    };
    for (const region of [
      { x: [0, 1], y: [0, 1] },
      { x: [-Infinity, Infinity], y: [-Infinity, Infinity] },
      { x: [0.3, 0.3], y: [0, 0] },
      { x: [Infinity, 0], y: [1, -1] }
    ] as Array<{ x: [number, number]; y: [number, number] }>) {
      const [x0, x1] = [Math.min(...region.x), Math.max(...region.x)];
      const [y0, y1] = [Math.min(...region.y), Math.max(...region.y)];
      for (const set of [special, points, randomPoints(1000, 3)]) {
        expect(Array.from(selectRegion(set, { kind: 'box', ...region }))).toEqual(
          expected(set, (x, y) => x >= x0 && x <= x1 && y >= y0 && y <= y1)
        );
      }
    }
  });

  it('selects the samples inside a lasso (a triangle here)', () => {
    const hits = selectRegion(points, { kind: 'lasso', x: [0.1, 0.9, 0.1], y: [0.1, 0.1, 0.9] });
    // Inside the triangle with corners (0.1, 0.1), (0.9, 0.1), (0.1, 0.9): x, y > 0.1, x + y < 1.
    const want = expected(points, (x, y) => x > 0.1 && y > 0.1 && x + y < 1);
    expect(Array.from(hits)).toEqual(want);
  });

  it('selects local scores in a half-open range, like the histogram bins', () => {
    const onEdge: PointSet = {
      x: new Float64Array([0, 0, 0, 0]),
      y: new Float64Array([0.25, 0.5, 0.75, 1]),
      received: null
    };
    expect(Array.from(selectRegion(onEdge, { kind: 'localRange', low: 0.25, high: 0.5 }))).toEqual([
      0
    ]);
    expect(Array.from(selectRegion(onEdge, { kind: 'localRange', low: 0.75, high: 1 }))).toEqual([
      2, 3
    ]);
  });
});

describe('insidePolygon', () => {
  it('uses the even-odd rule on a concave polygon', () => {
    // A "U": the notch between x = 1 and x = 2 above y = 1 is outside.
    const xs = [0, 3, 3, 2, 2, 1, 1, 0];
    const ys = [0, 0, 3, 3, 1, 1, 3, 3];
    expect(insidePolygon(0.5, 2, xs, ys)).toBe(true);
    expect(insidePolygon(1.5, 2, xs, ys)).toBe(false);
    expect(insidePolygon(1.5, 0.5, xs, ys)).toBe(true);
    expect(insidePolygon(4, 0.5, xs, ys)).toBe(false);
  });
});

describe('nearestSample', () => {
  const points: PointSet = {
    x: new Float64Array([0.1, 0.5, 0.52, 0.9]),
    y: new Float64Array([0.1, 0.5, NaN, 0.9]),
    received: null
  };

  it('finds the nearest plotted sample in screen pixels, skipping undefined ones', () => {
    // Sample 2 is closer in data units but has no local score, so it is not on the chart.
    const query = { x: 0.52, y: 0.5, xPerPixel: 0.01, yPerPixel: 0.01, radiusPx: 5 };
    expect(nearestSample(points, query)).toBe(1);
  });

  it('finds what a scan of every plotted sample finds: the last of the nearest ones', () => {
    const crowd = randomPoints(4000, 5, true);
    // Ties: samples on the same spot; the later one wins, as in the scan.
    crowd.x[100] = crowd.x[3000] = 0.5;
    crowd.y[100] = crowd.y[3000] = 0.5;
    crowd.received![100] = crowd.received![3000] = 1;
    crowd.x[200] = Infinity;
    const scan = (query: {
      x: number;
      y: number;
      xPerPixel: number;
      yPerPixel: number;
      radiusPx: number;
    }) => {
      let best = -1;
      let bestDistance = query.radiusPx * query.radiusPx;
      for (let i = 0; i < crowd.x.length; i++) {
        const plotted =
          (crowd.received === null || crowd.received[i] !== 0) &&
          Number.isFinite(crowd.x[i]) &&
          Number.isFinite(crowd.y[i]);
        if (!plotted) {
          continue;
        }
        const dx = (crowd.x[i] - query.x) / query.xPerPixel;
        const dy = (crowd.y[i] - query.y) / query.yPerPixel;
        if (dx * dx + dy * dy <= bestDistance) {
          best = i;
          bestDistance = dx * dx + dy * dy;
        }
      }
      return best;
    };
    const random = uniform(9, 0, 1);
    for (let k = 0; k < 200; k++) {
      const query = { x: random(), y: random(), xPerPixel: 0.002, yPerPixel: 0.003, radiusPx: 6 };
      expect(nearestSample(crowd, query)).toBe(scan(query));
    }
    const tie = { x: 0.5, y: 0.5, xPerPixel: 0.01, yPerPixel: 0.01, radiusPx: 3 };
    expect(nearestSample(crowd, tie)).toBe(3000);
    expect(nearestSample(crowd, { ...tie, radiusPx: Infinity })).toBe(
      scan({ ...tie, radiusPx: Infinity })
    );
  });

  it('measures distance in pixels, not data units', () => {
    // 0.05 apart on y is 1 pixel when a pixel spans 0.05; 0.05 apart on x is 50 pixels.
    const query = { x: 0.9, y: 0.85, xPerPixel: 0.001, yPerPixel: 0.05, radiusPx: 2 };
    expect(nearestSample(points, query)).toBe(3);
    expect(nearestSample(points, { ...query, x: 0.85, y: 0.9 })).toBe(-1);
  });
});

describe('localHistogram', () => {
  it('counts every received, defined score once, and the selection separately', () => {
    const points = randomPoints(5000, 7, true);
    const selection = selectRegion(points, { kind: 'box', x: [0, 0.5], y: [0, 1] });
    const hist = localHistogram(points.y, points.received, 20, selection);
    let receivedDefined = 0;
    let receivedUndefined = 0;
    for (let i = 0; i < points.y.length; i++) {
      if (points.received![i]) {
        if (Number.isFinite(points.y[i])) {
          receivedDefined++;
        } else {
          receivedUndefined++;
        }
      }
    }
    const sum = (a: Int32Array) => a.reduce((s, v) => s + v, 0);
    expect(sum(hist.all)).toBe(receivedDefined);
    expect(hist.nUndefined).toBe(receivedUndefined);
    expect(sum(hist.selected!)).toBe(selection.length);
    // Each bin holds exactly the scores in [edge_b, edge_b+1) (the last one includes 1).
    for (let b = 0; b < 20; b++) {
      const inBin = selectRegion(
        { ...points, x: new Float64Array(points.x.length) },
        { kind: 'localRange', low: hist.edges[b], high: hist.edges[b + 1] }
      );
      expect(hist.all[b]).toBe(inBin.length);
    }
    // The engine keeps the counts over all samples and counts only the selection per brush.
    const all = histogramOfAll(points.y, points.received, 20);
    const selected = selectedHistogram(points.y, points.received, 20, selection);
    expect({
      edges: selected.edges,
      all: all.all,
      selected: selected.selected,
      nUndefined: all.nUndefined
    }).toEqual(hist);
    expect(selectedHistogram(points.y, null, 20, null).selected).toBeNull();
    expect(() => histogramOfAll(points.y, null, 0)).toThrow('bins');
    expect(() => selectedHistogram(points.y, null, 1.5, null)).toThrow('bins');
  });
});

describe('groupByCode', () => {
  it('groups received samples by code, ascending, leaving NaN codes out', () => {
    const codes = new Float64Array([2, 0, NaN, 2, 1, 0, 2]);
    const received = new Uint8Array([1, 1, 1, 1, 0, 1, 1]);
    const grouping = groupByCode(codes, received);
    expect(grouping.categories).toEqual([0, 2]);
    expect(grouping.members.map(m => Array.from(m))).toEqual([
      [1, 5],
      [0, 3, 6]
    ]);
  });
});

describe('dataRanges and maskToIndices', () => {
  it('pads the extent of plotted samples and falls back to [0, 1]', () => {
    const points: PointSet = {
      x: new Float64Array([1, 3, 100]),
      y: new Float64Array([0, 1, NaN]),
      received: null
    };
    const ranges = dataRanges(points);
    expect(ranges.x[0]).toBeLessThan(1);
    expect(ranges.x[1]).toBeGreaterThan(3);
    expect(ranges.x[1]).toBeLessThan(4);
    expect(dataRanges({ ...points, y: new Float64Array(3).fill(NaN) })).toEqual({
      x: [0, 1],
      y: [0, 1]
    });
  });

  it('keeps its ranges while streamed samples widen the extent a little', () => {
    const first = dataRanges({
      x: new Float64Array([1, 2.7]),
      y: new Float64Array([0.2, 0.8]),
      received: null
    });
    const later = dataRanges({
      x: new Float64Array([1, 2.7, 2.72, 0.99]),
      y: new Float64Array([0.2, 0.8, 0.805, 0.199]),
      received: null
    });
    expect(later).toEqual(first);
    // Still padded: no point sits on the edge.
    expect(first.x[0]).toBeLessThan(0.99);
    expect(first.x[1]).toBeGreaterThan(2.72);
    // A sample far outside does move the range.
    const wider = dataRanges({
      x: new Float64Array([1, 2.7, 3.5]),
      y: new Float64Array([0.2, 0.8, 0.5]),
      received: null
    });
    expect(wider.x[1]).toBeGreaterThan(3.5);
    expect(wider.y).toEqual(first.y);
  });

  it('lists the set positions of a mask', () => {
    expect(Array.from(maskToIndices(new Uint8Array([0, 1, 1, 0, 1])))).toEqual([1, 2, 4]);
  });
});

describe('meanAbsoluteRows', () => {
  it('averages absolute values per column over the chosen rows', () => {
    const rows = new Float64Array([1, -2, -3, 4, 5, -6]);
    expect(Array.from(meanAbsoluteRows(rows, 2, undefined))).toEqual([3, 4]);
    expect(Array.from(meanAbsoluteRows(rows, 2, [2, 2, 0]))).toEqual([11 / 3, 14 / 3]);
    expect(Array.from(meanAbsoluteRows(rows, 2, []))).toEqual([NaN, NaN]);
  });
});
