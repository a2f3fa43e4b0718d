/**
 * A plotly chart in a div: draws with Plotly.react (which updates in place instead of rebuilding),
 * and follows its container's width, which changes when a tab is shown or the notebook resized.
 */
import type * as PlotlyType from 'plotly.js';
import { loadPlotly, PLOT_CONFIG } from '../plotly';
import type { PlotlyElement, ThemeColors } from '../plotly';

/** A figure as plotly takes it, for an export. */
export interface ChartFigure {
  data: unknown[];
  layout: Record<string, unknown>;
}

export class Chart {
  readonly node: PlotlyElement;
  private drawn = false;
  private width = 0;
  private readonly resizeObserver: ResizeObserver;
  /** The last draw, with its colours left open, so an export can draw the same in other colours. */
  private redraw: ((colors: ThemeColors) => Promise<void>) | null = null;
  /** Set only while `figure` runs a redraw: react hands the figure here instead of drawing. */
  private sink: ((figure: ChartFigure) => void) | null = null;

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

  /** True while a draw runs for an export: a chart may then add what only a file needs. */
  protected get exporting(): boolean {
    return this.sink !== null;
  }

  /** Each subclass's draw calls this first, with itself bound to all but its colours. */
  protected remember(redraw: (colors: ThemeColors) => Promise<void>): void {
    if (!this.sink) {
      this.redraw = redraw;
    }
  }

  /**
   * The figure this chart shows, drawn with `colors` (an export's theme), without touching the
   * chart on screen. Null for a chart never drawn. The draw hands its figure to `react`
   * synchronously, so no draw for the screen can run in between.
   */
  async figure(colors: ThemeColors): Promise<ChartFigure | null> {
    if (!this.redraw) {
      return null;
    }
    let captured: ChartFigure | null = null;
    this.sink = figure => (captured = figure);
    const done = this.redraw(colors);
    this.sink = null;
    await done;
    return captured;
  }

  /** `layout` may use keys newer than the plotly typings know (selections, uniformtext). */
  async react(
    data: unknown[],
    layout: Partial<PlotlyType.Layout> & Record<string, unknown>
  ): Promise<void> {
    if (this.sink) {
      this.sink({ data, layout: layout as Record<string, unknown> });
      return;
    }
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
