/**
 * Cohorts side by side: the samples grouped by label, predicted class, or a column the user gave
 * (`cohorts=` in Python), each with its global score and interval, mean local score and split into
 * modalities and interactions. A cohort can be made the selection, which every global view follows.
 */
import { Widget } from '@lumino/widgets';
import type { CohortSummary } from '../compute/main/session';
import { Chart } from './charts/chart';
import { chartPanel } from './export/panels';
import type { ExportContent } from './export/svg';
import { SplitBar } from './charts/splitBar';
import { control, element } from './dom';
import { formatCount, formatInterval, formatNumber } from './format';
import { axisStyle, baseLayout, INTERACTION_COLOR, MODALITY_COLORS, plotlyText } from './plotly';
import type { ThemeColors } from './plotly';
import { nextTask } from './schedule';
import type { DashboardView, DrawContext } from './types';

/** Numbers each Cohorts view, so two views of one widget do not cancel each other's intervals. */
let cohortsViews = 0;

/** More cohorts than this are not drawn (the largest are kept), so charts stay readable. */
const MAX_COHORTS = 24;

type Interval = { low: number; high: number };

class CohortScoreChart extends Chart {
  constructor() {
    super('intershap-cohort-chart');
  }

  async draw(
    cohorts: CohortSummary[],
    intervals: Array<Interval | null>,
    colors: ThemeColors
  ): Promise<void> {
    this.remember(c => this.draw(cohorts, intervals, c));
    const x = cohorts.map(c => plotlyText(c.name));
    const scores = cohorts.map(c => c.aggregate.globalIntershap);
    const hasIntervals = intervals.some(iv => iv !== null);
    const layout = baseLayout(colors, 280);
    await this.react(
      [
        {
          type: 'bar',
          name: 'global InterSHAP',
          x,
          y: scores.map(s => (Number.isFinite(s) ? s : null)),
          marker: { color: INTERACTION_COLOR },
          error_y: hasIntervals
            ? {
                type: 'data',
                symmetric: false,
                array: intervals.map((iv, k) => (iv ? iv.high - scores[k] : 0)),
                arrayminus: intervals.map((iv, k) => (iv ? scores[k] - iv.low : 0)),
                color: colors.font,
                thickness: 1.2,
                width: 4
              }
            : undefined,
          customdata: cohorts.map(c => formatNumber(c.aggregate.globalIntershap)),
          hovertemplate: '%{x}: global %{customdata}<extra></extra>'
        },
        {
          type: 'scatter',
          mode: 'markers',
          name: 'mean local score',
          x,
          y: cohorts.map(c =>
            Number.isFinite(c.aggregate.localMean) ? c.aggregate.localMean : null
          ),
          marker: { color: MODALITY_COLORS[4], size: 9, symbol: 'diamond' },
          customdata: cohorts.map(c => formatNumber(c.aggregate.localMean)),
          hovertemplate: '%{x}: mean local %{customdata}<extra></extra>'
        }
      ],
      {
        ...layout,
        title: {
          text: 'Global InterSHAP per cohort (95% bootstrap interval) and mean local score',
          font: { size: 12 }
        },
        legend: { orientation: 'h', y: 1.1, x: 1, xanchor: 'right', font: { size: 10 } },
        xaxis: { ...axisStyle(colors), type: 'category', fixedrange: true },
        yaxis: { ...axisStyle(colors), rangemode: 'tozero', fixedrange: true }
      }
    );
  }
}

export class CohortsView extends Widget implements DashboardView {
  private readonly groupingSelect: HTMLSelectElement;
  private readonly note: HTMLElement;
  private readonly empty: HTMLElement;
  private readonly body: HTMLElement;
  private readonly scoreChart = new CohortScoreChart();
  private readonly split = new SplitBar('intershap-cohort-split');
  private readonly table: HTMLTableElement;
  private grouping: string | null = null;
  private drawnKey = '';
  /** Increases with every new set of cohorts; intervals for an older set are dropped. */
  private generation = 0;
  private readonly viewId = ++cohortsViews;

  constructor(private readonly requestDraw: () => void) {
    super();
    this.addClass('intershap-cohorts');
    this.title.label = 'Cohorts';
    const header = element('div', 'intershap-cohorts-header');
    this.groupingSelect = control('select', 'intershap-cohort-grouping');
    this.groupingSelect.addEventListener('change', () => {
      this.grouping = this.groupingSelect.value;
      this.drawnKey = '';
      this.requestDraw();
    });
    this.note = element('span', 'intershap-cohorts-note');
    header.append('Cohorts by ', this.groupingSelect, this.note);
    this.empty = element(
      'div',
      'intershap-empty',
      'No cohorts yet: give labels=, or cohorts= (one label per sample) in Python, or explain a classifier (cohorts by predicted class).'
    );
    this.table = element('table', 'intershap-cohort-table');
    this.body = element('div', 'intershap-cohorts-body');
    this.body.append(this.scoreChart.node, this.split.node, this.table);
    this.node.append(header, this.empty, this.body);
  }

  /** What an export of this view holds: the grouping, the cohorts' scores and their split. */
  exportContent(): ExportContent {
    if (this.body.hidden || this.grouping === null) {
      return { lines: [], panels: [] };
    }
    const grouping = this.groupingSelect.selectedOptions[0]?.textContent ?? this.grouping;
    const rows = this.table.tBodies[0]?.rows.length ?? 0;
    return {
      lines: [`Cohorts by ${grouping}${this.note.textContent ?? ''}`],
      panels: [
        chartPanel('cohort-scores', 'Global InterSHAP per cohort', this.scoreChart, 280),
        chartPanel('cohort-split', 'Share of Σ|Φ̄| per cohort', this.split, 64 + 34 * rows)
      ]
    };
  }

