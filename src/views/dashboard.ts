/**
 * The widget's layout: a toolbar (progress, cancel, model picker) over three tabs — Global, Local,
 * Cohorts — in lumino panels. It decides when to draw: only the visible tab, at most four times a
 * second while values stream in, and again when the theme changes.
 */
import { BoxPanel, Panel, TabPanel, Widget } from '@lumino/widgets';
import { CohortsView } from './cohortsView';
import { CompareView } from './compareView';
import { control } from './dom';
import { encodeFigure, MIME_TYPES } from './export/files';
import { ExportMenu } from './export/menu';
import { fileName } from './export/request';
import type { ExportedFile, ExportRequest, ExportView } from './export/request';
import { composeSvg } from './export/svg';
import type { ExportContent } from './export/svg';
import { GlobalView } from './globalView';
import type { LinkedState, TabName } from './linkedState';
import { LocalView } from './localView';
import { themeColors } from './plotly';
import { nextTask, Throttle, watchTheme } from './schedule';
import { RemaskControl } from './remaskControl';
import { StatusBar } from './statusBar';
import type { DashboardSource, DashboardView } from './types';

/** At most this often while values stream in (4 redraws a second)... */
const REDRAW_INTERVAL_MS = 250;
/**
 * ...and less often when drawing is slow (a slow machine, a busy kernel): the pause after a redraw
 * is at least twice what it took, so drawing never takes more than a third of the main thread.
 */
const REDRAW_SLOWDOWN = 2;
const MAX_REDRAW_INTERVAL_MS = 2000;

/** Chooses which model the views show when several are compared (w.add_model). */
class ModelPicker extends Widget {
  readonly select: HTMLSelectElement;

  constructor(onPick: (modelId: string) => void) {
    super();
    this.addClass('intershap-model-picker');
    this.select = control('select', 'intershap-model-select');
    this.select.setAttribute('aria-label', 'Model');
    this.select.addEventListener('change', () => onPick(this.select.value));
    this.node.append('Model ', this.select);
  }

  render(source: DashboardSource, active: string): void {
    const models = [...source.models.values()];
    this.node.hidden = models.length < 2;
    const ids = models.map(m => m.dataset.modelId);
    if ([...this.select.options].map(o => o.value).join('\u0000') !== ids.join('\u0000')) {
      this.select.replaceChildren(
        ...models.map(m => {
          const option = document.createElement('option');
          option.value = m.dataset.modelId;
          option.textContent = m.dataset.label;
          return option;
        })
      );
    }
    this.select.value = active;
  }
}

export class Dashboard extends BoxPanel {
  private readonly status: StatusBar;
  private readonly toolbar: Panel;
  /** The notice and error the toolbar was last sized for. */
  private toolbarKey = '';
  private readonly picker: ModelPicker;
  private readonly remaskControl: RemaskControl;
  private readonly tabs: TabPanel;
  private readonly exportMenu: ExportMenu;
  private readonly globalView: GlobalView;
  private readonly localView: LocalView;
  private readonly cohortsView: CohortsView;
  private readonly compareView: CompareView;
  private readonly throttle: Throttle;
  private readonly unsubscribe: () => void;
  private readonly unwatchTheme: () => void;
  private readonly unlink: () => void;
  private themeVersion = 0;
  /** False while the widget is scrolled out of view. */
  private onScreen = true;
  private readonly visibility: IntersectionObserver;

  /**
   * @param linked What this dashboard shares with the widget's other views (a docked tab, the
   *   notebook's output): the open tab, the model shown, the compared models.
   */
  constructor(
    private readonly source: DashboardSource,
    onCancel: (modelId: string) => void,
    private readonly linked: LinkedState
  ) {
    super({ direction: 'top-to-bottom', spacing: 4 });
    this.addClass('intershap-dashboard');
    this.throttle = new Throttle(() => this.draw(), REDRAW_INTERVAL_MS);
    const requestDraw = () => this.throttle.flush();

    this.status = new StatusBar(onCancel);
    this.picker = new ModelPicker(modelId => linked.update({ modelId }));
    const toolbar = new Panel();
    this.toolbar = toolbar;
    toolbar.addClass('intershap-toolbar');
    toolbar.addWidget(this.status);
    toolbar.addWidget(this.picker);
    this.remaskControl = new RemaskControl(source);
    toolbar.addWidget(this.remaskControl);
    this.exportMenu = new ExportMenu(
      request => this.exportFigure(request),
      error => source.reportError(error)
    );
    toolbar.addWidget(this.exportMenu);

    this.globalView = new GlobalView({
      openSample: index => this.openSample(index),
      requestDraw
    });
    this.localView = new LocalView({
      requestDraw,
      closePair: () => linked.update({ pairedModelId: null })
    });
    this.cohortsView = new CohortsView(requestDraw);
    this.compareView = new CompareView({
      linked,
      requestDraw,
      openPair: (index, referenceId, otherId) => {
        linked.update({ modelId: referenceId, pairedModelId: otherId });
        this.openSample(index);
      }
    });
    this.tabs = new TabPanel();
    this.tabs.addClass('intershap-tabs');
    this.tabs.addWidget(this.globalView);
    this.tabs.addWidget(this.localView);
    this.tabs.addWidget(this.cohortsView);
    this.tabs.currentIndex = 0;
    this.tabs.currentChanged.connect(() => {
      this.exportMenu.showView(this.currentViewName());
      linked.update({ tab: this.currentViewName() });
      requestDraw();
    });
    this.unlink = linked.subscribe((choices, changed) => {
      if (changed.has('tab')) {
        this.showTab(choices.tab);
      }
      requestDraw();
    });
    this.showTab(linked.choices.tab);

    BoxPanel.setStretch(toolbar, 0);
    BoxPanel.setStretch(this.tabs, 1);
    this.addWidget(toolbar);
    this.addWidget(this.tabs);

    this.visibility = new IntersectionObserver(entries => {
      this.onScreen = entries[entries.length - 1].isIntersecting;
      this.node.dataset.onScreen = String(this.onScreen);
      if (this.onScreen) {
        requestDraw();
      }
    });
    this.visibility.observe(this.node);
    this.unsubscribe = source.subscribe(() => {
      // Progress is cheap to show and should never lag: only the charts are throttled.
      this.status.render(source);
      this.renderRemask();
      this.fitToolbar();
      this.throttle.request();
    });
    this.unwatchTheme = watchTheme(() => {
      this.themeVersion++;
      requestDraw();
    });
    this.throttle.request();
  }

