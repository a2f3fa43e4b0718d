/**
 * Progress while values stream in, a cancel button, which kernel decomposes the values, and the
 * last error — shown beside, never in place of, the results already on screen. After a lost
 * kernel, a model whose stream had not finished reads "partial: 12,000 of 100,000 samples".
 */
import { Widget } from '@lumino/widgets';
import { kernelSummary, modelLine } from './statusText';
import type { DashboardSource } from './types';

export class StatusBar extends Widget {
  private readonly progressText: HTMLElement;
  private readonly progressBar: HTMLProgressElement;
  private readonly cancelButton: HTMLButtonElement;
  private readonly errorText: HTMLElement;
  private readonly noticeText: HTMLElement;
  private readonly kernelText: HTMLElement;
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
    this.kernelText = document.createElement('span');
    this.kernelText.className = 'intershap-kernel';
    this.node.append(
      this.progressBar,
      this.progressText,
      this.cancelButton,
      this.kernelText,
      this.noticeText,
      this.errorText
    );
  }

  render(session: DashboardSource): void {
    const models = [...session.models.values()];
    // A partial model's stream is over (the kernel is gone): nothing runs, nothing to cancel.
    const running = models.find(m => m.status?.state === 'running' && !m.partial);
    this.runningModel = running?.dataset.modelId ?? null;
    this.cancelButton.hidden = !running;
    this.progressBar.hidden = !running;
    if (running?.progress) {
      this.progressBar.max = running.progress.total;
      this.progressBar.value = running.progress.done;
    }
    this.progressText.textContent = models.map(modelLine).join(' · ');
    this.node.dataset.partial = String(models.some(m => m.partial));
    // Which kernel decomposes the values, and why it fell back from SIMD if it did: for users
    // checking speed, and for the browser tests.
    const kernel = kernelSummary(models);
    this.node.dataset.kernel = kernel.kinds;
    this.kernelText.textContent = kernel.text;
    this.kernelText.hidden = kernel.text === '';
    this.kernelText.classList.toggle('intershap-kernel-fallback', kernel.fallback);
    this.progressText.title = kernel.text;
    this.errorText.textContent = session.error ?? '';
    this.errorText.hidden = !session.error;
    this.noticeText.textContent = session.notice ?? '';
    this.noticeText.hidden = !session.notice;
  }
}
