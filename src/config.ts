/** User settings (schema/plugin.json), filled in by the plugin from the setting registry. */
export interface WidgetConfig {
  useWorker: boolean;
  decimals: number;
  colorscale: string;
}

export const config: WidgetConfig = { useWorker: true, decimals: 4, colorscale: 'RdBu' };

export function applySettings(composite: Partial<WidgetConfig>): void {
  Object.assign(config, composite);
}
