/**
 * What to export, as the export menu and the kernel's `w.export(...)` both ask for it, and the
 * file that comes back.
 */
import { DEFAULT_STYLE } from './style';
import type { ExportFormat, ExportStyle } from './style';

export const EXPORT_VIEWS = ['global', 'local', 'cohorts', 'compare'] as const;
export type ExportView = (typeof EXPORT_VIEWS)[number];

export interface ExportRequest {
  view: ExportView;
  /** One chart of the view by its panel name (e.g. 'heatmap'), or null for the whole view. */
  chart: string | null;
  /** The local view's sample; null keeps the one shown. */
  sample: number | null;
  /** Null: the model shown. */
  modelId: string | null;
  format: ExportFormat;
  style: ExportStyle;
}

export interface ExportedFile {
  bytes: Uint8Array;
  mime: string;
  /** A file name for a download: intershap-<view>[-<chart>].<format>. */
  filename: string;
  /** What the figure holds, for the kernel's reply and the tests. */
  panels: string[];
}

export function defaultRequest(view: ExportView, format: ExportFormat): ExportRequest {
  return { view, chart: null, sample: null, modelId: null, format, style: { ...DEFAULT_STYLE } };
}

export function fileName(request: ExportRequest): string {
  const chart = request.chart ? `-${request.chart}` : '';
  return `intershap-${request.view}${chart}.${request.format}`;
}
