/** A Φ matrix as an annotated heatmap, modality names on both axes (global mean and one sample). */
import { config } from '../../config';
import { formatNumber } from '../format';
import { axisStyle, baseLayout, divergingScale, plotlyText } from '../plotly';
import type { ThemeColors } from '../plotly';
import { Chart } from './chart';

/**
 * How the cell values are written: as plotly annotations (one SVG group per cell, what an exported
 * figure keeps), or as the heatmap's own cell text, which plotly draws 2–3 times faster. The
 * global view uses the fast form while values stream in and redraws with annotations at the end.
 */
export type CellLabels = 'annotations' | 'fast';

export class MatrixHeatmap extends Chart {
  async draw(
    names: string[],
    matrix: ArrayLike<number>,
    title: string,
    colors: ThemeColors,
    height = 320,
    cellLabels: CellLabels = 'annotations',
    /** The colour scale's end, |value|; by default the matrix's own largest |value|. */
    scaleMax?: number
  ): Promise<void> {
    // An export always writes the cell values as text annotations.
    this.remember(c => this.draw(names, matrix, title, c, height, 'annotations', scaleMax));
    const M = names.length;
    const labels = names.map(plotlyText);
    const z: number[][] = [];
    let maxAbs = 0;
    for (let i = 0; i < M; i++) {
      const row = Array.from({ length: M }, (_, j) => matrix[i * M + j]);
      z.push(row);
      for (const v of row) {
        maxAbs = Number.isFinite(v) ? Math.max(maxAbs, Math.abs(v)) : maxAbs;
      }
    }
    // Heatmaps side by side share one scale, so a colour means the same value in each.
    maxAbs = scaleMax !== undefined && scaleMax > 0 ? scaleMax : maxAbs;
    const text = z.map(row => row.map(v => formatNumber(v)));
    // The scale's ends are dark and its middle near white, whatever the theme: pick the text
    // colour from the cell, not from the theme.
    const annotations =
      cellLabels === 'annotations'
        ? z.flatMap((row, i) =>
            row.map((v, j) => ({
              x: labels[j],
              y: labels[i],
              text: text[i][j],
              showarrow: false,
              font: { color: Math.abs(v) > 0.55 * maxAbs ? '#ffffff' : '#111111' }
            }))
          )
        : [];
    const layout = baseLayout(colors, height);
    const scale = divergingScale(config.colorscale);
    // plotly draws heatmap cells as one embedded image; a file gets them as vector rectangles
    // (the image is left out of the exported SVG, see export/svg.ts).
    const shapes = this.exporting
      ? z.flatMap((row, i) =>
          row.map((v, j) => ({
            type: 'rect' as const,
            xref: 'x' as const,
            yref: 'y' as const,
            x0: j - 0.5 + 0.02,
            x1: j + 0.5 - 0.02,
            y0: i - 0.5 + 0.02,
            y1: i + 0.5 - 0.02,
            line: { width: 0 },
            layer: 'below' as const,
            fillcolor: Number.isFinite(v)
              ? scaleColor(scale, (v / (maxAbs || 1) + 1) / 2)
              : colors.grid
          }))
        )
      : [];
    await this.react(
      [
        {
          type: 'heatmap',
          z,
          x: labels,
          y: labels,
          zmin: -maxAbs || -1,
          zmax: maxAbs || 1,
          colorscale: divergingScale(config.colorscale),
          colorbar: { thickness: 10, outlinewidth: 0, tickfont: { color: colors.font } },
          // Plotly picks a readable text colour per cell for its own cell text.
          text: cellLabels === 'fast' ? text : undefined,
          texttemplate: cellLabels === 'fast' ? '%{text}' : undefined,
          hovertemplate: '%{y} × %{x}: %{z:.4f}<extra></extra>',
          xgap: 1,
          ygap: 1
        }
      ],
      {
        ...layout,
        title: { text: plotlyText(title), font: { size: 12 } },
        annotations,
        shapes,
        margin: { l: 90, r: 10, t: 36, b: 60 },
        xaxis: { ...axisStyle(colors), type: 'category', showgrid: false },
        yaxis: { ...axisStyle(colors), type: 'category', autorange: 'reversed', showgrid: false }
      }
    );
  }
}

/** The colour at t ∈ [0, 1] of a scale of evenly spaced '#rrggbb' stops, as plotly interpolates it. */
export function scaleColor(scale: Array<[number, string]>, t: number): string {
  const clamped = Math.min(1, Math.max(0, t));
  const k = Math.min(scale.length - 2, Math.floor(clamped * (scale.length - 1)));
  const [t0, c0] = scale[k];
  const [t1, c1] = scale[k + 1];
  const f = (clamped - t0) / (t1 - t0 || 1);
  const channel = (c: string, at: number) => parseInt(c.slice(1 + 2 * at, 3 + 2 * at), 16);
  const mixed = [0, 1, 2].map(at =>
    Math.round(channel(c0, at) + (channel(c1, at) - channel(c0, at)) * f)
      .toString(16)
      .padStart(2, '0')
  );
  return `#${mixed.join('')}`;
}
