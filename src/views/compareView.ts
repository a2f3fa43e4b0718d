/**
 * Models side by side on the same samples: a reference against one or more other models. Each
 * model's score with its interval, the split into modalities and interactions (one bar per model),
 * the mean Φ heatmaps on one shared colour scale and the order masses; then the difference, other
 * − reference: ΔΦ̄ as a diverging heatmap, Δ global score and Δ per modality, each with a paired
 * bootstrap interval (the same resampled samples for both models, so shared sample noise
 * cancels); the paired scatter of local scores with the samples that move most; and the cohorts
 * with both models and the Δ. Every number comes from the worker, over the current selection.
 */
import { Widget } from '@lumino/widgets';
import type { ModelState } from '../compute/main/session';
import type { ComparisonResult, ModelDelta, PairedIntervals, Region } from '../compute/types';
import { MatrixHeatmap } from './charts/heatmap';
import { OrderChart } from './charts/orderChart';
import { ScatterChart } from './charts/scatter';
import { SplitBar } from './charts/splitBar';
import { control, element } from './dom';
import { chartPanel } from './export/panels';
import type { ExportContent, ExportPanel } from './export/svg';
import { formatCount, formatInterval, formatNumber } from './format';
import type { LinkedState } from './linkedState';
import { nextTask } from './schedule';
import type { DashboardSource, DashboardView, DrawContext } from './types';

export interface CompareLinks {
  linked: LinkedState;
  /** Opens one sample in the Local tab with two models side by side. */
  openPair(index: number, referenceId: string, otherId: string): void;
  requestDraw(): void;
}

/**
 * Numbers each Compare view: two views of one widget (the notebook's and a docked tab) share the
 * session, and an interval job keyed without the view would cancel the other view's.
 */
let compareViews = 0;

/** Cohorts beyond this many are left out of the table (the largest are kept). */
const MAX_COHORT_ROWS = 12;

interface Pair {
  reference: ModelState;
  others: ModelState[];
}

export class CompareView extends Widget implements DashboardView {
  private readonly referenceSelect: HTMLSelectElement;
  private readonly othersBox: HTMLElement;
  private readonly message: HTMLElement;
  private readonly body: HTMLElement;
  private readonly cards: HTMLElement;
  private readonly deltas: HTMLElement;
  private readonly split = new SplitBar('intershap-compare-split');
  private readonly heatmapGrid: HTMLElement;
  private heatmaps: MatrixHeatmap[] = [];
  private deltaHeatmaps: MatrixHeatmap[] = [];
  private readonly orders = new OrderChart('intershap-compare-orders');
  private readonly pairSelect: HTMLSelectElement;
  private readonly scatter: ScatterChart;
  private readonly movers: HTMLTableElement;
  private readonly cohortSelect: HTMLSelectElement;
  private readonly cohortTable: HTMLTableElement;
  private context: DrawContext | null = null;
  private pair: Pair | null = null;
  private drawnKey = '';
  private scatterStale = false;
  /** The comparison on screen and the key it was drawn for. */
  private shown: { key: string; result: ComparisonResult } | null = null;
  /** Paired intervals by `${selectionVersion}|${reference}|${other}`; kept while valid. */
  private intervals = new Map<string, PairedIntervals | null>();
  /** Increases with every new comparison; slower answers for an older one are dropped. */
  private generation = 0;
  private focusId: string | null = null;
  private cohortKey: string | null = null;
  private readonly viewId = ++compareViews;

