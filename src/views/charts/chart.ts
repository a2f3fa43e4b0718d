/**
 * A plotly chart in a div: draws with Plotly.react (which updates in place instead of rebuilding),
 * and follows its container's width, which changes when a tab is shown or the notebook resized.
 */
import type * as PlotlyType from 'plotly.js';
import { loadPlotly, PLOT_CONFIG } from '../plotly';
import type { PlotlyElement } from '../plotly';

export class Chart {
  readonly node: PlotlyElement;
  private drawn = false;
  private width = 0;
  private readonly resizeObserver: ResizeObserver;

  /** `modeBar`: plotly's tool buttons (select, lasso, zoom), only where they do something. */
  constructor(
    className: string,
    private readonly modeBar = false
  ) {
    this.node = document.createElement('div') as unknown as PlotlyElement;
    this.node.className = `intershap-chart ${className}`;
    this.resizeObserver = new ResizeObserver(entries => {
      const width = Math.round(entries[entries.length - 1].contentRect.width);
      // A hidden tab measures 0 wide: keep the last layout until it is shown again.
      if (width > 0 && width !== this.width) {
        this.width = width;
        if (this.drawn) {
          void this.resize();
        }
      }
    });
    this.resizeObserver.observe(this.node);
  }

  get isDrawn(): boolean {
    return this.drawn;
  }

  /** `layout` may use keys newer than the plotly typings know (selections, uniformtext). */
  async react(
    data: unknown[],
    layout: Partial<PlotlyType.Layout> & Record<string, unknown>
  ): Promise<void> {
    const Plotly = await loadPlotly();
    const start = performance.now();
    await Plotly.react(this.node, data as PlotlyType.Data[], layout, {
      ...PLOT_CONFIG,
      // Shown on hover only, so the buttons never hide the title.
      displayModeBar: this.modeBar ? 'hover' : false
    });
    this.drawn = true;
    this.afterDraw();
    // Visible in the browser's performance tools (and to the browser tests) as "intershap:<chart>".
    performance.measure(`intershap:${this.node.classList[1] ?? 'chart'}`, { start });
  }

  /** Hook for charts that add their own layers over plotly's (the scatter's image). */
  protected afterDraw(): void {}

  private async resize(): Promise<void> {
    const Plotly = await loadPlotly();
    await Plotly.Plots.resize(this.node);
    this.afterDraw();
  }

  dispose(): void {
    this.resizeObserver.disconnect();
    if (this.drawn) {
      void loadPlotly().then(Plotly => Plotly.purge(this.node));
    }
  }
}
