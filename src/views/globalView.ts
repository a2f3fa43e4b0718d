/**
 * The global view, over all samples or the current selection: the InterSHAP score with its
 * bootstrap interval and the mean local score; the split into modalities and interactions; the mean
 * Φ heatmap; the mass by order (M ≥ 3); the histogram of local scores and the per-sample scatter,
 * both of which select samples. It only draws what the engine computed.
 */
import { Widget } from '@lumino/widgets';
import type { AggregateResult, ColorBy, Region } from '../compute/types';
import type { ModelState } from '../compute/main/session';
import { control, element } from './dom';
import { formatCount, formatInterval, formatNumber } from './format';
import { MatrixHeatmap } from './charts/heatmap';
import { HistogramChart } from './charts/histogram';
import { OrderChart } from './charts/orderChart';
import type { OrderSeries } from './charts/orderChart';
import { ScatterChart } from './charts/scatter';
import { SplitBar } from './charts/splitBar';
import type { SplitRow } from './charts/splitBar';
import { chartPanel } from './export/panels';
import type { ExportContent, ExportPanel } from './export/svg';
import { OKABE_ITO } from './plotly';
import { nextTask, visibleKey } from './schedule';
import type { DashboardView, DrawContext } from './types';

const HISTOGRAM_BINS = 40;
/** OKABE_ITO's colours by name, in its order, for an exported figure's legend line. */
const OKABE_ITO_NAMES = [
  'orange',
  'sky blue',
  'bluish green',
  'yellow',
  'blue',
  'vermillion',
  'reddish purple'
];

export interface GlobalLinks {
  /** Opens one sample in the local view. */
  openSample(index: number): void;
  /** Something only this view knows changed (colouring, zoom): draw again soon. */
  requestDraw(): void;
}

export class GlobalView extends Widget implements DashboardView {
  private readonly scoreLabel: HTMLElement;
  private readonly scoreText: HTMLElement;
  private readonly details: HTMLElement;
  private readonly selectionBox: HTMLElement;
  private readonly selectionSize: HTMLElement;
  private readonly comparison: HTMLElement;
  private readonly colorBySelect: HTMLSelectElement;
  private readonly legend: HTMLElement;
  private readonly split = new SplitBar('intershap-split');
  private readonly heatmap = new MatrixHeatmap('intershap-heatmap');
  private readonly orders = new OrderChart('intershap-orders');
  private readonly histogram: HistogramChart;
  private readonly scatter: ScatterChart;
  private context: DrawContext | null = null;
  /** What each chart last drew, so unchanged charts are skipped while values stream in. */
  private drawnKeys = new Map<string, string>();
  private colorBy: ColorBy | null = null;
  /** The selection this view's charts brushed; any other one drops their brush outlines. */
  private ownSelectionVersion = -1;

  constructor(private readonly links: GlobalLinks) {
    super();
    this.addClass('intershap-global');
    this.title.label = 'Global';

    const header = element('div', 'intershap-global-header');
    this.scoreLabel = element('span', 'intershap-score-label', 'Global InterSHAP');
    this.scoreText = element('span', 'intershap-global-score', '…');
    this.selectionBox = element('span', 'intershap-selection');
    this.selectionSize = element('span', 'intershap-selection-size');
    const clear = element('button', 'intershap-clear-selection jp-mod-styled', 'Clear selection');
    clear.addEventListener('click', () => this.context?.source.setSelection(null, 'view'));
    this.selectionBox.append('Selection: ', this.selectionSize, ' ', clear);
    this.selectionBox.hidden = true;
    header.append(this.scoreLabel, this.scoreText, this.selectionBox);
    this.details = element('div', 'intershap-global-details');
    this.comparison = element('div', 'intershap-model-compare');
    this.comparison.hidden = true;

    this.histogram = new HistogramChart({
      selectRange: (low, high) => this.select({ kind: 'localRange', low, high }),
      clear: () => this.context?.source.setSelection(null, 'view')
    });
    this.scatter = new ScatterChart({
      raster: request => this.withContext(c => c.source.raster(c.modelId, request)),
      nearest: query => this.withContext(c => c.source.nearest(c.modelId, query)),
      select: region => this.select(region),
      clear: () => this.context?.source.setSelection(null, 'view'),
      open: index => this.links.openSample(index),
      describe: index => this.describe(index),
      resized: () => {
        this.drawnKeys.delete('scatter');
        this.links.requestDraw();
      }
    });

    const scatterPanel = element('div', 'intershap-scatter-panel');
    const tools = element('div', 'intershap-scatter-tools');
    this.colorBySelect = control('select', 'intershap-color-by');
    this.colorBySelect.addEventListener('change', () => {
      this.colorBy = this.colorBySelect.value as ColorBy;
      this.drawnKeys.delete('scatter');
      this.links.requestDraw();
    });
    this.legend = element('span', 'intershap-legend');
    tools.append('Colour by ', this.colorBySelect, this.legend);
    scatterPanel.append(this.scatter.node, tools);

    const grid = element('div', 'intershap-global-grid');
    grid.append(this.heatmap.node, scatterPanel, this.histogram.node, this.orders.node);
    this.node.append(header, this.details, this.comparison, this.split.node, grid);
  }

