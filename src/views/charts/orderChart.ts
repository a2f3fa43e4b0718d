/**
 * Interaction mass by order (SPEC §4), Mass_k = Σ_{|T|=k} m(T) for k = 1 … M. The pairwise matrix
 * folds 3-way and higher effects into pairs; this chart shows whether a model relies on them.
 * Bars: the mean size |Mass_k| per sample. Diamonds: the signed mean, which sums over k to the
 * mean v(full) − v(∅) but can cancel when an interaction pushes samples both ways.
 */
import { formatNumber } from '../format';
import { axisStyle, baseLayout, INTERACTION_COLOR, MODALITY_COLORS } from '../plotly';
import type { ThemeColors } from '../plotly';
import { Chart } from './chart';

export interface OrderSeries {
  label: string;
  /** Signed mean mass per order. */
  mass: ArrayLike<number>;
  /** Mean |mass| per order. */
  size: ArrayLike<number>;
}

export function orderName(k: number): string {
  if (k === 1) {
    return 'order 1 (alone)';
  }
  return k === 2 ? 'order 2 (pairs)' : `order ${k}`;
}

export class OrderChart extends Chart {
  async draw(series: OrderSeries[], colors: ThemeColors, height: number): Promise<void> {
    this.remember(c => this.draw(series, c, height));
    const seriesColors = [MODALITY_COLORS[4], INTERACTION_COLOR];
    const data = series.flatMap((s, index) => {
      const x = Array.from({ length: s.mass.length }, (_, k) => orderName(k + 1));
      const size = Array.from(s.size);
      const mass = Array.from(s.mass);
      const color = seriesColors[index % seriesColors.length];
      return [
        {
          type: 'bar',
          name: `${s.label}: mean |mass|`,
          legendgroup: s.label,
          offsetgroup: s.label,
          x,
          y: size,
          marker: { color, opacity: 0.85 },
          customdata: size.map(v => formatNumber(v)),
          hovertemplate: `%{x}: mean |mass| %{customdata}<extra>${s.label}</extra>`
        },
        {
          type: 'scatter',
          mode: 'markers',
          name: `${s.label}: mean mass`,
          legendgroup: s.label,
          offsetgroup: s.label,
          x,
          y: mass,
          marker: { color: colors.font, symbol: 'diamond', size: 8, line: { color, width: 2 } },
          customdata: mass.map(v => formatNumber(v)),
          hovertemplate: `%{x}: mean mass %{customdata}<extra>${s.label}</extra>`
        }
      ];
    });
    const layout = baseLayout(colors, height);
    await this.react(data, {
      ...layout,
      barmode: 'group',
      scattermode: 'group',
      legend: { orientation: 'h', y: -0.25, x: 0, font: { size: 10 } },
      title: {
        text: 'Interaction mass by order: mean |Mass_k| (bars), mean Mass_k (◆)',
        font: { size: 12 }
      },
      margin: { l: 56, r: 16, t: 32, b: 30 },
      xaxis: { ...axisStyle(colors), type: 'category', fixedrange: true },
      yaxis: { ...axisStyle(colors), title: { text: 'mass' }, fixedrange: true }
    });
  }
}