  constructor(private readonly links: CompareLinks) {
    super();
    this.addClass('intershap-compare');
    this.title.label = 'Compare';
    const controls = element('div', 'intershap-compare-controls');
    this.referenceSelect = control('select', 'intershap-compare-reference');
    this.referenceSelect.setAttribute('aria-label', 'Reference model');
    this.referenceSelect.addEventListener('change', () =>
      links.linked.update({ referenceId: this.referenceSelect.value, otherIds: [] })
    );
    this.othersBox = element('span', 'intershap-compare-others');
    controls.append('Reference ', this.referenceSelect, ' against ', this.othersBox);
    this.message = element('div', 'intershap-compare-message');
    this.cards = element('div', 'intershap-compare-cards');
    this.deltas = element('div', 'intershap-compare-deltas');
    this.heatmapGrid = element('div', 'intershap-compare-heatmaps');

    this.pairSelect = control('select', 'intershap-compare-pair');
    this.pairSelect.setAttribute('aria-label', 'Model in the paired scatter');
    this.pairSelect.addEventListener('change', () => {
      this.focusId = this.pairSelect.value;
      this.drawnKey = '';
      links.requestDraw();
    });
    this.scatter = new ScatterChart(
      {
        raster: request => this.withPair((ref, other, s) => s.raster(ref, request, other)),
        nearest: query => this.withPair((ref, other, s) => s.nearest(ref, query, other)),
        select: region => this.select(region),
        clear: () => this.context?.source.setSelection(null, 'view'),
        open: index => this.open(index),
        describe: index => this.describe(index),
        resized: () => {
          // Only the image under the axes needs drawing again, not the comparison.
          this.scatterStale = true;
          links.requestDraw();
        }
      },
      {
        name: 'paired-scatter',
        title: 'Local score: other model against reference',
        yTitle: 'local InterSHAP, other model',
        diagonal: true
      },
      'intershap-paired-scatter'
    );
    this.movers = element('table', 'intershap-movers');
    const scatterRow = element('div', 'intershap-compare-scatter-row');
    const scatterPanel = element('div', 'intershap-compare-scatter-panel');
    const pairTools = element('div', 'intershap-compare-pair-tools');
    pairTools.append('Paired scatter: ', this.pairSelect);
    scatterPanel.append(pairTools, this.scatter.node);
    const moversPanel = element('div', 'intershap-movers-panel');
    moversPanel.append(
      element('div', 'intershap-movers-title', 'Samples whose local score moves most'),
      this.movers
    );
    scatterRow.append(scatterPanel, moversPanel);

    this.cohortSelect = control('select', 'intershap-compare-grouping');
    this.cohortSelect.addEventListener('change', () => {
      this.cohortKey = this.cohortSelect.value;
      this.drawnKey = '';
      links.requestDraw();
    });
    this.cohortTable = element('table', 'intershap-compare-cohorts');
    const cohorts = element('div', 'intershap-compare-cohort-panel');
    cohorts.append(
      element('div', 'intershap-compare-cohort-title', 'Cohorts by '),
      this.cohortTable
    );
    cohorts.firstElementChild!.append(this.cohortSelect);

    this.body = element('div', 'intershap-compare-body');
    this.body.append(
      this.cards,
      this.deltas,
      this.split.node,
      this.heatmapGrid,
      this.orders.node,
      scatterRow,
      cohorts
    );
    this.node.append(controls, this.message, this.body);
  }

  async render(context: DrawContext): Promise<void> {
    this.context = context;
    const pair = this.choosePair(context.source);
    this.pair = pair;
    this.body.hidden = pair === null;
    if (!pair) {
      return;
    }
    const { source } = context;
    this.focusId = this.focus(pair).dataset.modelId;
    const models = [pair.reference, ...pair.others];
    const finished = models.every(isFinished);
    // Not the models' `version`: it also moves when a model's own selection aggregate is
    // refreshed (once per model after a brush), which changes nothing compared here.
    const streamed = models.map(m => `${m.dataset.modelId}:${m.received}:${m.status?.state}`);
    const key = `${streamed.join(',')}|${source.selectionVersion}|${context.themeVersion}|${this.focusId}|${this.cohortKey}`;
    if (
      this.shown &&
      this.shown.key.startsWith(`${streamed.join(',')}|${source.selectionVersion}|`)
    ) {
      // The per-model intervals arrive after the numbers: the cards show them as they come.
      this.renderCards(context, pair, this.shown.result);
    }
    if (!context.drawCharts) {
      return;
    }
    if (key === this.drawnKey) {
      if (this.scatterStale && this.shown) {
        await this.drawScatter(context, pair, this.shown.result);
      }
      return;
    }
    this.drawnKey = key;
    const generation = ++this.generation;
    const subset = source.selection ?? undefined;
    const result = await source.compare(
      pair.reference.dataset.modelId,
      pair.others.map(m => m.dataset.modelId),
      subset
    );
    if (generation !== this.generation) {
      return;
    }
    this.shown = { key, result };
    this.renderCards(context, pair, result);
    this.renderDeltas(pair, result);
    await this.drawCharts(context, pair, result);
    if (generation !== this.generation) {
      return;
    }
    await this.renderCohorts(context, pair, generation);
    if (finished) {
      void this.fillIntervals(context, result, generation);
    }
  }

