/**
 * The distribution of local scores, binned in the worker. Brushing a range of scores (or clicking
 * a bar) selects the samples whose local score lies in it; the selection is overlaid on all samples.
 */
import type { LocalHistogram } from '../../compute/types';
import { axisStyle, baseLayout, INTERACTION_COLOR } from '../plotly';
import type { ThemeColors } from '../plotly';
import { Chart } from './chart';

export interface HistogramEvents {
  /** The user brushed (or clicked) local scores in [low, high]. */
  selectRange(low: number, high: number): void;
  clear(): void;
}

export class HistogramChart extends Chart {
  private bound = false;
  private binWidth = 1;
  private edges: Float64Array = new Float64Array([0, 1]);
  /** True while the current selection is the one brushed here, so its outline is kept. */
  ownsSelection = false;

  constructor(private readonly events: HistogramEvents) {
    super('intershap-histogram', true);
  }

  async draw(hist: LocalHistogram, colors: ThemeColors, height: number): Promise<void> {
    this.remember(c => this.draw(hist, c, height));
    const bins = hist.all.length;
    this.binWidth = 1 / bins;
    this.edges = hist.edges;
    const centers = Array.from({ length: bins }, (_, b) => (hist.edges[b] + hist.edges[b + 1]) / 2);
    const bar = (name: string, counts: Int32Array, color: string, opacity: number) => ({
      type: 'bar',
      name,
      x: centers,
      y: Array.from(counts),
      width: this.binWidth,
      marker: { color, opacity, line: { width: 0 } },
      // Plotly dims unselected bars itself; the overlay already shows the selection.
      unselected: { marker: { opacity } },
      selected: { marker: { opacity } },
      hovertemplate: `local %{x:.3f} ± ${(this.binWidth / 2).toFixed(3)}: %{y} samples<extra>${name}</extra>`
    });
    const data = [bar('all samples', hist.all, colors.muted, hist.selected ? 0.35 : 0.75)];
    if (hist.selected) {
      data.push(bar('selection', hist.selected, INTERACTION_COLOR, 0.95));
    }
    const layout = baseLayout(colors, height);
    const previous = (this.node as unknown as { layout?: { selections?: unknown[] } }).layout;
    await this.react(data, {
      ...layout,
      barmode: 'overlay',
      bargap: 0,
      dragmode: 'select',
      selectdirection: 'h',
      showlegend: false,
      selections: this.ownsSelection ? (previous?.selections ?? []) : [],
      title: {
        text:
          'Local InterSHAP of each sample — brush to select' +
          (hist.nUndefined > 0 ? ` (${hist.nUndefined} undefined, not shown)` : ''),
        font: { size: 12 }
      },
      xaxis: { ...axisStyle(colors), range: [0, 1], title: { text: 'local InterSHAP' } },
      yaxis: { ...axisStyle(colors), title: { text: 'samples' }, fixedrange: true }
    });
    this.bind();
  }

  private bind(): void {
    if (this.bound) {
      return;
    }
    this.bound = true;
    this.node.on('plotly_selected', data => {
      const range = (data as { range?: { x?: [number, number] } } | undefined)?.range?.x;
      if (range) {
        this.events.selectRange(range[0], range[1]);
      }
    });
    this.node.on('plotly_deselect', () => this.events.clear());
    this.node.on('plotly_click', data => {
      const bin = (data as { points?: Array<{ pointNumber: number }> }).points?.[0]?.pointNumber;
      if (bin !== undefined && bin + 1 < this.edges.length) {
        this.events.selectRange(this.edges[bin], this.edges[bin + 1]);
      }
    });
  }
}