  async render(context: DrawContext): Promise<void> {
    const { source, modelId, model } = context;
    const options = source.groupings(modelId);
    this.empty.hidden = options.length > 0;
    this.body.hidden = options.length === 0;
    this.syncOptions(options);
    if (options.length === 0 || this.grouping === null || !model.aggregate || !context.drawCharts) {
      return;
    }
    const key = `${modelId}|${this.grouping}|${model.version}|${source.selectionVersion}|${context.themeVersion}`;
    if (key === this.drawnKey) {
      return;
    }
    this.drawnKey = key;
    const generation = ++this.generation;
    const all = await source.cohortSummaries(modelId, this.grouping);
    if (generation !== this.generation) {
      return;
    }
    const cohorts = largest(all, MAX_COHORTS);
    const within = all.some(c => c.inSelection)
      ? ` · within the selection of ${formatCount(source.selection?.length ?? 0)} samples`
      : '';
    this.note.textContent =
      (all.length > cohorts.length
        ? ` · the ${MAX_COHORTS} largest of ${formatCount(all.length)} cohorts`
        : ` · ${formatCount(all.length)} cohorts`) + within;
    const intervals: Array<Interval | null> = cohorts.map(() => null);
    this.renderTable(context, cohorts, intervals);
    await nextTask();
    await this.scoreChart.draw(cohorts, intervals, context.colors);
    await nextTask();
    await this.split.draw(
      model.dataset.names,
      cohorts.map(c => ({
        label: c.name,
        contributions: c.aggregate.contributions,
        interaction: c.aggregate.interactionShare
      })),
      context.colors
    );
    const finished =
      model.status?.state === 'done' || model.status?.state === 'cancelled' || model.partial;
    if (finished) {
      void this.fillIntervals(context, cohorts, intervals, generation);
    }
  }

  private syncOptions(options: Array<{ key: string; title: string }>): void {
    const keys = options.map(o => o.key);
    const current = [...this.groupingSelect.options].map(o => o.value);
    if (current.join('\u0000') !== keys.join('\u0000')) {
      this.groupingSelect.replaceChildren(
        ...options.map(o => {
          const option = document.createElement('option');
          option.value = o.key;
          option.textContent = o.title;
          return option;
        })
      );
    }
    if (this.grouping === null || !keys.includes(this.grouping)) {
      // A grouping the user gave is what they came for: prefer it over label and class.
      this.grouping = keys.find(k => k.startsWith('column:')) ?? keys[0] ?? null;
    }
    if (this.grouping !== null) {
      this.groupingSelect.value = this.grouping;
    }
  }

  /** Intervals one cohort after another, in the worker's spare time; the chart follows at the end. */
  private async fillIntervals(
    context: DrawContext,
    cohorts: CohortSummary[],
    intervals: Array<Interval | null>,
    generation: number
  ): Promise<void> {
    for (let k = 0; k < cohorts.length; k++) {
      const interval = await context.source.cohortInterval(
        context.modelId,
        `${this.viewId}:${k}`,
        cohorts[k].members
      );
      if (generation !== this.generation) {
        return;
      }
      intervals[k] = interval;
      const cell = this.table.querySelector(`tr[data-cohort="${k}"] .intershap-cohort-interval`);
      if (cell) {
        cell.textContent = formatInterval(interval);
      }
    }
    await this.scoreChart.draw(cohorts, intervals, context.colors);
  }

  private renderTable(
    context: DrawContext,
    cohorts: CohortSummary[],
    intervals: Array<Interval | null>
  ): void {
    const names = context.model.dataset.names;
    const head = element('thead', '');
    const headRow = element('tr', '');
    const titles = [
      'Cohort',
      'Samples',
      'Global InterSHAP',
      '95% interval',
      'Mean local',
      ...names.map(name => `${name} alone`),
      ''
    ];
    for (const title of titles) {
      headRow.append(element('th', '', title));
    }
    head.append(headRow);
    const body = element('tbody', '');
    cohorts.forEach((cohort, k) => {
      const row = element('tr', '');
      row.dataset.cohort = String(k);
      const select = element('button', 'intershap-cohort-select jp-mod-styled', 'Select');
      select.title = cohort.inSelection
        ? 'Make this cohort (within the current selection) the selection'
        : 'Make this cohort the selection';
      select.addEventListener('click', () => context.source.setSelection(cohort.members, 'view'));
      const actions = element('td', '');
      actions.append(select);
      row.append(
        element('td', 'intershap-cohort-name', cohort.name),
        element(
          'td',
          'intershap-cohort-n',
          cohort.inSelection
            ? `${formatCount(cohort.aggregate.n)} of ${formatCount(cohort.total)} in the selection`
            : formatCount(cohort.aggregate.n)
        ),
        element('td', 'intershap-cohort-score', formatNumber(cohort.aggregate.globalIntershap)),
        element('td', 'intershap-cohort-interval', formatInterval(intervals[k])),
        element('td', 'intershap-cohort-local', formatNumber(cohort.aggregate.localMean)),
        ...names.map((_, m) =>
          element(
            'td',
            'intershap-cohort-contribution',
            formatNumber(cohort.aggregate.contributions[m])
          )
        ),
        actions
      );
      body.append(row);
    });
    this.table.replaceChildren(head, body);
  }

  dispose(): void {
    this.scoreChart.dispose();
    this.split.dispose();
    super.dispose();
  }
}

/** The `limit` largest cohorts, in their original order. */
function largest(cohorts: CohortSummary[], limit: number): CohortSummary[] {
  if (cohorts.length <= limit) {
    return cohorts;
  }
  const keep = new Set([...cohorts].sort((a, b) => b.total - a.total).slice(0, limit));
  return cohorts.filter(c => keep.has(c));
}