  /**
   * The reference and the models compared with it, from the linked choices (every other model by
   * default); null, with the reason shown, when nothing can be compared.
   */
  private choosePair(source: DashboardSource): Pair | null {
    const models = [...source.models.values()];
    const choices = this.links.linked.choices;
    const reference =
      models.find(m => m.dataset.modelId === choices.referenceId) ?? models[0] ?? null;
    this.syncControls(models, reference);
    if (!reference || models.length < 2) {
      this.say(
        'one-model',
        'Compare needs two or more models on the same samples: add one in Python with w.add_model(label, model, modalities) or w.add_model(label, values=...).'
      );
      return null;
    }
    const candidates = models.filter(m => m !== reference);
    const chosen = candidates.filter(
      m => choices.otherIds.length === 0 || choices.otherIds.includes(m.dataset.modelId)
    );
    const mismatched = chosen.filter(m => !sameModalities(m, reference));
    if (mismatched.length > 0) {
      const other = mismatched[0].dataset;
      this.say(
        'mismatch',
        `${other.label} has M = ${other.M} modalities (${other.names.join(', ')}) and ${reference.dataset.label} has M = ${reference.dataset.M} (${reference.dataset.names.join(', ')}): models with different modalities cannot be compared. Choose another reference or leave ${other.label} out.`
      );
      return null;
    }
    if (chosen.length === 0) {
      this.say('none-chosen', 'Tick at least one model to compare with the reference.');
      return null;
    }
    if (reference.received === 0 || chosen.some(m => m.received === 0)) {
      this.say('waiting', 'Waiting for the first values of every model…');
      return null;
    }
    this.say('ok', '');
    return { reference, others: chosen };
  }

  private say(state: string, text: string): void {
    this.message.dataset.state = state;
    this.message.textContent = text;
    this.message.hidden = text.length === 0;
  }

  /** The reference chooser and one checkbox per other model, following the linked choices. */
  private syncControls(models: ModelState[], reference: ModelState | null): void {
    const ids = models.map(m => m.dataset.modelId);
    if ([...this.referenceSelect.options].map(o => o.value).join('\u0000') !== ids.join('\u0000')) {
      this.referenceSelect.replaceChildren(...models.map(m => option(m)));
    }
    if (reference) {
      this.referenceSelect.value = reference.dataset.modelId;
    }
    const others = models.filter(m => m !== reference);
    const chosen = this.links.linked.choices.otherIds;
    // Rebuilt only when the models or the choice change: a rebuild under the pointer would eat
    // the user's click.
    const key = JSON.stringify([others.map(m => m.dataset.modelId), chosen]);
    if (this.othersBox.dataset.key === key) {
      return;
    }
    this.othersBox.dataset.key = key;
    this.othersBox.replaceChildren(
      ...others.map(m => {
        const label = element('label', 'intershap-compare-other');
        const box = control('input', 'intershap-compare-check');
        box.type = 'checkbox';
        box.value = m.dataset.modelId;
        box.checked = chosen.length === 0 || chosen.includes(m.dataset.modelId);
        box.addEventListener('change', () => {
          const ticked = [...this.othersBox.querySelectorAll('input')]
            .filter(input => input.checked)
            .map(input => input.value);
          this.links.linked.update({ otherIds: ticked.length === others.length ? [] : ticked });
        });
        label.append(box, ` ${m.dataset.label}`);
        return label;
      })
    );
  }