  async render(context: DrawContext): Promise<void> {
    this.context = context;
    const { model, source } = context;
    if (source.selectionVersion !== this.ownSelectionVersion) {
      this.scatter.ownsSelection = false;
      this.histogram.ownsSelection = false;
    }
    const shown = model.selectionAggregate ?? model.aggregate;
    this.renderHeader(context, shown);
    if (!model.aggregate || !shown || !context.drawCharts) {
      return;
    }
    const dataKey = `${context.modelId}|${model.version}|${source.selectionVersion}|${context.themeVersion}`;
    const names = model.dataset.names;
    // A partial model's stream is over (the kernel was lost): its numbers are final.
    const streaming = model.status?.state === 'running' && !model.partial;
    // While values stream in, these charts redraw only when a number they show moves visibly.
    const settled = `${context.modelId}|${source.selectionVersion}|${context.themeVersion}|streaming`;
    const keyOf = (...numbers: ArrayLike<number>[]) =>
      streaming ? visibleKey(settled, numbers) : dataKey;
    const splitRows = this.splitRows(model);
    await this.step(
      'split',
      keyOf(...splitRows.flatMap(row => [row.contributions, [row.interaction]])),
      () => this.split.draw(names, splitRows, context.colors)
    );
    await this.step('heatmap', keyOf(shown.meanMatrix), () =>
      this.heatmap.draw(
        names,
        shown.meanMatrix,
        `Mean Φ over ${model.selectionAggregate ? 'the selection' : 'all samples'} (diagonal: main effects; off-diagonal: half pair interactions)`,
        context.colors,
        320,
        streaming ? 'fast' : 'annotations'
      )
    );
    // The points and the local scores change only with the samples received (and the selection
    // highlights them), not with `version`, which also moves when the selection's aggregate
    // arrives after a brush: keyed on it, a million-point image was drawn twice per brush.
    const pointsKey = `${context.modelId}|${model.received}|${model.status?.state}|${source.selectionVersion}|${context.themeVersion}`;
    await this.step('scatter', pointsKey, () => this.drawScatter(context));
    await this.step('histogram', pointsKey, async () =>
      this.histogram.draw(
        await source.histogram(context.modelId, HISTOGRAM_BINS),
        context.colors,
        250
      )
    );
    this.orders.node.hidden = model.dataset.M < 3;
    if (model.dataset.M >= 3) {
      const series = this.orderSeries(model);
      await this.step('orders', keyOf(...series.flatMap(one => [one.mass, one.size])), () =>
        this.orders.draw(series, context.colors, 250)
      );
    }
  }

  /**
   * What an export of this view holds: the header as shown, and every chart drawn (the order
   * chart only for M ≥ 3), in the order of the panel letters.
   */
  exportContent(dpi: number): ExportContent {
    const model = this.context?.model;
    const lines = [
      `${this.scoreLabel.textContent ?? ''} ${this.scoreText.textContent ?? ''}`.trim(),
      this.details.textContent ?? ''
    ];
    if (model && this.context && this.context.source.models.size > 1) {
      lines[0] = `${model.dataset.label}: ${lines[0]}`;
    }
    const panels: ExportPanel[] = [
      chartPanel(
        'split',
        'Share of Σ|Φ̄|: modalities alone, interactions',
        this.split,
        240 + 34 * (model?.selectionAggregate ? 2 : 1),
        // On a page a horizontal legend wraps (and plotly then clips it): stack it on the right.
        {
          legend: { orientation: 'v', x: 1.02, xanchor: 'left', y: 1, yanchor: 'top' },
          margin: { l: 90, r: 130, t: 30, b: 30 }
        }
      ),
      chartPanel('heatmap', 'Mean Φ (diagonal: main effects)', this.heatmap, 320)
    ];
    if (model && model.dataset.M >= 3) {
      panels.push(chartPanel('orders', 'Interaction mass by order', this.orders, 250));
    }
    panels.push(chartPanel('histogram', 'Local InterSHAP of each sample', this.histogram, 250));
    const scatter = this.scatter.exportPanel(dpi);
    if (scatter) {
      panels.push(scatter);
    }
    const legend = this.exportLegend();
    return { lines: [...lines, ...legend].filter(line => line.length > 0), panels };
  }