  /**
   * A notice, an error or the re-mask control may wrap onto more lines than the toolbar's height: the toolbar grows to
   * show them whole. Measured only when their text or the width changes (a layout read, never
   * per chunk).
   */
  private fitToolbar(): void {
    const width = this.toolbar.node.clientWidth;
    const remask = this.remaskControl.isHidden ? '' : 'remask';
    const key = `${this.source.notice ?? ''}\u0000${this.source.error ?? ''}\u0000${width}\u0000${remask}`;
    if (key === this.toolbarKey || !this.isAttached) {
      return;
    }
    // The re-mask control wraps onto more lines in a narrow toolbar, as the status does.
    const height = Math.max(this.status.node.offsetHeight, this.remaskControl.node.offsetHeight);
    if (height === 0 || width === 0) {
      return; // hidden: measured when shown
    }
    this.toolbarKey = key;
    const needed = Math.max(30, Math.ceil(height) + 2);
    if (this.toolbar.node.style.minHeight !== `${needed}px`) {
      this.toolbar.node.style.minHeight = `${needed}px`;
      this.fit();
    }
  }

  /** Shows one sample in the local view (a click on a point, anywhere). */
  openSample(index: number): void {
    this.localView.showSample(index);
    this.linked.update({ tab: 'local' });
    this.throttle.flush();
  }

  /**
   * A figure of one view (or one of its charts) for a paper: the view is drawn for the requested
   * model and sample, even in a hidden tab, and its charts are drawn again in the export's theme
   * and size, without changing what the screen shows.
   */
  async exportFigure(request: ExportRequest): Promise<ExportedFile> {
    const modelId = request.modelId ?? this.activeModel();
    const model = modelId === null ? undefined : this.source.models.get(modelId);
    if (modelId === null || !model) {
      const known = [...this.source.models.values()].map(m => m.dataset.label);
      throw new Error(
        `model: expected one of ${known.join(', ') || '(no model yet)'}, got ${String(request.modelId)}`
      );
    }
    if (request.view === 'local') {
      this.showExportSample(request.sample, model.dataset.nSamples);
    }
    const view = this.viewNamed(request.view);
    const colors = themeColors(this.node);
    await view.render({
      source: this.source,
      modelId,
      model,
      colors,
      themeVersion: this.themeVersion,
      drawCharts: true
    });
    let content = this.exportContentOf(request.view, request.style.dpi);
    if (request.chart !== null) {
      const panel = content.panels.find(p => p.name === request.chart);
      if (!panel) {
        const names = content.panels.map(p => p.name).join(', ') || '(none drawn yet)';
        throw new Error(
          `chart: expected one of ${names} for the ${request.view} view, got ${request.chart}`
        );
      }
      content = { lines: content.lines, panels: [panel] };
    }
    const svg = await composeSvg(content, request.style, colors, request.chart === null);
    const bytes = await encodeFigure(svg, request.format, request.style.dpi);
    if (modelId !== this.activeModel()) {
      // The view was drawn for another model: draw the screen's model again.
      this.throttle.flush();
    }
    return {
      bytes,
      mime: MIME_TYPES[request.format],
      filename: fileName(request),
      panels: content.panels.map(p => p.name)
    };
  }

  private showExportSample(sample: number | null, nSamples: number): void {
    const index = sample ?? this.localView.sampleIndex;
    if (index === null) {
      throw new Error(
        'sample: expected a sample index for the local view (no sample is open there), got None'
      );
    }
    if (!Number.isInteger(index) || index < 0 || index >= nSamples) {
      throw new Error(`sample: expected an index from 0 to ${nSamples - 1}, got ${index}`);
    }
    this.localView.showSample(index);
  }