  /** One card per model: its global score over the compared samples, with its interval. */
  private renderCards(context: DrawContext, pair: Pair, result: ComparisonResult): void {
    const selection = context.source.selection;
    const card = (model: ModelState, score: number, role: string) => {
      const node = element('div', `intershap-compare-card intershap-compare-${role}`);
      node.dataset.modelId = model.dataset.modelId;
      const shown = selection ? model.selectionAggregate : model.aggregate;
      const value = element('span', 'intershap-compare-score', formatNumber(score));
      value.dataset.value = String(score);
      node.append(
        element('div', 'intershap-compare-card-title', `${model.dataset.label} (${role})`),
        value,
        element(
          'div',
          'intershap-compare-card-detail',
          `95% interval ${formatInterval(isFinished(model) ? (shown?.interval ?? null) : null)}`
        )
      );
      return node;
    };
    this.cards.replaceChildren(
      card(pair.reference, result.reference.globalIntershap, 'reference'),
      ...result.others.map((o, k) => card(pair.others[k], o.aggregate.globalIntershap, 'other'))
    );
    this.cards.dataset.n = String(result.n);
    this.cards.title = `${formatCount(result.n)} samples${selection ? ' (the selection)' : ''}`;
  }

  /** Per other model: Δ global and Δ per modality, each with its paired interval once known. */
  private renderDeltas(pair: Pair, result: ComparisonResult): void {
    const names = pair.reference.dataset.names;
    this.deltas.replaceChildren(
      ...result.others.map((other, k) => {
        const box = element('div', 'intershap-compare-delta');
        box.dataset.modelId = other.modelId;
        const title = `${pair.others[k].dataset.label} − ${pair.reference.dataset.label}`;
        const global = element(
          'span',
          'intershap-delta-global',
          formatSigned(other.delta.globalDelta)
        );
        global.dataset.value = String(other.delta.globalDelta);
        const interval = element('span', 'intershap-delta-interval', 'paired 95% interval …');
        const rows = names.map((name, m) => {
          const row = element('span', 'intershap-delta-contribution');
          row.dataset.modality = String(m);
          row.dataset.value = String(other.delta.contributionDelta[m]);
          row.textContent = `${name} alone ${formatSigned(other.delta.contributionDelta[m])}`;
          return row;
        });
        const line = element('div', 'intershap-delta-line');
        line.append('Δ global InterSHAP ', global, ' ', interval);
        const contributions = element('div', 'intershap-delta-contributions');
        contributions.append('Δ share alone: ', ...rows);
        box.append(element('div', 'intershap-delta-title', title), line, contributions);
        return box;
      })
    );
    this.deltas.dataset.n = String(result.n);
  }

  /** Writes the paired intervals into the Δ lines and the cohort table once they are known. */
  private showIntervals(modelId: string, bounds: PairedIntervals | null): void {
    const box = this.deltas.querySelector(`[data-model-id="${CSS.escape(modelId)}"]`);
    if (!box || !bounds) {
      return;
    }
    const interval = box.querySelector('.intershap-delta-interval') as HTMLElement;
    interval.textContent = `paired 95% interval ${formatInterval({ low: bounds.globalLow, high: bounds.globalHigh })}`;
    interval.dataset.low = String(bounds.globalLow);
    interval.dataset.high = String(bounds.globalHigh);
    box.querySelectorAll<HTMLElement>('.intershap-delta-contribution').forEach(row => {
      const m = Number(row.dataset.modality);
      row.append(
        ` ${formatInterval({ low: bounds.contributionLow[m], high: bounds.contributionHigh[m] })}`
      );
    });
  }

  private async fillIntervals(
    context: DrawContext,
    result: ComparisonResult,
    generation: number
  ): Promise<void> {
    const subset = context.source.selection ?? undefined;
    const version = `${context.source.selectionVersion}|`;
    for (const key of this.intervals.keys()) {
      if (!key.startsWith(version)) {
        this.intervals.delete(key);
      }
    }
    for (const other of result.others) {
      const key = `${version}${result.referenceId}|${other.modelId}`;
      if (!this.intervals.has(key)) {
        const bounds = await context.source.compareInterval(
          `view:${this.viewId}`,
          result.referenceId,
          other.modelId,
          subset
        );
        if (generation !== this.generation || bounds === null) {
          return;
        }
        this.intervals.set(key, bounds);
      }
      this.showIntervals(other.modelId, this.intervals.get(key) ?? null);
    }
    this.node.dataset.intervals = 'done';
  }