  /** The scatter's colours in words, since the legend beside it on screen is not a chart. */
  private exportLegend(): string[] {
    const image = this.scatter.lastImage;
    const context = this.context;
    if (!image || !context || this.colorBy === 'none' || image.categories.length === 0) {
      return [];
    }
    const by = this.colorBy === 'label' ? 'label' : 'predicted class';
    const entries = image.categories.map(
      (code, k) =>
        `${context.source.formatCode(code)} ${OKABE_ITO_NAMES[k % OKABE_ITO_NAMES.length]}`
    );
    return [`Points coloured by ${by}: ${entries.join(', ')}`];
  }

  /** Draws one chart in its own task, and only if its data changed since it was last drawn. */
  private async step(name: string, key: string, draw: () => Promise<void>): Promise<void> {
    if (this.drawnKeys.get(name) === key) {
      return;
    }
    await nextTask();
    await draw();
    this.drawnKeys.set(name, key);
  }

  private renderHeader(context: DrawContext, shown: AggregateResult | null): void {
    const { model, source } = context;
    const selection = source.selection;
    this.scoreLabel.textContent = selection
      ? 'Global InterSHAP of the selection'
      : 'Global InterSHAP';
    this.selectionBox.hidden = !selection;
    const selected = model.selectionAggregate?.n ?? selection?.length ?? 0;
    this.selectionSize.textContent = `${formatCount(selected)} of ${formatCount(model.received)} samples`;
    this.selectionSize.dataset.count = String(selected);
    if (!shown) {
      this.scoreText.textContent = '…';
      this.details.textContent = `waiting for values: ${formatCount(model.received)} of ${formatCount(model.dataset.nSamples)} samples`;
      return;
    }
    this.scoreText.textContent = formatNumber(shown.globalIntershap);
    this.scoreText.dataset.value = String(shown.globalIntershap);
    this.scoreText.dataset.n = String(shown.n);
    // A partial model (the kernel was lost) gets no more samples: its interval is over those held.
    const finished =
      model.status?.state === 'done' || model.status?.state === 'cancelled' || model.partial;
    const interval = finished
      ? `95% bootstrap interval ${formatInterval(shown.interval)}`
      : 'interval once every sample is in';
    const parts = [
      interval,
      `mean local score ${formatNumber(shown.localMean)}`,
      `${formatCount(shown.n)} samples`
    ];
    if (shown.nUndefined > 0) {
      parts.push(`${formatCount(shown.nUndefined)} with undefined local score`);
    }
    if (model.selectionAggregate && model.aggregate) {
      parts.push(`all samples: ${formatNumber(model.aggregate.globalIntershap)}`);
    }
    this.details.textContent = parts.join(' · ');
    this.renderComparison(context);
  }

  /** With several models, each one's global score side by side (the active one marked). */
  private renderComparison(context: DrawContext): void {
    const models = [...context.source.models.values()];
    this.comparison.hidden = models.length < 2;
    if (models.length < 2) {
      return;
    }
    const items = models.map(m => {
      const shown = m.selectionAggregate ?? m.aggregate;
      const item = element('span', 'intershap-model-score');
      item.textContent = `${m.dataset.label}: ${formatNumber(shown?.globalIntershap)}`;
      item.classList.toggle('intershap-active', m.dataset.modelId === context.modelId);
      return item;
    });
    this.comparison.replaceChildren('Models: ', ...items);
  }

  private splitRows(model: ModelState): SplitRow[] {
    const rows: SplitRow[] = [];
    if (model.aggregate) {
      rows.push(splitRow('all samples', model.aggregate));
    }
    if (model.selectionAggregate) {
      rows.push(splitRow('selection', model.selectionAggregate));
    }
    return rows;
  }

