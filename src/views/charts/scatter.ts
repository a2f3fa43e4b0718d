/**
 * One point per sample: its local score against its prediction, coloured by label or predicted
 * class. The points are an image the worker rasterises (see compute/worker/raster.ts for why); plotly
 * draws the axes over it and provides box and lasso selection, zoom and pan. A click opens the
 * nearest sample, a hover names it — both looked up by the worker.
 */
import type {
  ColorBy,
  NearestQuery,
  RasterRequest,
  RasterResult,
  Region
} from '../../compute/types';
import { axisStyle, baseLayout, cssColorToNumber, hexToNumber, OKABE_ITO } from '../plotly';
import type { PlotlyAxis, ThemeColors } from '../plotly';
import { Chart } from './chart';
import type { ChartFigure } from './chart';
import type { ExportPanel } from '../export/svg';
import { setAttributes, SVG_NS } from '../export/svg';

export interface ScatterEvents {
  raster(request: RasterRequest): Promise<RasterResult>;
  nearest(query: NearestQuery): Promise<number>;
  select(region: Region): void;
  clear(): void;
  open(index: number): void;
  /** Text for the hover tooltip of one sample. */
  describe(index: number): Promise<string>;
  /** The plot area changed size: the image must be drawn again. */
  resized(): void;
}

/** Device pixels a click may miss a point by and still hit it. */
const HIT_RADIUS_PX = 6;
/** A press that moves less than this is a click, not a drag. */
const CLICK_SLOP_PX = 4;
const MARGIN = { l: 56, r: 12, t: 32, b: 42 };

/** What the scatter plots: its title, its y axis, and whether the line y = x is drawn. */
export interface ScatterPlane {
  /** The chart's name in an export ('scatter' in the global view). */
  name: string;
  title: string;
  yTitle: string;
  diagonal: boolean;
}

/** The global view's plane: each sample's local score against its prediction. */
const LOCAL_VS_PREDICTION: ScatterPlane = {
  name: 'scatter',
  title: 'Local score vs prediction',
  yTitle: 'local InterSHAP',
  diagonal: false
};

export class ScatterChart extends Chart {
  private readonly canvas: HTMLCanvasElement;
  private readonly tooltip: HTMLDivElement;
  private bound = false;
  private image: RasterResult | null = null;
  private frameKey = '';
  /** Axis ranges the user zoomed or panned to; null = fit the data. */
  private zoom: { x: [number, number]; y: [number, number] } | null = null;
  private press: { x: number; y: number } | null = null;
  private hoverBusy = false;
  /** True while the current selection is the one brushed here, so its outline is kept. */
  ownsSelection = false;
  /** How the points were last drawn, for an export of the same picture. */
  private points: {
    colorBy: ColorBy;
    highlight: Int32Array | null;
    radius: number;
    height: number;
    xTitle: string;
  } | null = null;

  constructor(
    private readonly events: ScatterEvents,
    private readonly plane: ScatterPlane = LOCAL_VS_PREDICTION,
    className = 'intershap-scatter'
  ) {
    super(className, true);
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'intershap-scatter-points';
    this.tooltip = document.createElement('div');
    this.tooltip.className = 'intershap-tooltip';
    this.tooltip.hidden = true;
  }

  /** Category codes and counts of the last image, for the legend. */
  get lastImage(): RasterResult | null {
    return this.image;
  }

  /** `radius` of a point in CSS pixels. */
  async draw(
    colorBy: ColorBy,
    highlight: Int32Array | null,
    colors: ThemeColors,
    height: number,
    xTitle: string,
    radius: number
  ): Promise<void> {
    if (!this.isDrawn) {
      await this.drawFrame(this.zoom ?? { x: [0, 1], y: [0, 1] }, colors, height, xTitle);
    }
    const size = this.plotArea();
    if (!size || size.w < 4 || size.h < 4) {
      return;
    }
    const dpr = window.devicePixelRatio || 1;
    this.points = { colorBy, highlight, radius, height, xTitle };
    const image = await this.events.raster({
      ...this.pointStyle(colors, dpr),
      width: Math.round(size.w * dpr),
      height: Math.round(size.h * dpr),
      xRange: this.zoom?.x ?? null,
      yRange: this.zoom?.y ?? null
    });
    this.image = image;
    await this.drawFrame({ x: image.xRange, y: image.yRange }, colors, height, xTitle);
    this.paint();
  }

