/**
 * The paper's split of behaviour as one stacked bar: each modality's share of Σ|Φ̄| and the share
 * of interactions (they sum to 1, SPEC §3). With a selection, its bar sits under the bar of all
 * samples, so the two can be compared.
 */
import { formatNumber } from '../format';
import { axisStyle, baseLayout, INTERACTION_COLOR, MODALITY_COLORS, plotlyText } from '../plotly';
import type { ThemeColors } from '../plotly';
import { Chart } from './chart';

export interface SplitRow {
  /** Shown on the axis, e.g. "all samples" or "selection". */
  label: string;
  contributions: ArrayLike<number>;
  interaction: number;
}

export class SplitBar extends Chart {
  async draw(names: string[], rows: SplitRow[], colors: ThemeColors): Promise<void> {
    this.remember(c => this.draw(names, rows, c));
    const y = rows.map(row => plotlyText(row.label));
    const segment = (name: string, color: string, shares: number[]) => ({
      type: 'bar',
      orientation: 'h',
      name: plotlyText(name),
      x: shares.map(share => (Number.isFinite(share) ? share : 0)),
      y,
      marker: { color, line: { color: colors.paper, width: 1 } },
      text: shares.map(share => (Number.isFinite(share) ? `${(100 * share).toFixed(0)}%` : '')),
      textposition: 'inside',
      insidetextanchor: 'middle',
      textfont: { color: '#111111' },
      customdata: shares.map(share => formatNumber(share)),
      hovertemplate: `${plotlyText(name)}: %{customdata}<extra>%{y}</extra>`
    });
    const data = [
      ...names.map((name, m) =>
        segment(
          `${name} alone`,
          MODALITY_COLORS[m % MODALITY_COLORS.length],
          rows.map(row => row.contributions[m])
        )
      ),
      segment(
        'interactions',
        INTERACTION_COLOR,
        rows.map(row => row.interaction)
      )
    ];
    const layout = baseLayout(colors, 64 + 34 * rows.length);
    await this.react(data, {
      ...layout,
      barmode: 'stack',
      title: {
        text: 'Share of Σ|Φ̄|: each modality alone, and the interactions',
        font: { size: 12 }
      },
      margin: { l: 90, r: 24, t: 30, b: 20 },
      legend: { orientation: 'h', traceorder: 'normal', y: -0.3, x: 0, font: { size: 10 } },
      uniformtext: { mode: 'hide', minsize: 9 },
      xaxis: { ...axisStyle(colors), range: [0, 1], tickformat: '.0%', fixedrange: true },
      yaxis: { ...axisStyle(colors), autorange: 'reversed', fixedrange: true }
    });
  }
}
