/**
 * The global view: the InterSHAP score with its interval, and the mean Φ matrix as an annotated
 * heatmap. It only draws what the compute layer aggregated.
 */
import { Widget } from '@lumino/widgets';
import { config } from '../config';
import type { ModelState } from '../compute/session';
import { formatNumber } from './format';
import { loadPlotly, plotlyText, themeColors } from './plotly';

export class GlobalView extends Widget {
  private readonly scoreText: HTMLElement;
  private readonly details: HTMLElement;
  private readonly heatmap: HTMLDivElement;

  constructor() {
    super();
    this.addClass('intershap-global');
    const header = document.createElement('div');
    header.className = 'intershap-global-header';
    const label = document.createElement('span');
    label.className = 'intershap-score-label';
    label.textContent = 'Global InterSHAP';
    this.scoreText = document.createElement('span');
    this.scoreText.className = 'intershap-global-score';
    this.scoreText.textContent = '…';
    this.details = document.createElement('div');
    this.details.className = 'intershap-global-details';
    header.append(label, this.scoreText);
    this.heatmap = document.createElement('div');
    this.heatmap.className = 'intershap-heatmap';
    this.node.append(header, this.details, this.heatmap);
  }

  async render(model: ModelState): Promise<void> {
    const agg = model.aggregate;
    if (!agg) {
      return;
    }
    this.scoreText.textContent = formatNumber(agg.globalIntershap);
    this.scoreText.dataset.value = String(agg.globalIntershap);
    const interval = agg.interval
      ? `95% bootstrap interval [${formatNumber(agg.interval.low)}, ${formatNumber(agg.interval.high)}] · `
      : '';
    this.details.textContent =
      `${interval}mean local score ${formatNumber(agg.localMean)} · ` +
      `${agg.n} samples` +
      (agg.nUndefined > 0 ? ` · ${agg.nUndefined} with undefined local score` : '');
    await this.drawHeatmap(model.dataset.names, agg.meanMatrix);
  }

  private async drawHeatmap(names: string[], matrix: Float64Array): Promise<void> {
    const Plotly = await loadPlotly();
    const M = names.length;
    const labels = names.map(plotlyText);
    const z: number[][] = [];
    let maxAbs = 0;
    for (let i = 0; i < M; i++) {
      z.push(Array.from(matrix.subarray(i * M, (i + 1) * M)));
      for (const v of z[i]) {
        maxAbs = Math.max(maxAbs, Math.abs(v));
      }
    }
    const colors = themeColors(this.node);
    const annotations = z.flatMap((row, i) =>
      row.map((v, j) => ({
        x: labels[j],
        y: labels[i],
        text: formatNumber(v),
        showarrow: false,
        font: { color: Math.abs(v) > 0.6 * maxAbs ? '#fff' : '#111' }
      }))
    );
    await Plotly.react(
      this.heatmap,
      [
        {
          type: 'heatmap',
          z,
          x: labels,
          y: labels,
          zmin: -maxAbs || -1,
          zmax: maxAbs || 1,
          colorscale: config.colorscale,
          reversescale: true,
          hovertemplate: '%{y} × %{x}: %{z:.4f}<extra></extra>'
        }
      ],
      {
        title: { text: 'Mean Φ (diagonal: main effects; off-diagonal: half pair interactions)' },
        annotations,
        height: 360,
        margin: { l: 90, r: 20, t: 40, b: 60 },
        yaxis: { autorange: 'reversed' },
        paper_bgcolor: colors.paper,
        plot_bgcolor: colors.paper,
        font: { color: colors.font, size: 12 }
      },
      { displaylogo: false, responsive: true }
    );
  }
}
