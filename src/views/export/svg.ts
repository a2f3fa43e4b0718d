/**
 * One SVG document from several charts: each chart drawn by plotly as SVG at its panel's size,
 * placed in a grid under the view's header lines, with panel letters. Text stays text; names go
 * in as text nodes, never as markup, and the result is scrubbed of anything that could run.
 */
import { loadPlotly } from '../plotly';
import type { ThemeColors } from '../plotly';
import type { ChartFigure } from '../charts/chart';
import {
  EXPORT_FONT_FAMILY,
  exportColors,
  fontScale,
  panelLetter,
  PX_PER_MM,
  PX_PER_PT,
  restyleFigure
} from './style';
import type { ExportStyle } from './style';

export const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * Something drawn into a panel's plot area under plotly's axes (the scatter's points). The plot
 * area is read from the figure's margins, so its axes must not grow them (automargin off).
 */
export interface PanelOverlay {
  draw(area: { w: number; h: number }): Promise<SVGElement>;
}

/** One chart of a view, as an export sees it. */
export interface ExportPanel {
  /** For the menu and for the file name of a single chart. */
  name: string;
  title: string;
  /** Its height on screen: the export keeps the proportions. */
  screenHeightPx: number;
  figure(colors: ThemeColors): Promise<ChartFigure | null>;
  overlay?: PanelOverlay;
}

/** What an exported view holds: header lines (the score as shown) and its charts. */
export interface ExportContent {
  lines: string[];
  panels: ExportPanel[];
}

/** Width at or above which a figure's panels sit in two columns (a double-column figure). */
const TWO_COLUMNS_FROM_MM = 150;
/** Screen charts are about this wide; a narrower panel is made proportionally shorter. */
const SCREEN_PANEL_WIDTH_PX = 640;

export async function composeSvg(
  content: ExportContent,
  style: ExportStyle,
  screen: ThemeColors,
  letters: boolean
): Promise<SVGSVGElement> {
  const colors = exportColors(style, screen);
  const figures: Array<{ panel: ExportPanel; figure: ChartFigure }> = [];
  for (const panel of content.panels) {
    const figure = await panel.figure(colors);
    if (figure) {
      figures.push({ panel, figure });
    }
  }
  if (figures.length === 0) {
    throw new Error('export: nothing is drawn in this view yet; wait for values to arrive');
  }
  const widthPx = style.widthMm * PX_PER_MM;
  const columns = style.widthMm >= TWO_COLUMNS_FROM_MM && figures.length > 1 ? 2 : 1;
  const gap = 4 * PX_PER_MM;
  const panelWidth = (widthPx - gap * (columns - 1)) / columns;
  const lineHeight = style.fontPt * PX_PER_PT * 1.35;
  // Header lines broken at the page width (about 0.6 em per character of DejaVu Sans).
  const lines = content.lines.flatMap(line =>
    wrapText(line, widthPx / (style.fontPt * PX_PER_PT * 0.6))
  );
  const headerHeight = lines.length ? (lines.length + 0.5) * lineHeight : 0;
  const shrink = Math.min(1, Math.max(0.55, panelWidth / SCREEN_PANEL_WIDTH_PX));
  let heights = figures.map(({ panel }) => panel.screenHeightPx * shrink * fontScale(style) ** 0.5);
  const rows = Math.ceil(figures.length / columns);
  const rowHeights = (hs: number[]) =>
    Array.from({ length: rows }, (_, r) => Math.max(...hs.slice(r * columns, (r + 1) * columns)));
  if (style.heightMm !== null) {
    // A fixed page height: every panel scaled by one factor so the rows fill what the header leaves.
    const available = style.heightMm * PX_PER_MM - headerHeight - gap * (rows - 1);
    const total = rowHeights(heights).reduce((a, b) => a + b, 0);
    if (available < 40) {
      throw new Error(
        `height_mm: expected room for the charts under the header (at least ${Math.ceil(
          (headerHeight + 40) / PX_PER_MM
        )} mm at this font size), got ${style.heightMm}`
      );
    }
    heights = heights.map(h => (h * available) / total);
  }
  const rowTops: number[] = [];
  let y = headerHeight;
  for (const h of rowHeights(heights)) {
    rowTops.push(y);
    y += h + gap;
  }
  const heightPx = style.heightMm !== null ? style.heightMm * PX_PER_MM : y - gap;

  const svg = document.createElementNS(SVG_NS, 'svg');
  const heightMm = heightPx / PX_PER_MM;
  svg.setAttribute('xmlns', SVG_NS);
  svg.setAttribute('width', `${round(style.widthMm)}mm`);
  svg.setAttribute('height', `${round(heightMm)}mm`);
  svg.setAttribute('viewBox', `0 0 ${round(widthPx)} ${round(heightPx)}`);
  svg.setAttribute('font-family', EXPORT_FONT_FAMILY);
  const background = document.createElementNS(SVG_NS, 'rect');
  setAttributes(background, { x: 0, y: 0, width: widthPx, height: heightPx, fill: colors.paper });
  svg.append(background);
  lines.forEach((line, k) => {
    svg.append(
      textElement(line, 0, (k + 1) * lineHeight - lineHeight * 0.25, style, colors, k === 0)
    );
  });

  const Plotly = await loadPlotly();
  for (let k = 0; k < figures.length; k++) {
    const { panel, figure } = figures[k];
    const x = (k % columns) * (panelWidth + gap);
    const top = rowTops[Math.floor(k / columns)];
    const w = Math.round(panelWidth);
    const h = Math.round(heights[k]);
    const styled = restyleFigure(withTitle(figure, panel.title, letters), style, w, h);
    const url = await Plotly.toImage(styled as never, { format: 'svg', width: w, height: h });
    const panelSvg = parseSvg(url);
    // A heatmap's cells come as vector shapes in the export (charts/heatmap.ts): drop plotly's
    // raster copy of them.
    for (const cells of panelSvg.querySelectorAll('g.hm image')) {
      cells.remove();
    }
    setAttributes(panelSvg, { x, y: top, width: w, height: h });
    if (panel.overlay) {
      const area = plotArea(styled.layout, w, h);
      const layer = await panel.overlay.draw({ w: area.w, h: area.h });
      layer.setAttribute('transform', `translate(${round(area.l)},${round(area.t)})`);
      // Under the axes and the grid, above plotly's background.
      const axes = panelSvg.querySelector('.cartesianlayer');
      if (axes?.parentNode) {
        axes.parentNode.insertBefore(layer, axes.nextSibling);
      } else {
        panelSvg.append(layer);
      }
    }
    svg.append(panelSvg);
    if (letters && figures.length > 1) {
      svg.append(
        textElement(panelLetter(k), x, top + style.fontPt * PX_PER_PT, style, colors, true)
      );
    }
  }
  scrub(svg);
  return svg;
}

function plotArea(
  layout: Record<string, unknown>,
  w: number,
  h: number
): { l: number; t: number; w: number; h: number } {
  const margin = (layout.margin ?? {}) as Record<string, number>;
  const [l, r, t, b] = [margin.l ?? 80, margin.r ?? 80, margin.t ?? 100, margin.b ?? 80];
  return { l, t, w: Math.max(1, w - l - r), h: Math.max(1, h - t - b) };
}

/**
 * The panel's short title in place of the chart's own (which may hold on-screen hints such as
 * "brush to select"), left-aligned after the panel letter.
 */
function withTitle(figure: ChartFigure, title: string, letters: boolean): ChartFigure {
  const layout = figure.layout;
  const margin = { ...((layout.margin as Record<string, number> | undefined) ?? {}) };
  margin.t = Math.max(margin.t ?? 0, 34);
  return {
    data: figure.data,
    layout: {
      ...layout,
      margin,
      title: {
        text: title,
        x: 0,
        xref: 'container',
        xanchor: 'left',
        y: 1,
        yref: 'container',
        yanchor: 'top',
        pad: { l: letters ? 16 : 0, t: 2 },
        font: { size: 11 }
      }
    }
  };
}

/** A header line broken at spaces into lines of at most about `maxChars` characters. */
export function wrapText(text: string, maxChars: number): string[] {
  const lines: string[] = [];
  let current = '';
  for (const word of text.split(' ')) {
    if (current && current.length + 1 + word.length > maxChars) {
      lines.push(current);
      current = word;
    } else {
      current = current ? `${current} ${word}` : word;
    }
  }
  return current ? [...lines, current] : lines;
}

/** Plotly's SVG data URL → an <svg> element of this document. */
function parseSvg(url: string): SVGSVGElement {
  const comma = url.indexOf(',');
  const text = decodeURIComponent(url.slice(comma + 1));
  const parsed = new DOMParser().parseFromString(text, 'image/svg+xml');
  const root = parsed.documentElement;
  if (root.nodeName !== 'svg') {
    throw new Error('export: plotly did not return an SVG image');
  }
  return document.importNode(root, true) as unknown as SVGSVGElement;
}

function textElement(
  text: string,
  x: number,
  y: number,
  style: ExportStyle,
  colors: ThemeColors,
  bold: boolean
): SVGTextElement {
  const node = document.createElementNS(SVG_NS, 'text');
  setAttributes(node, {
    x,
    y,
    'font-family': EXPORT_FONT_FAMILY,
    'font-size': style.fontPt * PX_PER_PT,
    fill: colors.font
  });
  if (bold) {
    node.setAttribute('font-weight', 'bold');
  }
  // textContent: a name is shown as written, whatever characters it holds.
  node.textContent = text;
  return node;
}

/**
 * Removes what could run or fetch when the file is opened: scripts, foreign HTML, event
 * attributes, and links other than in-document references and embedded images.
 */
export function scrub(root: Element): void {
  for (const node of [...root.querySelectorAll('script, foreignObject, iframe, object, embed')]) {
    node.remove();
  }
  for (const node of [root, ...root.querySelectorAll('*')]) {
    for (const attribute of [...node.attributes]) {
      const name = attribute.name.toLowerCase();
      const value = attribute.value.trim().toLowerCase();
      const isLink = name === 'href' || name.endsWith(':href');
      if (
        name.startsWith('on') ||
        (isLink && !value.startsWith('#') && !value.startsWith('data:image/png'))
      ) {
        node.removeAttribute(attribute.name);
      }
    }
  }
}

export function setAttributes(node: Element, attributes: Record<string, string | number>): void {
  for (const [name, value] of Object.entries(attributes)) {
    node.setAttribute(name, typeof value === 'number' ? String(round(value)) : value);
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
