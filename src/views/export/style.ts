/**
 * What an exported figure looks like, independent of the page: its size in millimetres, its font
 * size in points, and the "paper" theme (white background, black text), applied to a copy of a
 * chart's plotly figure so the chart on screen is never touched. No DOM: runs in unit tests.
 */
import type { ThemeColors } from '../plotly';

export type ExportFormat = 'svg' | 'pdf' | 'png';
export type ExportTheme = 'paper' | 'screen';

/** Journal column widths (Nature, Science, Cell and most IEEE/ACM templates are within 1 mm). */
export const SINGLE_COLUMN_MM = 88;
export const DOUBLE_COLUMN_MM = 180;

/** The font every exported figure uses; shipped in the extension and embedded in PDFs. */
export const EXPORT_FONT_FAMILY = 'DejaVu Sans';
const FONT_STACK = `${EXPORT_FONT_FAMILY}, Verdana, Arial, sans-serif`;

/** CSS pixels per millimetre and per point: what plotly and SVG measure in. */
export const PX_PER_MM = 96 / 25.4;
export const PX_PER_PT = 96 / 72;

/** The charts' own base font size (baseLayout), which an export scales to `fontPt`. */
const SCREEN_FONT_PX = 11;

export interface ExportStyle {
  widthMm: number;
  /** Null: as tall as the panels need at this width. */
  heightMm: number | null;
  fontPt: number;
  dpi: number;
  theme: ExportTheme;
}

export const DEFAULT_STYLE: ExportStyle = {
  widthMm: SINGLE_COLUMN_MM,
  heightMm: null,
  fontPt: 8,
  dpi: 600,
  theme: 'paper'
};

/** The paper theme: black on white, light grid lines that survive greyscale printing. */
export const PAPER_COLORS: ThemeColors = {
  font: '#000000',
  muted: '#404040',
  grid: '#d0d0d0',
  paper: '#ffffff'
};

export interface PlotlyFigure {
  data: unknown[];
  layout: Record<string, unknown>;
}

/**
 * A chart's figure (drawn with the export theme's colours) in the export style: every font scaled
 * from the screen size to `fontPt` and set to the shipped font, margins grown with the text, and
 * the figure sized in pixels for the panel it fills. Returns a copy.
 */
export function restyleFigure(
  figure: PlotlyFigure,
  style: ExportStyle,
  widthPx: number,
  heightPx: number
): PlotlyFigure {
  const scale = fontScale(style);
  const restyle = (value: unknown, key: string, parentKey: string): unknown => {
    if (typeof value === 'number') {
      // Font sizes live in `size` inside any *font object (font, tickfont, textfont, title.font).
      return key === 'size' && /font$/i.test(parentKey) ? value * scale : value;
    }
    if (Array.isArray(value)) {
      return value.map(item => restyle(item, key, parentKey));
    }
    if (value && typeof value === 'object') {
      const copy: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        copy[k] = restyle(v, k, key);
      }
      if (/font$/i.test(key)) {
        copy.family = FONT_STACK;
      }
      return copy;
    }
    return value;
  };
  const layout = restyle(figure.layout, 'layout', '') as Record<string, unknown>;
  const font = (layout.font as Record<string, unknown> | undefined) ?? {};
  layout.font = {
    ...font,
    family: FONT_STACK,
    size: typeof font.size === 'number' ? font.size : SCREEN_FONT_PX * scale
  };
  layout.width = widthPx;
  layout.height = heightPx;
  layout.autosize = false;
  // Margins were chosen for 11 px text: grow them with the text so labels are not clipped.
  const margin = layout.margin as Record<string, unknown> | undefined;
  if (margin) {
    layout.margin = Object.fromEntries(
      Object.entries(margin).map(([side, px]) => [side, typeof px === 'number' ? px * scale : px])
    );
  }
  delete layout.selections;
  return { data: restyle(figure.data, 'data', '') as unknown[], layout };
}

/** How much larger than on screen the export's text is. */
export function fontScale(style: ExportStyle): number {
  return (style.fontPt * PX_PER_PT) / SCREEN_FONT_PX;
}

/** The colours a figure is drawn with in this theme (`screen`: the page's own). */
export function exportColors(style: ExportStyle, screen: ThemeColors): ThemeColors {
  return style.theme === 'paper' ? PAPER_COLORS : screen;
}

/** The file's pixel size for a PNG: the page size at the requested resolution. */
export function pixelSize(mm: number, dpi: number): number {
  return Math.round((mm / 25.4) * dpi);
}

/** 'a', 'b', … 'z', 'aa': the panel letters of a multi-panel figure. */
export function panelLetter(k: number): string {
  let letter = '';
  let n = k;
  do {
    letter = String.fromCharCode(97 + (n % 26)) + letter;
    n = Math.floor(n / 26) - 1;
  } while (n >= 0);
  return letter;
}
