/** A chart of a view as an export panel. */
import type { Chart } from '../charts/chart';
import type { ExportPanel } from './svg';

export function chartPanel(
  name: string,
  title: string,
  chart: Chart,
  screenHeightPx: number
): ExportPanel {
  return { name, title, screenHeightPx, figure: colors => chart.figure(colors) };
}
