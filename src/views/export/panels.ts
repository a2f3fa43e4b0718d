/** A chart of a view as an export panel. */
import type { Chart } from '../charts/chart';
import type { ExportPanel } from './svg';

/** `layout`: keys that replace the chart's own in the export (a legend placed for a small page). */
export function chartPanel(
  name: string,
  title: string,
  chart: Chart,
  screenHeightPx: number,
  layout: Record<string, unknown> = {}
): ExportPanel {
  return {
    name,
    title,
    screenHeightPx,
    figure: async colors => {
      const figure = await chart.figure(colors);
      return figure && { data: figure.data, layout: { ...figure.layout, ...layout } };
    }
  };
}
