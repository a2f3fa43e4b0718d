/**
 * The export messages: the kernel asks for a figure (`w.export(...)`), the browser answers with
 * the file's bytes as one binary buffer, or with why it could not draw it. The kernel side is
 * intershap_widget/export.py (the request) and protocol.py (the replies).
 */
import { checkObject, field, isCount, isFiniteNumber, isString } from './messages';
import type { Json } from './messages';

export const EXPORT_VIEWS = ['global', 'local', 'cohorts', 'compare'] as const;
export const EXPORT_FORMATS = ['svg', 'pdf', 'png'] as const;
export const EXPORT_THEMES = ['paper', 'screen'] as const;

export interface ExportMessage {
  kind: 'export';
  id: string;
  view: (typeof EXPORT_VIEWS)[number];
  chart: string | null;
  sample: number | null;
  modelId: string | null;
  format: (typeof EXPORT_FORMATS)[number];
  style: {
    widthMm: number;
    heightMm: number | null;
    fontPt: number;
    dpi: number;
    theme: (typeof EXPORT_THEMES)[number];
  };
}

/** Browser → kernel: the figure (its bytes follow as the message's one buffer), or the error. */
export type ExportReply =
  | { kind: 'exported'; id: string; format: ExportMessage['format']; panels: string[] }
  | { kind: 'exportFailed'; id: string; error: string };

const oneOf =
  <T extends string>(values: readonly T[]) =>
  (v: unknown): v is T =>
    typeof v === 'string' && (values as readonly string[]).includes(v);
const listed = (values: readonly string[]) => `one of ${values.map(v => `'${v}'`).join(', ')}`;
const isPositive = (v: unknown): v is number => isFiniteNumber(v) && v > 0;
const orNull =
  <T>(check: (v: unknown) => v is T) =>
  (v: unknown): v is T | null =>
    v === null || check(v);

/** True for a message that asks for a figure (checked by parseExportMessage). */
export function isExportRequest(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && (raw as Json).kind === 'export';
}

export function parseExportMessage(raw: unknown): ExportMessage {
  const msg = checkObject(raw);
  const style = checkObject(field(msg, 'style', (v): v is Json => v !== undefined, 'an object'));
  const styleField = <T>(name: string, check: (v: unknown) => v is T, expected: string): T =>
    field({ ...style, kind: 'export style' }, name, check, expected);
  return {
    kind: 'export',
    id: field(msg, 'id', isString, 'a string'),
    view: field(msg, 'view', oneOf(EXPORT_VIEWS), listed(EXPORT_VIEWS)),
    chart: field(msg, 'chart', orNull(isString), 'a chart name or null'),
    sample: field(msg, 'sample', orNull(isCount), 'a sample index or null'),
    modelId: field(msg, 'modelId', orNull(isString), 'a string or null'),
    format: field(msg, 'format', oneOf(EXPORT_FORMATS), listed(EXPORT_FORMATS)),
    style: {
      widthMm: styleField('widthMm', isPositive, 'a positive number'),
      heightMm: styleField('heightMm', orNull(isPositive), 'a positive number or null'),
      fontPt: styleField('fontPt', isPositive, 'a positive number'),
      dpi: styleField('dpi', isPositive, 'a positive number'),
      theme: styleField('theme', oneOf(EXPORT_THEMES), listed(EXPORT_THEMES))
    }
  };
}
