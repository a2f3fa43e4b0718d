/**
 * The JupyterLab plugin: registers the widget with ipywidgets, applies the user settings, and adds
 * the command that docks a view of a widget in a main-area tab of its own (src/docking.ts).
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IJupyterWidgetRegistry } from '@jupyter-widgets/base';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { applySettings } from './config';
import type { WidgetConfig } from './config';
import { DOCKABLE_SELECTORS, docking } from './docking';
import type { DockableModel } from './docking';
import { MODULE_NAME, MODULE_VERSION } from './version';
import { InterSHAPModel, InterSHAPView } from './widget';

const PLUGIN_ID = 'intershap-widget:plugin';

/** Opens one more view of a widget in a main-area tab beside the notebook. */
export const OPEN_IN_TAB = 'intershap:open-in-tab';
const OPEN_IN_TAB_LABEL = 'Open InterSHAP view in a new tab';
/** The context menu's item passes this, so the command docks the widget under the click. */
const FROM_CONTEXT_MENU = { origin: 'context-menu' };

function addDockCommand(app: JupyterFrontEnd, palette: ICommandPalette | null): void {
  const isDockable = (node: HTMLElement) =>
    DOCKABLE_SELECTORS.some(selector => node.matches(selector));
  /** The widget the command docks: the one right-clicked, or the palette's choice. */
  const target = (args: {
    origin?: unknown;
  }): { model: DockableModel | null; node?: HTMLElement } => {
    if (args.origin === FROM_CONTEXT_MENU.origin) {
      const node = app.contextMenuHitTest(isDockable);
      return { model: docking.modelOf(node), node };
    }
    return { model: docking.current() };
  };
  /** The main-area tab (a notebook, or a docked view) that holds `node`: the new tab goes beside it. */
  const mainAreaHolding = (nodes: HTMLElement[]) => {
    for (const widget of app.shell.widgets('main')) {
      if (nodes.some(node => widget.node.contains(node))) {
        return widget;
      }
    }
    return null;
  };

  app.commands.addCommand(OPEN_IN_TAB, {
    label: OPEN_IN_TAB_LABEL,
    caption: args =>
      target(args).model
        ? 'Opens one more view of this InterSHAP widget in a tab of its own, linked to its other views (selection, model shown, open tab)'
        : 'No InterSHAP widget on the page: run a cell that shows one (put `w` at the end of it) first',
    isEnabled: args => target(args).model !== null,
    execute: args => {
      const { model, node } = target(args);
      if (!model) {
        return;
      }
      // Beside the view that was right-clicked, else beside the newest view of the widget, else
      // beside the notebook the user is in.
      const ref =
        mainAreaHolding(node ? [node] : []) ??
        mainAreaHolding(docking.viewNodes(model).reverse()) ??
        app.shell.currentWidget;
      const panel = docking.createPanel(model);
      app.shell.add(panel, 'main', { mode: 'split-right', ref: ref?.id ?? null, activate: true });
      return panel.id;
    }
  });
  for (const selector of DOCKABLE_SELECTORS) {
    app.contextMenu.addItem({ command: OPEN_IN_TAB, selector, args: FROM_CONTEXT_MENU, rank: 0 });
  }
  palette?.addItem({ command: OPEN_IN_TAB, category: 'InterSHAP' });
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'InterSHAP: how much a multimodal model relies on cross-modal interactions.',
  autoStart: true,
  requires: [IJupyterWidgetRegistry],
  optional: [ISettingRegistry, ICommandPalette],
  activate: async (
    app: JupyterFrontEnd,
    registry: IJupyterWidgetRegistry,
    settings: ISettingRegistry | null,
    palette: ICommandPalette | null
  ) => {
    registry.registerWidget({
      name: MODULE_NAME,
      version: MODULE_VERSION,
      exports: { InterSHAPModel, InterSHAPView }
    });
    addDockCommand(app, palette);
    if (settings) {
      try {
        const loaded = await settings.load(PLUGIN_ID);
        const update = () => applySettings(loaded.composite as Partial<WidgetConfig>);
        update();
        loaded.changed.connect(update);
      } catch (error) {
        console.warn('intershap-widget: settings could not be loaded, using defaults', error);
      }
    }
  }
};

export default plugin;
