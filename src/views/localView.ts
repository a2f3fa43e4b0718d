/**
 * The local view: one sample's Φ matrix, the waterfall from v(∅) to its prediction, its value
 * table (coalition → value ± standard error), its label and prediction. The sample is chosen by a
 * click in the global view, or by its index here.
 */
import { Widget } from '@lumino/widgets';
import type { SampleDetail } from '../compute/types';
import { coalitionName, formatCount, formatNumber } from './format';
import { MatrixHeatmap } from './charts/heatmap';
import { WaterfallChart } from './charts/waterfall';
import { control, element } from './dom';
import { chartPanel } from './export/panels';
import type { ExportContent } from './export/svg';
import { nextTask } from './schedule';
import type { DashboardView, DrawContext } from './types';

export interface LocalLinks {
  requestDraw(): void;
  /** Stops showing a second model beside the first. */
  closePair(): void;
}

export class LocalView extends Widget implements DashboardView {
  private readonly indexInput: HTMLInputElement;
  private readonly ofText: HTMLElement;
  private readonly facts: HTMLElement;
  private readonly empty: HTMLElement;
  private readonly body: HTMLElement;
  private readonly heatmap = new MatrixHeatmap('intershap-local-heatmap');
  private readonly waterfall = new WaterfallChart();
  /** The same sample under a second model, beside the first (opened from the Compare tab). */
  private readonly pairBox: HTMLElement;
  private readonly pairTitle: HTMLElement;
  private readonly pairHeatmap = new MatrixHeatmap('intershap-local-heatmap-paired');
  private readonly pairWaterfall = new WaterfallChart('intershap-waterfall-paired');
  private readonly table: HTMLTableElement;
  private index: number | null = null;
  private drawnKey = '';
  private nSamples = 0;

  constructor(private readonly links: LocalLinks) {
    super();
    this.addClass('intershap-local');
    this.title.label = 'Local';

    const header = element('div', 'intershap-local-header');
    const previous = element('button', 'intershap-local-previous jp-mod-styled', '◀');
    previous.title = 'Previous sample';
    const next = element('button', 'intershap-local-next jp-mod-styled', '▶');
    next.title = 'Next sample';
    this.indexInput = control('input', 'intershap-local-input');
    this.indexInput.type = 'number';
    this.indexInput.min = '0';
    this.indexInput.setAttribute('aria-label', 'Sample index');
    this.ofText = element('span', 'intershap-local-of');
    previous.addEventListener('click', () => this.showSample((this.index ?? 1) - 1));
    next.addEventListener('click', () => this.showSample((this.index ?? -1) + 1));
    this.indexInput.addEventListener('change', () =>
      this.showSample(Number(this.indexInput.value))
    );
    // Enter shows the sample at once (the notebook around the widget may swallow 'change').
    this.indexInput.addEventListener('keydown', event => {
      if (event.key === 'Enter') {
        this.showSample(Number(this.indexInput.value));
      }
    });
    header.append('Sample ', this.indexInput, this.ofText, previous, next);

    this.facts = element('div', 'intershap-local-facts');
    this.empty = element(
      'div',
      'intershap-empty',
      'Click a point in the Global tab’s scatter, or enter a sample index above.'
    );
    this.body = element('div', 'intershap-local-body');
    this.table = element('table', 'intershap-value-table');
    const grid = element('div', 'intershap-local-grid');
    grid.append(this.heatmap.node, this.waterfall.node);
    this.pairTitle = element('span', 'intershap-local-pair-title');
    const closePair = element('button', 'intershap-local-close-pair jp-mod-styled', 'Close');
    closePair.title = 'Show one model only';
    closePair.addEventListener('click', () => links.closePair());
    const pairHeader = element('div', 'intershap-local-pair-header');
    pairHeader.append(this.pairTitle, ' ', closePair);
    const pairGrid = element('div', 'intershap-local-grid');
    pairGrid.append(this.pairHeatmap.node, this.pairWaterfall.node);
    this.pairBox = element('div', 'intershap-local-pair');
    this.pairBox.append(pairHeader, pairGrid);
    this.pairBox.hidden = true;
    this.body.append(grid, this.pairBox, this.table);
    this.body.hidden = true;
    this.node.append(header, this.facts, this.empty, this.body);
  }

  /** The sample shown, or null before one was chosen. */
  get sampleIndex(): number | null {
    return this.index;
  }

  showSample(index: number): void {
    if (!Number.isInteger(index) || index < 0 || (this.nSamples > 0 && index >= this.nSamples)) {
      this.indexInput.value = this.index === null ? '' : String(this.index);
      return;
    }
    this.index = index;
    this.drawnKey = '';
    this.links.requestDraw();
  }

