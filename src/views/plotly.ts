/** Lazy access to plotly.js, so that the widget's first paint does not wait for the chart library. */
import type * as PlotlyType from 'plotly.js';

export type PlotlyModule = typeof PlotlyType;

let loading: Promise<PlotlyModule> | null = null;

export function loadPlotly(): Promise<PlotlyModule> {
  loading ??= import('plotly.js-dist-min').then(
    mod => ((mod as { default?: PlotlyModule }).default ?? mod) as PlotlyModule
  );
  return loading;
}

/**
 * Plotly reads a small HTML subset in every label (<b>, <br>, <a href>): user-given names are
 * escaped so that they show literally and can never become markup.
 */
export function plotlyText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Reads JupyterLab's theme variables so charts follow the light and dark themes. */
export function themeColors(element: Element): { font: string; grid: string; paper: string } {
  const style = getComputedStyle(element);
  const read = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  return {
    font: read('--jp-ui-font-color1', '#222'),
    grid: read('--jp-border-color2', '#ddd'),
    paper: read('--jp-layout-color1', '#fff')
  };
}
