/**
 * Progress while values stream in, a cancel button, and the last error — shown beside, never in
 * place of, the results already on screen.
 */
import { Widget } from '@lumino/widgets';
import type { DashboardSource } from './types';

const KERNEL_NAMES: Record<string, string> = {
  simd: 'WebAssembly SIMD, two samples per instruction',
  javascript: 'JavaScript',
  pending: 'not chosen yet'
};

export class StatusBar extends Widget {
  private readonly progressText: HTMLElement;
  private readonly progressBar: HTMLProgressElement;
  private readonly cancelButton: HTMLButtonElement;
  private readonly errorText: HTMLElement;
  private readonly noticeText: HTMLElement;
  private runningModel: string | null = null;

  constructor(onCancel: (modelId: string) => void) {
    super();
    this.addClass('intershap-status');
    this.progressBar = document.createElement('progress');
    this.progressBar.className = 'intershap-progress-bar';
    this.progressText = document.createElement('span');
    this.progressText.className = 'intershap-progress';
    this.cancelButton = document.createElement('button');
    this.cancelButton.className = 'intershap-cancel jp-mod-styled';
    this.cancelButton.textContent = 'Cancel';
    this.cancelButton.addEventListener('click', () => {
      if (this.runningModel) {
        onCancel(this.runningModel);
      }
    });
    this.errorText = document.createElement('div');
    this.errorText.className = 'intershap-error';
    this.errorText.setAttribute('role', 'alert');
    this.noticeText = document.createElement('div');
    this.noticeText.className = 'intershap-notice';
    this.noticeText.setAttribute('role', 'status');
    this.node.append(
      this.progressBar,
      this.progressText,
      this.cancelButton,
      this.noticeText,
      this.errorText
    );
  }

  render(session: DashboardSource): void {
    const running = [...session.models.values()].find(m => m.status?.state === 'running');
    this.runningModel = running?.dataset.modelId ?? null;
    this.cancelButton.hidden = !running;
    this.progressBar.hidden = !running;
    const lines = [...session.models.values()].map(m => {
      const p = m.progress;
      const state = m.status?.state ?? 'waiting';
      if (p && state === 'running') {
        const eta = p.etaSeconds === null ? '' : `, ${Math.ceil(p.etaSeconds)} s left`;
        return `${m.dataset.label}: ${p.done} / ${p.total} samples (${Math.round(p.samplesPerSecond)}/s${eta})`;
      }
      return `${m.dataset.label}: ${m.received} / ${m.dataset.nSamples} samples, ${state}`;
    });
    if (running?.progress) {
      this.progressBar.max = running.progress.total;
      this.progressBar.value = running.progress.done;
    }
    this.progressText.textContent = lines.join(' · ');
    // Which kernel decomposes the values: for users checking speed, and for the browser tests.
    const kernels = [...new Set([...session.models.values()].map(m => m.kernel ?? 'pending'))];
    this.node.dataset.kernel = kernels.join(' ');
    this.progressText.title = `decomposition kernel: ${kernels.map(k => KERNEL_NAMES[k]).join(', ')}`;
    this.errorText.textContent = session.error ?? '';
    this.errorText.hidden = !session.error;
    this.noticeText.textContent = session.notice ?? '';
    this.noticeText.hidden = !session.notice;
  }
}