  async render(context: DrawContext): Promise<void> {
    const { model, modelId } = context;
    this.nSamples = model.dataset.nSamples;
    this.indexInput.max = String(this.nSamples - 1);
    this.ofText.textContent = ` of ${formatCount(this.nSamples)} (0 – ${formatCount(this.nSamples - 1)})`;
    const index = this.index;
    this.empty.hidden = index !== null;
    if (index === null) {
      this.body.hidden = true;
      return;
    }
    this.indexInput.value = String(index);
    const paired = context.pairedModelId ?? null;
    const pairedVersion = paired ? context.source.models.get(paired)?.version : '';
    const key = `${modelId}|${index}|${model.version}|${context.themeVersion}|${paired}|${pairedVersion}`;
    if (key === this.drawnKey || !context.drawCharts) {
      return;
    }
    let detail: SampleDetail;
    try {
      detail = await context.source.sample(modelId, index);
    } catch {
      this.facts.textContent = `Sample ${index} has not been computed yet.`;
      this.body.hidden = true;
      return;
    }
    this.body.hidden = false;
    const names = model.dataset.names;
    this.renderFacts(detail, code => context.source.formatCode(code));
    this.renderTable(detail, names);
    await nextTask();
    await this.heatmap.draw(
      names,
      detail.matrix,
      `Φ of sample ${index} (diagonal: main effects; off-diagonal: half pair interactions)`,
      context.colors,
      320
    );
    await nextTask();
    await this.waterfall.draw(detail.waterfall, names, context.colors, 320);
    await this.renderPair(context, paired, index);
    this.drawnKey = key;
  }

  /** The same sample under the paired model: its Φ (on the first's colour scale) and waterfall. */
  private async renderPair(context: DrawContext, paired: string | null, index: number) {
    const pairedModel = paired ? context.source.models.get(paired) : undefined;
    this.pairBox.hidden = !pairedModel;
    if (!pairedModel || !paired) {
      return;
    }
    const first = context.model.dataset.label;
    const label = pairedModel.dataset.label;
    let detail: SampleDetail;
    try {
      detail = await context.source.sample(paired, index);
    } catch {
      this.pairTitle.textContent = `Sample ${index} has not been computed for ${label} yet.`;
      return;
    }
    this.pairTitle.textContent = `Beside ${first}: ${label}, local InterSHAP ${formatNumber(detail.local)}, prediction ${formatNumber(detail.prediction)}`;
    this.pairTitle.dataset.local = String(detail.local);
    await nextTask();
    await this.pairHeatmap.draw(
      context.model.dataset.names,
      detail.matrix,
      `Φ of sample ${index}, ${label}`,
      context.colors,
      320
    );
    await nextTask();
    await this.pairWaterfall.draw(
      detail.waterfall,
      context.model.dataset.names,
      context.colors,
      320
    );
  }

  /** What an export of this view holds: the sample's facts as shown, its Φ and its waterfall. */
  exportContent(): ExportContent {
    const facts = [...this.facts.querySelectorAll('.intershap-fact')].map(
      fact => fact.textContent ?? ''
    );
    return {
      lines: this.index === null ? [] : [`Sample ${this.index}`, facts.join(' · ')],
      panels:
        this.index === null || this.body.hidden
          ? []
          : [
              chartPanel('local-heatmap', `Φ of sample ${this.index}`, this.heatmap, 320),
              chartPanel('waterfall', `Waterfall of sample ${this.index}`, this.waterfall, 320)
            ]
    };
  }

  private renderFacts(detail: SampleDetail, formatCode: (code: number) => string): void {
    const fact = (className: string, title: string, value: string) => {
      const node = element('span', `intershap-fact ${className}`);
      node.append(
        element('span', 'intershap-fact-title', title),
        ' ',
        element('span', 'intershap-fact-value', value)
      );
      return node;
    };
    const facts = [
      fact('intershap-local-score', 'local InterSHAP', formatNumber(detail.local)),
      fact('intershap-local-prediction', 'prediction', formatNumber(detail.prediction))
    ];
    if (Number.isFinite(detail.label)) {
      facts.push(fact('intershap-local-label', 'label', formatCode(detail.label)));
    }
    if (Number.isFinite(detail.predictedClass)) {
      facts.push(
        fact('intershap-local-class', 'predicted class', formatCode(detail.predictedClass))
      );
    }
    this.facts.replaceChildren(...facts);
    this.facts.dataset.index = String(detail.index);
  }

  private renderTable(detail: SampleDetail, names: string[]): void {
    const head = element('thead', '');
    const headRow = element('tr', '');
    for (const title of ['Coalition', 'v(S)', '± standard error']) {
      headRow.append(element('th', '', title));
    }
    head.append(headRow);
    const body = element('tbody', '');
    for (const row of detail.coalitions) {
      const tr = element('tr', '');
      tr.dataset.mask = String(row.mask);
      tr.append(
        element('td', 'intershap-coalition', coalitionName(row.modalities, names)),
        element('td', 'intershap-value', formatNumber(row.value)),
        element('td', 'intershap-se', Number.isFinite(row.se) ? formatNumber(row.se) : '—')
      );
      body.append(tr);
    }
    this.table.replaceChildren(head, body);
  }

  dispose(): void {
    for (const chart of [this.heatmap, this.waterfall, this.pairHeatmap, this.pairWaterfall]) {
      chart.dispose();
    }
    super.dispose();
  }
}