  private orderSeries(model: ModelState): OrderSeries[] {
    const series: OrderSeries[] = [];
    const add = (label: string, aggregate: AggregateResult | null) => {
      if (aggregate) {
        series.push({ label, mass: aggregate.orderMass, size: aggregate.orderMassAbs });
      }
    };
    add('all samples', model.aggregate);
    add('selection', model.selectionAggregate);
    return series;
  }

  private async drawScatter(context: DrawContext): Promise<void> {
    const colorBy = this.syncColorBy(context.model);
    const hasPrediction = context.model.hasPrediction;
    await this.scatter.draw(
      colorBy,
      context.source.selection,
      context.colors,
      320,
      hasPrediction ? 'prediction (explained output)' : 'prediction v(full)',
      pointRadius(context.model.received)
    );
    this.renderLegend(colorBy, code => context.source.formatCode(code));
  }

  /** The colouring options this model offers; the default is the label, else the predicted class. */
  private syncColorBy(model: ModelState): ColorBy {
    const options: Array<[ColorBy, string]> = [];
    if (model.hasLabels) {
      options.push(['label', 'label']);
    }
    if (model.hasPredictedClass) {
      options.push(['predictedClass', 'predicted class']);
    }
    options.push(['none', 'nothing']);
    const available = options.map(([value]) => value);
    if (this.colorBy === null || !available.includes(this.colorBy)) {
      this.colorBy = available[0];
    }
    if (this.colorBySelect.options.length !== options.length) {
      this.colorBySelect.replaceChildren(
        ...options.map(([value, title]) => {
          const option = document.createElement('option');
          option.value = value;
          option.textContent = title;
          return option;
        })
      );
    }
    this.colorBySelect.value = this.colorBy;
    return this.colorBy;
  }

  private renderLegend(colorBy: ColorBy, formatCode: (code: number) => string): void {
    const image = this.scatter.lastImage;
    const entries = (image?.categories ?? []).map((code, k) => {
      const entry = element('span', 'intershap-legend-entry');
      const swatch = element('span', 'intershap-swatch');
      swatch.style.background = OKABE_ITO[k % OKABE_ITO.length];
      entry.append(swatch, `${formatCode(code)} (${formatCount(image!.counts[k])})`);
      return entry;
    });
    const notes: string[] = [];
    if (image && image.nUnplotted > 0) {
      notes.push(`${formatCount(image.nUnplotted)} samples with undefined local score not shown`);
    }
    this.legend.replaceChildren(
      ...(colorBy === 'none' ? [] : entries),
      ...(notes.length ? [element('span', 'intershap-legend-note', notes.join(' · '))] : [])
    );
    this.legend.dataset.points = String(image?.nPlotted ?? 0);
  }

  private async describe(index: number): Promise<string> {
    return this.withContext(async c => {
      const sample = await c.source.sample(c.modelId, index);
      const label = Number.isFinite(sample.label)
        ? ` · label ${c.source.formatCode(sample.label)}`
        : '';
      return `sample ${index} · local ${formatNumber(sample.local)} · prediction ${formatNumber(sample.prediction)}${label}`;
    });
  }

  /** A brush: the engine finds the samples in the region, and every view re-aggregates. */
  private select(region: Region): void {
    const context = this.context;
    if (!context) {
      return;
    }
    context.source
      .selectRegion(context.modelId, region)
      .then(indices => {
        context.source.setSelection(indices, 'view');
        this.ownSelectionVersion = context.source.selectionVersion;
        this.scatter.ownsSelection = region.kind !== 'localRange';
        this.histogram.ownsSelection = region.kind === 'localRange';
      })
      .catch(error => context.source.reportError(error));
  }

  private withContext<T>(use: (context: DrawContext) => Promise<T>): Promise<T> {
    if (!this.context) {
      return Promise.reject(new Error('global view: not drawn yet'));
    }
    return use(this.context);
  }

  dispose(): void {
    for (const chart of [this.split, this.heatmap, this.orders, this.histogram, this.scatter]) {
      chart.dispose();
    }
    super.dispose();
  }
}

/** Smaller points for more samples, so dense regions stay readable. */
function pointRadius(n: number): number {
  if (n <= 5_000) {
    return 1.8;
  }
  return n <= 30_000 ? 1.4 : 1;
}

function splitRow(label: string, aggregate: AggregateResult): SplitRow {
  return {
    label,
    contributions: aggregate.contributions,
    interaction: aggregate.interactionShare
  };
}
