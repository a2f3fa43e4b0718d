/**
 * The widget's layout: a toolbar (progress, cancel, model picker) over three tabs — Global, Local,
 * Cohorts — in lumino panels. It decides when to draw: only the visible tab, at most four times a
 * second while values stream in, and again when the theme changes.
 */
import { BoxPanel, Panel, TabPanel, Widget } from '@lumino/widgets';
import { CohortsView } from './cohortsView';
import { control } from './dom';
import { GlobalView } from './globalView';
import { LocalView } from './localView';
import { themeColors } from './plotly';
import { nextTask, Throttle, watchTheme } from './schedule';
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
  private readonly picker: ModelPicker;
  private readonly tabs: TabPanel;
  private readonly globalView: GlobalView;
  private readonly localView: LocalView;
  private readonly cohortsView: CohortsView;
  private readonly throttle: Throttle;
  private readonly unsubscribe: () => void;
  private readonly unwatchTheme: () => void;
  private activeModelId: string | null = null;
  private themeVersion = 0;
  /** False while the widget is scrolled out of view. */
  private onScreen = true;
  private readonly visibility: IntersectionObserver;

  constructor(
    private readonly source: DashboardSource,
    onCancel: (modelId: string) => void
  ) {
    super({ direction: 'top-to-bottom', spacing: 4 });
    this.addClass('intershap-dashboard');
    this.throttle = new Throttle(() => this.draw(), REDRAW_INTERVAL_MS);
    const requestDraw = () => this.throttle.flush();

    this.status = new StatusBar(onCancel);
    this.picker = new ModelPicker(modelId => {
      this.activeModelId = modelId;
      requestDraw();
    });
    const toolbar = new Panel();
    toolbar.addClass('intershap-toolbar');
    toolbar.addWidget(this.status);
    toolbar.addWidget(this.picker);

    this.globalView = new GlobalView({
      openSample: index => this.openSample(index),
      requestDraw
    });
    this.localView = new LocalView({ requestDraw });
    this.cohortsView = new CohortsView(requestDraw);
    this.tabs = new TabPanel();
    this.tabs.addClass('intershap-tabs');
    this.tabs.addWidget(this.globalView);
    this.tabs.addWidget(this.localView);
    this.tabs.addWidget(this.cohortsView);
    this.tabs.currentIndex = 0;
    this.tabs.currentChanged.connect(requestDraw);

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
      this.throttle.request();
    });
    this.unwatchTheme = watchTheme(() => {
      this.themeVersion++;
      requestDraw();
    });
    this.throttle.request();
  }

  /** Shows one sample in the local view (a click on a point, anywhere). */
  openSample(index: number): void {
    this.localView.showSample(index);
    this.tabs.currentWidget = this.localView;
    this.throttle.flush();
  }

  private activeModel(): string | null {
    const ids = [...this.source.models.keys()];
    if (this.activeModelId === null || !ids.includes(this.activeModelId)) {
      // The first model is the default.
      this.activeModelId = ids[0] ?? null;
    }
    return this.activeModelId;
  }

  /**
   * While values stream in, a widget scrolled out of view leaves its charts for later (the final
   * state is drawn either way, so a finished widget is always complete, on screen or not).
   */
  private streaming(): boolean {
    return [...this.source.models.values()].some(m => m.status?.state === 'running');
  }

  private async draw(): Promise<void> {
    this.status.render(this.source);
    const modelId = this.activeModel();
    if (modelId === null) {
      return;
    }
    this.picker.render(this.source, modelId);
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
      drawCharts: this.onScreen || !this.streaming()
    });
    const took = performance.now() - start;
    this.throttle.intervalMs = Math.min(
      MAX_REDRAW_INTERVAL_MS,
      Math.max(REDRAW_INTERVAL_MS, REDRAW_SLOWDOWN * took)
    );
  }

  protected onAfterShow(): void {
    this.throttle.flush();
  }

  protected onAfterAttach(): void {
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
    super.dispose();
  }
}
