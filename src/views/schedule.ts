/**
 * Keeping the main thread responsive: chart draws are split into separate tasks, and redraws
 * during streaming are throttled.
 */

/**
 * Resolves in a new task, so the browser can paint and handle input (and run queued messages) in
 * between. An `await` on an already-settled promise would continue in the same task; a
 * MessageChannel avoids setTimeout's 4 ms clamp. The views' own copy of the worker's helper
 * (src/compute/worker/tasks.ts): views import nothing that runs from src/compute.
 */
export function nextTask(): Promise<void> {
  if (typeof MessageChannel === 'undefined') {
    return new Promise(resolve => setTimeout(resolve, 0));
  }
  return new Promise(resolve => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

/**
 * Runs an async job at most once per `intervalMs`, never two at a time, and always once more after
 * the last request, so the final state is drawn.
 */
export class Throttle {
  private running = false;
  private pending = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private lastStart = -Infinity;

  /** May be changed at any time; applies from the next run. */
  intervalMs: number;

  constructor(
    private readonly job: () => Promise<void>,
    intervalMs: number
  ) {
    this.intervalMs = intervalMs;
  }

  request(): void {
    this.pending = true;
    this.pump();
  }

  /** Runs the job as soon as the current run (if any) has finished, skipping the wait. */
  flush(): void {
    this.pending = true;
    this.lastStart = -Infinity;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.pump();
  }

  dispose(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
    }
    this.pending = false;
  }

  private pump(): void {
    if (this.running || this.timer !== null || !this.pending) {
      return;
    }
    const wait = this.lastStart + this.intervalMs - performance.now();
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.pump();
      }, wait);
      return;
    }
    this.pending = false;
    this.running = true;
    this.lastStart = performance.now();
    this.job()
      .catch(error => console.error('intershap-widget: drawing failed', error))
      .finally(() => {
        this.running = false;
        this.pump();
      });
  }
}

/** Calls `callback` whenever JupyterLab switches between light and dark (or any) theme. */
export function watchTheme(callback: () => void): () => void {
  let last = themeKey();
  const observer = new MutationObserver(() => {
    const key = themeKey();
    if (key !== last) {
      last = key;
      callback();
      // The theme's stylesheet may land a moment after the attribute changes: look again then.
      setTimeout(callback, 400);
    }
  });
  observer.observe(document.body, {
    attributes: true,
    attributeFilter: ['data-jp-theme-light', 'data-jp-theme-name']
  });
  return () => observer.disconnect();
}

function themeKey(): string {
  return `${document.body.dataset.jpThemeName ?? ''}|${document.body.dataset.jpThemeLight ?? ''}`;
}

/**
 * `numbers` rounded to a thousandth of the largest of them (under a pixel of a bar or a colour
 * step), as a key: it changes only when some number moves visibly. Used while values stream in,
 * where every chunk moves the means a little and each plotly redraw is one of the longest
 * main-thread tasks; the finished state is drawn from the exact numbers.
 */
export function visibleKey(base: string, numbers: ArrayLike<number>[]): string {
  let scale = 0;
  for (const values of numbers) {
    for (let i = 0; i < values.length; i++) {
      scale = Number.isFinite(values[i]) ? Math.max(scale, Math.abs(values[i])) : scale;
    }
  }
  const unit = (scale || 1) / 1000;
  return `${base}|${numbers.map(values => Array.from(values, v => Math.round(v / unit)).join(',')).join(';')}`;
}
