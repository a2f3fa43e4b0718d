/** Lazy access to plotly.js, so that the widget's first paint does not wait for the chart library. */
import type * as PlotlyType from 'plotly.js';

export type PlotlyModule = typeof PlotlyType;

/** A chart's root element once plotly has drawn into it (it gains `on` and `_fullLayout`). */
export interface PlotlyElement extends HTMLDivElement {
  on(event: string, handler: (data: unknown) => void): void;
  removeAllListeners?(event: string): void;
  _fullLayout?: {
    _size?: { l: number; t: number; w: number; h: number };
    xaxis?: PlotlyAxis;
    yaxis?: PlotlyAxis;
  };
}

export interface PlotlyAxis {
  range: [number, number];
  /** Pixel (relative to the plot area) to data value, and back. */
  p2d(pixel: number): number;
  d2p(value: number): number;
}

let loading: Promise<PlotlyModule> | null = null;

export function loadPlotly(): Promise<PlotlyModule> {
  loading ??= import('plotly.js-dist-min').then(
    mod => ((mod as { default?: PlotlyModule }).default ?? mod) as PlotlyModule
  );
  return loading;
}

/**
 * Plotly reads a small HTML subset in every label (<b>, <br>, <a href>): user-given names are
 * escaped so that they show literally and can never become markup.
 */
export function plotlyText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export interface ThemeColors {
  font: string;
  /** Secondary text (axis titles, notes). */
  muted: string;
  grid: string;
  paper: string;
}

/** Reads JupyterLab's theme variables so charts follow the light and dark themes. */
export function themeColors(element: Element): ThemeColors {
  const style = getComputedStyle(element);
  const read = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  return {
    font: read('--jp-ui-font-color1', '#222'),
    muted: read('--jp-ui-font-color2', '#666'),
    grid: read('--jp-border-color2', '#ddd'),
    paper: read('--jp-layout-color1', '#fff')
  };
}

/**
 * Okabe & Ito's categorical palette, distinguishable with every common colour-vision deficiency.
 * Black is left out: it vanishes on the dark theme.
 */
export const OKABE_ITO = [
  '#E69F00',
  '#56B4E9',
  '#009E73',
  '#F0E442',
  '#0072B2',
  '#D55E00',
  '#CC79A7'
];

/** Interactions get their own colour in every chart, never one a modality also uses. */
export const INTERACTION_COLOR = '#CC79A7';
export const MODALITY_COLORS = OKABE_ITO.filter(c => c !== INTERACTION_COLOR);

/** ColorBrewer's diverging schemes (colour-blind safe), negative end first. */
const DIVERGING: Record<string, string[]> = {
  RdBu: [
    '#2166ac',
    '#4393c3',
    '#92c5de',
    '#d1e5f0',
    '#f7f7f7',
    '#fddbc7',
    '#f4a582',
    '#d6604d',
    '#b2182b'
  ],
  PuOr: [
    '#542788',
    '#8073ac',
    '#b2abd2',
    '#d8daeb',
    '#f7f7f7',
    '#fee0b6',
    '#fdb863',
    '#e08214',
    '#b35806'
  ],
  PiYG: [
    '#4d9221',
    '#7fbc41',
    '#b8e186',
    '#e6f5d0',
    '#f7f7f7',
    '#fde0ef',
    '#f1b6da',
    '#de77ae',
    '#c51b7d'
  ],
  BrBG: [
    '#01665e',
    '#35978f',
    '#80cdc1',
    '#c7eae5',
    '#f5f5f5',
    '#f6e8c3',
    '#dfc27d',
    '#bf812d',
    '#8c510a'
  ]
};

/**
 * A diverging colour scale as plotly takes it. Explicit stops, because plotly's own 'RdBu' has a
 * grey middle and a blue-purple end that are not ColorBrewer's.
 */
export function divergingScale(name: string): Array<[number, string]> {
  const colors = DIVERGING[name] ?? DIVERGING.RdBu;
  return colors.map((color, k) => [k / (colors.length - 1), color]);
}

/** '#rrggbb' → 0xrrggbb, for the raster drawn in the worker. */
export function hexToNumber(hex: string): number {
  const match = /^#?([0-9a-f]{6})$/i.exec(hex.trim());
  return match ? parseInt(match[1], 16) : 0x808080;
}

/** Any CSS colour → 0xrrggbb, resolved by the browser (theme variables give rgb() or names). */
export function cssColorToNumber(color: string): number {
  const probe = document.createElement('canvas').getContext('2d');
  if (!probe) {
    return 0x808080;
  }
  probe.fillStyle = '#808080';
  probe.fillStyle = color;
  return hexToNumber(String(probe.fillStyle));
}

/** The layout every chart shares: theme colours, transparent background, compact margins. */
export function baseLayout(colors: ThemeColors, height: number): Partial<PlotlyType.Layout> {
  return {
    height,
    autosize: true,
    paper_bgcolor: colors.paper,
    plot_bgcolor: colors.paper,
    font: { color: colors.font, size: 11 },
    margin: { l: 60, r: 16, t: 32, b: 40 },
    hoverlabel: { namelength: -1 }
  };
}

export function axisStyle(colors: ThemeColors): Partial<PlotlyType.LayoutAxis> {
  return {
    gridcolor: colors.grid,
    zerolinecolor: colors.muted,
    linecolor: colors.grid,
    automargin: true
  };
}

export const PLOT_CONFIG: Partial<PlotlyType.Config> = {
  displaylogo: false,
  responsive: false,
  modeBarButtonsToRemove: ['toImage', 'sendDataToCloud']
};
