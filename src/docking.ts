/**
 * Docking: a view of a widget in a JupyterLab main-area tab of its own ("Open InterSHAP view in a
 * new tab"), beside the notebook. The tab hosts one more Dashboard of the same model, so it shares
 * the session (data, worker, selection) and the LinkedState (open tab, model shown) with every
 * other view of that widget.
 *
 * This module keeps the registry the command needs: which widget models are alive, which page
 * node belongs to which of them (the context menu's hit), and which one the user touched last
 * (the command palette's choice).
 */
import { MainAreaWidget } from '@jupyterlab/apputils';
import type { Session } from './compute/main/session';
import type { BrowserMessage } from './protocol/messages';
import { Dashboard } from './views/dashboard';
import type { LinkedState } from './views/linkedState';

/** What docking needs of a widget's model (InterSHAPModel; structural, so no import cycle). */
export interface DockableModel {
  readonly model_id: string;
  readonly session: Session;
  readonly linked: LinkedState;
  /** The model's dashboards on the page, newest last; `w.export` draws in one of them. */
  dashboards: Dashboard[];
  sendMessage(message: BrowserMessage): void;
}

/** The class of a docked view's tab content; the context menu offers the command on it too. */
export const DOCKED_CLASS = 'intershap-docked';
/**
 * Where the context menu offers the command: a view in a notebook's output, or a docked one
 * (one selector each: lumino's context menu takes no selector lists).
 */
export const DOCKABLE_SELECTORS = ['.intershap-widget', `.${DOCKED_CLASS}`];

export class Docking {
  /** Live models, oldest first. */
  private readonly models: DockableModel[] = [];
  /** The page nodes of each model's views (the notebook's outputs and the docked tabs). */
  private readonly nodes = new Map<DockableModel, Set<HTMLElement>>();
  private readonly owners = new WeakMap<HTMLElement, DockableModel>();
  /** The docked tabs of each model, in the order they were opened. */
  private readonly docks = new Map<DockableModel, MainAreaWidget<Dashboard>[]>();
  private lastTouched: DockableModel | null = null;

  /** A model was created on the page. */
  add(model: DockableModel): void {
    if (!this.models.includes(model)) {
      this.models.push(model);
    }
  }

  /** A model was destroyed (`w.close()`, the notebook's widget manager cleared): close its tabs. */
  remove(model: DockableModel): void {
    const index = this.models.indexOf(model);
    if (index >= 0) {
      this.models.splice(index, 1);
    }
    if (this.lastTouched === model) {
      this.lastTouched = null;
    }
    for (const panel of [...(this.docks.get(model) ?? [])]) {
      panel.dispose();
    }
    this.docks.delete(model);
    this.nodes.delete(model);
  }

  /**
   * Ties a view's node to its model: a right click on it docks that model, and a click or focus in
   * it makes it the one the command palette docks.
   */
  watch(node: HTMLElement, model: DockableModel): void {
    this.owners.set(node, model);
    let nodes = this.nodes.get(model);
    if (!nodes) {
      nodes = new Set();
      this.nodes.set(model, nodes);
    }
    nodes.add(node);
    const touch = () => {
      if (this.models.includes(model)) {
        this.lastTouched = model;
      }
    };
    node.addEventListener('pointerdown', touch, true);
    node.addEventListener('focusin', touch, true);
    node.addEventListener('contextmenu', touch, true);
  }

  /** The view's node left the page. */
  unwatch(node: HTMLElement): void {
    const model = this.owners.get(node);
    if (model) {
      this.nodes.get(model)?.delete(node);
      this.owners.delete(node);
    }
  }

  /** The model whose view `node` is (a node matched by one of DOCKABLE_SELECTORS), if it is alive. */
  modelOf(node: HTMLElement | undefined): DockableModel | null {
    const model = node ? this.owners.get(node) : undefined;
    return model && this.models.includes(model) ? model : null;
  }

  /** The command palette's choice: the widget last clicked or focused, else the newest one. */
  current(): DockableModel | null {
    return this.lastTouched ?? this.models[this.models.length - 1] ?? null;
  }

  /** Where the model's views are on the page (to put the new tab beside them), newest last. */
  viewNodes(model: DockableModel): HTMLElement[] {
    return [...(this.nodes.get(model) ?? [])].filter(node => node.isConnected);
  }

  /**
   * A new main-area tab with one more view of the model. The caller adds it to the shell; closing
   * it disposes its dashboard and takes it out of the model's dashboards.
   */
  createPanel(model: DockableModel): MainAreaWidget<Dashboard> {
    const dashboard = new Dashboard(
      model.session,
      modelId => model.sendMessage({ kind: 'cancel', modelId }),
      model.linked
    );
    dashboard.addClass(DOCKED_CLASS);
    dashboard.node.dataset.compute = model.session.compute.usesWorker ? 'worker' : 'main-thread';
    const panel = new MainAreaWidget({ content: dashboard });
    const open = this.docks.get(model) ?? [];
    const used = new Set(open.map(p => p.id));
    let number = 1;
    while (used.has(dockId(model, number))) {
      number++;
    }
    panel.id = dockId(model, number);
    panel.addClass('intershap-dock');
    panel.title.closable = true;
    panel.title.iconClass = 'intershap-dock-icon';
    const retitle = () => {
      const first = model.session.models.values().next().value;
      const name = first ? `InterSHAP: ${first.dataset.label}` : 'InterSHAP';
      panel.title.label = number > 1 ? `${name} (${number})` : name;
      panel.title.caption = `${panel.title.label}: a view of the widget, linked to its other views`;
    };
    retitle();
    const unsubscribe = model.session.subscribe(retitle);

    this.docks.set(model, [...open, panel]);
    model.dashboards.push(dashboard);
    this.watch(dashboard.node, model);
    panel.disposed.connect(() => {
      unsubscribe();
      this.unwatch(dashboard.node);
      model.dashboards = model.dashboards.filter(d => d !== dashboard);
      const left = (this.docks.get(model) ?? []).filter(p => p !== panel);
      if (this.docks.has(model)) {
        this.docks.set(model, left);
      }
      // MainAreaWidget disposes its content; make sure of it (the worker's listeners go with it).
      dashboard.dispose();
    });
    return panel;
  }

  /** The docked tabs open now (for the tests and the command's caption). */
  openDocks(model?: DockableModel): MainAreaWidget<Dashboard>[] {
    const lists = model ? [this.docks.get(model) ?? []] : [...this.docks.values()];
    return lists.flat().filter(p => !p.isDisposed);
  }
}

function dockId(model: DockableModel, number: number): string {
  return `intershap-dock-${model.model_id}-${number}`;
}

/** The one registry of the page (the plugin and every widget model share it). */
export const docking = new Docking();
