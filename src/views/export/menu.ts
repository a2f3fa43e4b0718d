/**
 * The export menu in the widget's toolbar: which view or single chart, the journal width, and one
 * button per format; the file is downloaded by the browser.
 */
import { Widget } from '@lumino/widgets';
import { control, element } from '../dom';
import { defaultRequest, EXPORT_VIEWS } from './request';
import type { ExportedFile, ExportRequest, ExportView } from './request';
import { DOUBLE_COLUMN_MM, SINGLE_COLUMN_MM } from './style';
import type { ExportFormat } from './style';

/** The charts of each view, as the views name their panels; '' is the whole view. */
const CHOICES: Array<[ExportView, string, string]> = [
  ['global', '', 'Global view (all panels)'],
  ['global', 'split', 'Global · split bar'],
  ['global', 'heatmap', 'Global · mean Φ heatmap'],
  ['global', 'orders', 'Global · mass by order'],
  ['global', 'histogram', 'Global · local-score histogram'],
  ['global', 'scatter', 'Global · local score vs prediction'],
  ['local', '', 'Local view (the sample shown)'],
  ['local', 'local-heatmap', 'Local · Φ of the sample'],
  ['local', 'waterfall', 'Local · waterfall'],
  ['cohorts', '', 'Cohorts view'],
  ['cohorts', 'cohort-scores', 'Cohorts · scores'],
  ['cohorts', 'cohort-split', 'Cohorts · split bars'],
  ['compare', '', 'Compare view (every model, the Δs)'],
  ['compare', 'compare-split', 'Compare · split bar per model'],
  ['compare', 'delta-heatmap-1', 'Compare · ΔΦ̄ heatmap'],
  ['compare', 'paired-scatter', 'Compare · paired local scores']
];

export class ExportMenu extends Widget {
  private readonly what: HTMLSelectElement;
  private readonly width: HTMLSelectElement;
  private readonly details: HTMLDetailsElement;

  constructor(
    private readonly exportFigure: (request: ExportRequest) => Promise<ExportedFile>,
    private readonly reportError: (error: unknown) => void
  ) {
    super();
    this.addClass('intershap-export');
    this.details = document.createElement('details');
    const summary = element('summary', 'intershap-export-toggle jp-mod-styled', 'Export');
    summary.title = 'Export a view or a chart as a figure for a paper (SVG, PDF, PNG)';
    this.what = control('select', 'intershap-export-what');
    this.what.setAttribute('aria-label', 'What to export');
    this.what.replaceChildren(
      ...CHOICES.map(([view, chart, title]) => {
        const option = document.createElement('option');
        option.value = `${view}:${chart}`;
        option.textContent = title;
        return option;
      })
    );
    this.width = control('select', 'intershap-export-width');
    this.width.setAttribute('aria-label', 'Figure width');
    for (const [mm, title] of [
      [SINGLE_COLUMN_MM, `single column (${SINGLE_COLUMN_MM} mm)`],
      [DOUBLE_COLUMN_MM, `double column (${DOUBLE_COLUMN_MM} mm)`]
    ] as const) {
      const option = document.createElement('option');
      option.value = String(mm);
      option.textContent = title;
      this.width.append(option);
    }
    const buttons = (['svg', 'pdf', 'png'] as ExportFormat[]).map(format => {
      const button = element(
        'button',
        `intershap-export-${format} jp-mod-styled`,
        format.toUpperCase()
      );
      button.addEventListener('click', () => void this.download(format, button));
      return button;
    });
    const body = element('div', 'intershap-export-body');
    body.append(this.what, this.width, ...buttons);
    this.details.append(summary, body);
    this.node.append(this.details);
  }

  /** Starts the menu on the tab the user is looking at. */
  showView(view: ExportView): void {
    if (!this.what.value.startsWith(`${view}:`) && EXPORT_VIEWS.includes(view)) {
      this.what.value = `${view}:`;
    }
  }

  private async download(format: ExportFormat, button: HTMLButtonElement): Promise<void> {
    const [view, chart] = this.what.value.split(':') as [ExportView, string];
    const request = defaultRequest(view, format);
    request.chart = chart || null;
    request.style.widthMm = Number(this.width.value);
    button.disabled = true;
    try {
      const file = await this.exportFigure(request);
      const url = URL.createObjectURL(new Blob([file.bytes], { type: file.mime }));
      const link = document.createElement('a');
      link.href = url;
      link.download = file.filename;
      document.body.append(link);
      link.click();
      link.remove();
      // The download has its own copy once the click is handled.
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (error) {
      this.reportError(error);
    } finally {
      button.disabled = false;
    }
  }
}