  /** The axes; redrawn only when the ranges, theme or size changed (plotly then keeps the brush). */
  private async drawFrame(
    ranges: { x: [number, number]; y: [number, number] },
    colors: ThemeColors,
    height: number,
    xTitle: string
  ): Promise<void> {
    const key = JSON.stringify([ranges, colors, height, xTitle, this.ownsSelection]);
    if (key === this.frameKey && this.isDrawn) {
      return;
    }
    this.frameKey = key;
    const previous = (this.node as unknown as { layout?: { selections?: unknown[] } }).layout;
    const figure = frameFigure(ranges, colors, height, xTitle, this.plane);
    await this.react(figure.data, {
      ...figure.layout,
      dragmode: 'select',
      hovermode: false,
      selections: this.ownsSelection ? (previous?.selections ?? []) : [],
      title: {
        text: `${this.plane.title} — brush or lasso to select, click a point`,
        font: { size: 12 }
      }
    });
    this.bind();
  }

  /** How the worker colours and sizes the points, at `scale` image pixels per CSS pixel. */
  private pointStyle(colors: ThemeColors, scale: number) {
    const points = this.points!;
    return {
      colorBy: points.colorBy,
      palette: OKABE_ITO.map(hexToNumber),
      fallbackColor: cssColorToNumber(colors.muted),
      radius: points.radius * scale,
      highlight: points.highlight,
      fadedAlpha: 60
    };
  }

  /**
   * The chart as an export draws it: plotly's axes, and under them the points drawn by the worker
   * at the export's resolution, over the ranges shown on screen.
   */
  exportPanel(dpi: number): ExportPanel | null {
    const image = this.image;
    const points = this.points;
    if (!image || !points) {
      return null;
    }
    const ranges = { x: image.xRange, y: image.yRange };
    let drawnWith: ThemeColors | null = null;
    return {
      name: this.plane.name,
      title: this.plane.title,
      screenHeightPx: points.height,
      figure: async colors => {
        drawnWith = colors;
        return frameFigure(ranges, colors, points.height, points.xTitle, this.plane);
      },
      overlay: {
        draw: async area => {
          const scale = dpi / 96;
          const raster = await this.events.raster({
            ...this.pointStyle(drawnWith!, scale),
            width: Math.max(1, Math.round(area.w * scale)),
            height: Math.max(1, Math.round(area.h * scale)),
            xRange: ranges.x,
            yRange: ranges.y,
            vectorLimit: VECTOR_POINTS_LIMIT
          });
          return raster.points
            ? pointsVector(raster, area, points.radius, drawnWith!)
            : pointsImage(raster, area);
        }
      }
    };
  }

  private plotArea(): { l: number; t: number; w: number; h: number } | null {
    return this.node._fullLayout?._size ?? null;
  }

  /** Keeps the image exactly under plotly's plot area, below its axes and drag layer. */
  protected afterDraw(): void {
    const container = this.node.querySelector('.svg-container');
    const size = this.plotArea();
    if (!container || !size) {
      return;
    }
    if (this.canvas.parentElement !== container) {
      container.insertBefore(this.canvas, container.firstChild);
      container.appendChild(this.tooltip);
    }
    Object.assign(this.canvas.style, {
      left: `${size.l}px`,
      top: `${size.t}px`,
      width: `${size.w}px`,
      height: `${size.h}px`
    });
    const dpr = window.devicePixelRatio || 1;
    if (
      this.image &&
      (this.image.width !== Math.round(size.w * dpr) ||
        this.image.height !== Math.round(size.h * dpr))
    ) {
      this.events.resized();
    }
  }

  private paint(): void {
    const image = this.image;
    if (!image) {
      return;
    }
    this.canvas.width = image.width;
    this.canvas.height = image.height;
    const context = this.canvas.getContext('2d');
    context?.putImageData(new ImageData(image.pixels, image.width, image.height), 0, 0);
    this.canvas.dataset.points = String(image.nPlotted);
  }