  private async drawCharts(
    context: DrawContext,
    pair: Pair,
    result: ComparisonResult
  ): Promise<void> {
    const names = pair.reference.dataset.names;
    const models = [pair.reference, ...pair.others];
    const aggregates = [result.reference, ...result.others.map(o => o.aggregate)];
    await nextTask();
    await this.split.draw(
      names,
      models.map((m, k) => ({
        label: m.dataset.label,
        contributions: aggregates[k].contributions,
        interaction: aggregates[k].interactionShare
      })),
      context.colors
    );
    this.ensureHeatmaps(models.length, result.others.length);
    const shared = Math.max(...aggregates.map(a => largestAbs(a.meanMatrix)));
    for (let k = 0; k < models.length; k++) {
      await nextTask();
      await this.heatmaps[k].draw(
        names,
        aggregates[k].meanMatrix,
        `Mean Φ, ${models[k].dataset.label} (one colour scale for every model)`,
        context.colors,
        300,
        'annotations',
        shared
      );
    }
    for (let k = 0; k < result.others.length; k++) {
      await nextTask();
      await this.deltaHeatmaps[k].draw(
        names,
        result.others[k].delta.matrixDelta,
        `ΔΦ̄: ${pair.others[k].dataset.label} − ${pair.reference.dataset.label}`,
        context.colors,
        300
      );
    }
    this.orders.node.hidden = pair.reference.dataset.M < 3;
    if (pair.reference.dataset.M >= 3) {
      await nextTask();
      await this.orders.draw(
        models.map((m, k) => ({
          label: m.dataset.label,
          mass: aggregates[k].orderMass,
          size: aggregates[k].orderMass.map(Math.abs)
        })),
        context.colors,
        250
      );
    }
    await nextTask();
    await this.drawScatter(context, pair, result);
  }

  /** One heatmap per model and one ΔΦ̄ heatmap per other model, made as the models come. */
  private ensureHeatmaps(models: number, others: number): void {
    if (this.heatmaps.length === models && this.deltaHeatmaps.length === others) {
      return;
    }
    for (const chart of [...this.heatmaps, ...this.deltaHeatmaps]) {
      chart.dispose();
    }
    this.heatmaps = Array.from(
      { length: models },
      () => new MatrixHeatmap('intershap-compare-heatmap')
    );
    this.deltaHeatmaps = Array.from(
      { length: others },
      () => new MatrixHeatmap('intershap-delta-heatmap')
    );
    this.heatmapGrid.replaceChildren(
      ...this.heatmaps.map(h => h.node),
      ...this.deltaHeatmaps.map(h => h.node)
    );
  }

  private focus(pair: Pair): ModelState {
    const chosen = pair.others.find(m => m.dataset.modelId === this.focusId);
    return chosen ?? pair.others[0];
  }

  private async drawScatter(
    context: DrawContext,
    pair: Pair,
    result: ComparisonResult
  ): Promise<void> {
    this.scatterStale = false;
    const focus = this.focus(pair);
    this.focusId = focus.dataset.modelId;
    this.pairSelect.replaceChildren(...pair.others.map(m => option(m)));
    this.pairSelect.value = focus.dataset.modelId;
    this.pairSelect.hidden = pair.others.length < 2;
    await this.scatter.draw(
      pair.reference.hasLabels ? 'label' : 'none',
      context.source.selection,
      context.colors,
      340,
      `local InterSHAP, ${pair.reference.dataset.label} (reference)`,
      pair.reference.received > 30_000 ? 1 : 1.6
    );
    const delta = result.others.find(o => o.modelId === focus.dataset.modelId);
    if (delta) {
      this.renderMovers(pair, focus, delta);
    }
  }

  private renderMovers(pair: Pair, focus: ModelState, delta: ModelDelta): void {
    const head = element('tr', '');
    for (const title of ['Sample', pair.reference.dataset.label, focus.dataset.label, 'Δ local']) {
      head.append(element('th', '', title));
    }
    const rows = delta.movers.map(mover => {
      const row = element('tr', 'intershap-mover');
      row.dataset.index = String(mover.index);
      row.title = 'Open this sample with both models side by side';
      row.append(
        element('td', '', String(mover.index)),
        element('td', '', formatNumber(mover.reference)),
        element('td', '', formatNumber(mover.other)),
        element('td', 'intershap-mover-delta', formatSigned(mover.delta))
      );
      row.addEventListener('click', () => this.open(mover.index));
      return row;
    });
    const body = element('tbody', '');
    body.append(...rows);
    const thead = element('thead', '');
    thead.append(head);
    this.movers.replaceChildren(thead, body);
  }