  private viewNamed(name: TabName): Widget & DashboardView {
    return {
      global: this.globalView,
      local: this.localView,
      cohorts: this.cohortsView,
      compare: this.compareView
    }[name];
  }

  private showTab(name: TabName): void {
    const view = this.viewNamed(name);
    if (view === this.compareView) {
      this.syncCompareTab();
    }
    if (!this.tabs.widgets.includes(view)) {
      return;
    }
    if (this.tabs.currentWidget !== view) {
      this.tabs.currentWidget = view;
    }
  }

  private exportContentOf(name: ExportView, dpi: number): ExportContent {
    switch (name) {
      case 'global':
        return this.globalView.exportContent(dpi);
      case 'local':
        return this.localView.exportContent();
      case 'cohorts':
        return this.cohortsView.exportContent();
      case 'compare':
        return this.compareView.exportContent(dpi);
    }
  }

  private currentViewName(): ExportView {
    const current = this.tabs.currentWidget;
    const names: ExportView[] = ['local', 'cohorts', 'compare'];
    return names.find(name => this.viewNamed(name) === current) ?? 'global';
  }

  /** The Compare tab is there while the widget holds two or more models. */
  private syncCompareTab(): void {
    const wanted = this.source.models.size >= 2;
    const shown = this.tabs.widgets.includes(this.compareView);
    if (wanted && !shown) {
      this.tabs.addWidget(this.compareView);
    } else if (!wanted && shown) {
      this.compareView.parent = null;
    }
  }

  private activeModel(): string | null {
    const ids = [...this.source.models.keys()];
    const chosen = this.linked.choices.modelId;
    // The first model is the default.
    return chosen !== null && ids.includes(chosen) ? chosen : (ids[0] ?? null);
  }

  /** The model the Local tab shows beside `modelId`, if one was opened from Compare. */
  private pairedModel(modelId: string): string | null {
    const paired = this.linked.choices.pairedModelId;
    return paired !== null && paired !== modelId && this.source.models.has(paired) ? paired : null;
  }

  /**
   * While values stream in, a widget scrolled out of view leaves its charts for later (the final
   * state is drawn either way, so a finished widget is always complete, on screen or not).
   */
  private streaming(): boolean {
    return [...this.source.models.values()].some(m => m.status?.state === 'running' && !m.partial);
  }

  /** The re-mask control follows the model shown (hidden for a kernel-evaluated one). */
  private renderRemask(): void {
    const modelId = this.activeModel();
    this.remaskControl.setHidden(modelId === null || !this.source.remaskState(modelId));
    if (modelId !== null) {
      this.remaskControl.render(modelId);
    }
  }

  private async draw(): Promise<void> {
    this.status.render(this.source);
    const modelId = this.activeModel();
    // Only a summary came back from the notebook's saved state: no model to draw, only the notice.
    const summaryOnly = modelId === null && this.source.notice !== null;
    for (const part of [this.tabs, this.picker, this.exportMenu]) {
      part.setHidden(summaryOnly);
    }
    this.toggleClass('intershap-summary-only', summaryOnly);
    if (modelId === null) {
      return;
    }
    this.picker.render(this.source, modelId);
    this.renderRemask();
    this.syncCompareTab();
    if (this.tabs.currentWidget !== this.viewNamed(this.linked.choices.tab)) {
      this.showTab(this.linked.choices.tab);
    }
    const view = this.tabs.currentWidget as (Widget & DashboardView) | null;
    if (!view || !this.isVisible) {
      return;
    }
    const start = performance.now();
    await nextTask();
    await view.render({
      source: this.source,
      modelId,
      model: this.source.models.get(modelId)!,
      colors: themeColors(this.node),
      themeVersion: this.themeVersion,
      drawCharts: this.onScreen || !this.streaming(),
      pairedModelId: this.pairedModel(modelId)
    });
    const took = performance.now() - start;
    this.throttle.intervalMs = Math.min(
      MAX_REDRAW_INTERVAL_MS,
      Math.max(REDRAW_INTERVAL_MS, REDRAW_SLOWDOWN * took)
    );
  }

  protected onResize(msg: Widget.ResizeMessage): void {
    super.onResize(msg);
    this.fitToolbar();
  }

  protected onAfterShow(): void {
    this.fitToolbar();
    this.throttle.flush();
  }

  protected onAfterAttach(): void {
    this.status.render(this.source);
    // Measured once the browser has laid the new view out (it has no width yet).
    requestAnimationFrame(() => this.fitToolbar());
    this.throttle.flush();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.throttle.dispose();
    this.visibility.disconnect();
    this.unsubscribe();
    this.unwatchTheme();
    this.unlink();
    if (!this.compareView.parent) {
      // Out of the tabs with one model, so the tabs' disposal does not reach it.
      this.compareView.dispose();
    }
    super.dispose();
  }
}