  private bind(): void {
    if (this.bound) {
      return;
    }
    this.bound = true;
    this.node.on('plotly_selected', data => this.onSelected(data));
    this.node.on('plotly_deselect', () => {
      this.ownsSelection = false;
      this.events.clear();
    });
    this.node.on('plotly_relayout', data => this.onRelayout(data as Record<string, unknown>));
    this.node.addEventListener('pointerdown', event => {
      // Only presses on the plot area itself (not the mode bar or the axes) can open a sample.
      if (!(event.target instanceof Element) || !event.target.classList.contains('nsewdrag')) {
        return;
      }
      this.press = { x: event.clientX, y: event.clientY };
      window.addEventListener('pointerup', this.onPointerUp, { once: true, capture: true });
    });
    this.node.addEventListener('pointermove', event => void this.onHover(event));
    this.node.addEventListener('pointerleave', () => (this.tooltip.hidden = true));
  }

  private onSelected(data: unknown): void {
    // Plotly also reports a plain click as an empty selection: clicks are handled on pointerup.
    const event = data as
      | { range?: { x: number[]; y: number[] }; lassoPoints?: { x: number[]; y: number[] } }
      | undefined;
    if (event?.range) {
      this.events.select({
        kind: 'box',
        x: [event.range.x[0], event.range.x[1]],
        y: [event.range.y[0], event.range.y[1]]
      });
    } else if (event?.lassoPoints) {
      this.events.select({ kind: 'lasso', x: event.lassoPoints.x, y: event.lassoPoints.y });
    }
  }

  private onRelayout(update: Record<string, unknown>): void {
    if (update['xaxis.autorange'] || update['yaxis.autorange']) {
      this.zoom = null;
      this.events.resized();
      return;
    }
    const x0 = update['xaxis.range[0]'];
    const y0 = update['yaxis.range[0]'];
    if (typeof x0 === 'number' || typeof y0 === 'number') {
      const x = this.node._fullLayout?.xaxis?.range;
      const y = this.node._fullLayout?.yaxis?.range;
      if (x && y) {
        this.zoom = { x: [x[0], x[1]], y: [y[0], y[1]] };
        this.events.resized();
      }
    }
  }

  private readonly onPointerUp = (event: PointerEvent): void => {
    const press = this.press;
    this.press = null;
    if (!press || Math.hypot(event.clientX - press.x, event.clientY - press.y) > CLICK_SLOP_PX) {
      return;
    }
    const query = this.queryAt(event.clientX, event.clientY);
    if (query) {
      void this.events.nearest(query).then(index => {
        if (index >= 0) {
          this.events.open(index);
        }
      });
    }
  };

  private async onHover(event: PointerEvent): Promise<void> {
    if (this.press || this.hoverBusy) {
      return;
    }
    const query = this.queryAt(event.clientX, event.clientY);
    if (!query) {
      this.tooltip.hidden = true;
      return;
    }
    this.hoverBusy = true;
    try {
      const index = await this.events.nearest(query);
      if (index < 0) {
        this.tooltip.hidden = true;
        return;
      }
      this.tooltip.textContent = await this.events.describe(index);
      const box = this.node.getBoundingClientRect();
      this.tooltip.style.left = `${event.clientX - box.left + 12}px`;
      this.tooltip.style.top = `${event.clientY - box.top + 12}px`;
      this.tooltip.hidden = false;
    } finally {
      this.hoverBusy = false;
    }
  }

  /** A screen position as a query in data units, or null outside the plot area. */
  private queryAt(clientX: number, clientY: number): NearestQuery | null {
    const layout = this.node._fullLayout;
    const size = layout?._size;
    const xaxis = layout?.xaxis as PlotlyAxis | undefined;
    const yaxis = layout?.yaxis as PlotlyAxis | undefined;
    if (!size || !xaxis || !yaxis) {
      return null;
    }
    const box = this.node.getBoundingClientRect();
    const px = clientX - box.left - size.l;
    const py = clientY - box.top - size.t;
    if (px < 0 || py < 0 || px > size.w || py > size.h) {
      return null;
    }
    const [x0, x1] = xaxis.range;
    const [y0, y1] = yaxis.range;
    return {
      x: xaxis.p2d(px),
      y: yaxis.p2d(py),
      xPerPixel: Math.abs(x1 - x0) / size.w,
      yPerPixel: Math.abs(y1 - y0) / size.h,
      radiusPx: HIT_RADIUS_PX
    };
  }