  /**
   * The cohorts of one grouping with each model's score and every other model's Δ (paired
   * intervals follow once the streams are done).
   */
  private async renderCohorts(context: DrawContext, pair: Pair, generation: number) {
    const { source } = context;
    const referenceId = pair.reference.dataset.modelId;
    const options = source.groupings(referenceId);
    const panel = this.cohortTable.parentElement!;
    panel.hidden = options.length === 0;
    if (options.length === 0) {
      return;
    }
    const keys = options.map(o => o.key);
    if ([...this.cohortSelect.options].map(o => o.value).join('\u0000') !== keys.join('\u0000')) {
      this.cohortSelect.replaceChildren(
        ...options.map(o => {
          const node = document.createElement('option');
          node.value = o.key;
          node.textContent = o.title;
          return node;
        })
      );
    }
    if (this.cohortKey === null || !keys.includes(this.cohortKey)) {
      this.cohortKey = keys.find(k => k.startsWith('column:')) ?? keys[0];
    }
    this.cohortSelect.value = this.cohortKey;
    const cohorts = (await source.cohortSummaries(referenceId, this.cohortKey))
      .sort((a, b) => b.members.length - a.members.length)
      .slice(0, MAX_COHORT_ROWS);
    const otherIds = pair.others.map(m => m.dataset.modelId);
    const head = element('tr', '');
    head.append(element('th', '', 'Cohort'), element('th', '', 'n'));
    for (const model of [pair.reference, ...pair.others]) {
      head.append(element('th', '', model.dataset.label));
    }
    for (const other of pair.others) {
      head.append(element('th', '', `Δ ${other.dataset.label}`));
    }
    const body = element('tbody', '');
    const cells: Array<{ members: Int32Array; deltas: HTMLElement[] }> = [];
    for (const cohort of cohorts) {
      const result = await source.compare(referenceId, otherIds, cohort.members);
      if (generation !== this.generation) {
        return;
      }
      const row = element('tr', 'intershap-compare-cohort');
      row.dataset.cohort = cohort.name;
      row.append(element('td', '', cohort.name), element('td', '', formatCount(result.n)));
      row.append(element('td', '', formatNumber(result.reference.globalIntershap)));
      for (const other of result.others) {
        row.append(element('td', '', formatNumber(other.aggregate.globalIntershap)));
      }
      const deltas = result.others.map(other => {
        const cell = element('td', 'intershap-cohort-delta', formatSigned(other.delta.globalDelta));
        cell.dataset.value = String(other.delta.globalDelta);
        return cell;
      });
      row.append(...deltas);
      body.append(row);
      cells.push({ members: cohort.members, deltas });
    }
    const thead = element('thead', '');
    thead.append(head);
    this.cohortTable.replaceChildren(thead, body);
    if ([pair.reference, ...pair.others].every(isFinished)) {
      void this.fillCohortIntervals(context, referenceId, otherIds, cells, generation);
    }
  }

  private async fillCohortIntervals(
    context: DrawContext,
    referenceId: string,
    otherIds: string[],
    cells: Array<{ members: Int32Array; deltas: HTMLElement[] }>,
    generation: number
  ): Promise<void> {
    for (const [row, { members, deltas }] of cells.entries()) {
      for (const [k, otherId] of otherIds.entries()) {
        const bounds = await context.source.compareInterval(
          `cohort:${this.viewId}:${row}`,
          referenceId,
          otherId,
          members
        );
        if (generation !== this.generation || bounds === null) {
          return;
        }
        deltas[k].append(` ${formatInterval({ low: bounds.globalLow, high: bounds.globalHigh })}`);
      }
    }
  }

