/** The JupyterLab plugin: registers the widget with ipywidgets and applies the user settings. */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { IJupyterWidgetRegistry } from '@jupyter-widgets/base';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { applySettings } from './config';
import type { WidgetConfig } from './config';
import { MODULE_NAME, MODULE_VERSION } from './version';
import { InterSHAPModel, InterSHAPView } from './widget';

const PLUGIN_ID = 'intershap-widget:plugin';

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'InterSHAP: how much a multimodal model relies on cross-modal interactions.',
  autoStart: true,
  requires: [IJupyterWidgetRegistry],
  optional: [ISettingRegistry],
  activate: async (
    _app: JupyterFrontEnd,
    registry: IJupyterWidgetRegistry,
    settings: ISettingRegistry | null
  ) => {
    registry.registerWidget({
      name: MODULE_NAME,
      version: MODULE_VERSION,
      exports: { InterSHAPModel, InterSHAPView }
    });
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