  dispose(): void {
    window.removeEventListener('pointerup', this.onPointerUp, { capture: true });
    super.dispose();
  }
}

/** The scatter's axes and title; an empty trace, since the points are an image under them. */
function frameFigure(
  ranges: { x: [number, number]; y: [number, number] },
  colors: ThemeColors,
  height: number,
  xTitle: string,
  plane: ScatterPlane
): ChartFigure {
  const layout = baseLayout(colors, height);
  const low = Math.max(ranges.x[0], ranges.y[0]);
  const high = Math.min(ranges.x[1], ranges.y[1]);
  const diagonal =
    plane.diagonal && low < high
      ? [
          {
            type: 'line',
            x0: low,
            y0: low,
            x1: high,
            y1: high,
            line: { color: colors.muted, width: 1, dash: 'dash' }
          }
        ]
      : [];
  return {
    data: [
      { type: 'scatter', mode: 'markers', x: [], y: [], hoverinfo: 'skip', showlegend: false }
    ],
    layout: {
      ...layout,
      // Transparent, so the image under plotly's layers shows through (the widget's own
      // background, from the theme, is behind it).
      paper_bgcolor: 'rgba(0,0,0,0)',
      plot_bgcolor: 'rgba(0,0,0,0)',
      margin: MARGIN,
      shapes: diagonal,
      title: { text: plane.title, font: { size: 12 } },
      xaxis: {
        ...axisStyle(colors),
        automargin: false,
        range: ranges.x,
        title: { text: xTitle }
      },
      yaxis: {
        ...axisStyle(colors),
        automargin: false,
        range: ranges.y,
        title: { text: plane.yTitle }
      }
    }
  };
}

/**
 * Up to this many points an exported scatter draws each one as an SVG circle (editable, exact at
 * any zoom); above it, one image at the export's dpi, as matplotlib's rasterized=True does, so a
 * 100,000-sample figure stays a small file that viewers open at once.
 */
export const VECTOR_POINTS_LIMIT = 5000;

/** The plotted samples as SVG circles over the plot area, coloured as the worker colours them. */
function pointsVector(
  raster: RasterResult,
  area: { w: number; h: number },
  radius: number,
  colors: ThemeColors
): SVGElement {
  const points = raster.points!;
  const layer = document.createElementNS(SVG_NS, 'g');
  layer.setAttribute('class', 'intershap-points');
  const [x0, x1] = raster.xRange;
  const [y0, y1] = raster.yRange;
  for (let k = 0; k < points.x.length; k++) {
    if (points.x[k] < x0 || points.x[k] > x1 || points.y[k] < y0 || points.y[k] > y1) {
      continue; // zoomed out of view on screen, so out of the figure too
    }
    const circle = document.createElementNS(SVG_NS, 'circle');
    const group = points.group[k];
    setAttributes(circle, {
      cx: ((points.x[k] - x0) / (x1 - x0)) * area.w,
      cy: area.h - ((points.y[k] - y0) / (y1 - y0)) * area.h,
      r: radius,
      fill: group >= 0 ? OKABE_ITO[group % OKABE_ITO.length] : colors.muted
    });
    if (points.faded[k]) {
      circle.setAttribute('fill-opacity', '0.25');
    }
    layer.append(circle);
  }
  layer.setAttribute('data-points', String(layer.childElementCount));
  return layer;
}

/** The worker's points image as an SVG <image>, stretched over the plot area. */
function pointsImage(raster: RasterResult, area: { w: number; h: number }): SVGElement {
  const canvas = document.createElement('canvas');
  canvas.width = raster.width;
  canvas.height = raster.height;
  canvas
    .getContext('2d')
    ?.putImageData(new ImageData(raster.pixels, raster.width, raster.height), 0, 0);
  const image = document.createElementNS(SVG_NS, 'image');
  setAttributes(image, {
    x: 0,
    y: 0,
    width: area.w,
    height: area.h,
    preserveAspectRatio: 'none',
    href: canvas.toDataURL('image/png'),
    'data-points': raster.nPlotted
  });
  return image;
}