  /** What an export of this view holds: the scores and Δs as shown, and every chart drawn. */
  exportContent(dpi: number): ExportContent {
    if (!this.pair || this.body.hidden) {
      return { lines: [], panels: [] };
    }
    const lines = [...this.cards.querySelectorAll('.intershap-compare-card')].map(card =>
      [...card.children].map(child => child.textContent ?? '').join(' ')
    );
    for (const box of this.deltas.querySelectorAll('.intershap-compare-delta')) {
      lines.push(
        [...box.children]
          .map(child => child.textContent ?? '')
          .join(': ')
          .replace(/\s+/g, ' ')
      );
    }
    const rows = 1 + this.pair.others.length;
    const panels: ExportPanel[] = [
      chartPanel('compare-split', 'Share of Σ|Φ̄| per model', this.split, 64 + 34 * rows, {
        legend: { orientation: 'v', x: 1.02, xanchor: 'left', y: 1, yanchor: 'top' },
        margin: { l: 90, r: 130, t: 30, b: 30 }
      }),
      ...this.heatmaps.map((chart, k) =>
        chartPanel(`compare-heatmap-${k + 1}`, 'Mean Φ (shared scale)', chart, 300)
      ),
      ...this.deltaHeatmaps.map((chart, k) =>
        chartPanel(`delta-heatmap-${k + 1}`, 'ΔΦ̄ (other − reference)', chart, 300)
      )
    ];
    if (this.pair.reference.dataset.M >= 3) {
      panels.push(chartPanel('compare-orders', 'Interaction mass by order', this.orders, 250));
    }
    const scatter = this.scatter.exportPanel(dpi);
    if (scatter) {
      panels.push(scatter);
    }
    return { lines, panels };
  }

  /** A brush in the paired scatter selects those samples for every model and view. */
  private select(region: Region): void {
    const context = this.context;
    const pair = this.pair;
    if (!context || !pair) {
      return;
    }
    context.source
      .selectRegion(pair.reference.dataset.modelId, region, this.focus(pair).dataset.modelId)
      .then(indices => {
        context.source.setSelection(indices, 'view');
        this.scatter.ownsSelection = true;
      })
      .catch(error => context.source.reportError(error));
  }

  private open(index: number): void {
    const pair = this.pair;
    if (pair) {
      this.links.openPair(index, pair.reference.dataset.modelId, this.focus(pair).dataset.modelId);
    }
  }

  private async describe(index: number): Promise<string> {
    const pair = this.pair;
    const source = this.context?.source;
    if (!pair || !source) {
      return '';
    }
    const other = this.focus(pair);
    const [a, b] = await Promise.all([
      source.sample(pair.reference.dataset.modelId, index),
      source.sample(other.dataset.modelId, index)
    ]);
    return `sample ${index} · ${pair.reference.dataset.label} ${formatNumber(a.local)} · ${other.dataset.label} ${formatNumber(b.local)}`;
  }

  private withPair<T>(
    use: (referenceId: string, otherId: string, source: DashboardSource) => Promise<T>
  ): Promise<T> {
    const pair = this.pair;
    const source = this.context?.source;
    if (!pair || !source) {
      return Promise.reject(new Error('compare view: not drawn yet'));
    }
    return use(pair.reference.dataset.modelId, this.focus(pair).dataset.modelId, source);
  }

  dispose(): void {
    for (const chart of [
      this.split,
      this.orders,
      this.scatter,
      ...this.heatmaps,
      ...this.deltaHeatmaps
    ]) {
      chart.dispose();
    }
    super.dispose();
  }
}

/** No more samples will come: the stream is over, or the kernel was lost (partial). */
function isFinished(model: ModelState): boolean {
  return model.status?.state === 'done' || model.status?.state === 'cancelled' || model.partial;
}

function sameModalities(a: ModelState, b: ModelState): boolean {
  return (
    a.dataset.M === b.dataset.M &&
    a.dataset.nSamples === b.dataset.nSamples &&
    a.dataset.names.join('\u0000') === b.dataset.names.join('\u0000')
  );
}

function option(model: ModelState): HTMLOptionElement {
  const node = document.createElement('option');
  node.value = model.dataset.modelId;
  node.textContent = model.dataset.label;
  return node;
}

function largestAbs(values: ArrayLike<number>): number {
  let largest = 0;
  for (let k = 0; k < values.length; k++) {
    const v = Math.abs(values[k]);
    largest = v > largest ? v : largest;
  }
  return largest;
}

/** A difference with its sign always written, so "+0.120" and "−0.120" read as changes. */
function formatSigned(x: number): string {
  const text = formatNumber(x);
  return Number.isFinite(x) && x > 0 ? `+${text}` : text.replace('-', '−');
}
