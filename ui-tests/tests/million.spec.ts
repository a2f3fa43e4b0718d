/**
 * A million samples in the browser (ui-tests/notebooks/million.ipynb): value tables for 1,000,000
 * samples with M = 4, made in numpy, stream to the page, are decomposed in the worker (WebAssembly
 * SIMD: 328 MB of tables and results, below the 1 GiB cap) and drawn; the global score is the
 * numpy twin's; a brush in the scatter re-aggregates, equal to the twin over Python's
 * `w.selection`. Printed: the stream's wall time, the brush's worker time and the longest
 * main-thread task while streaming and while brushing, which must stay under 200 ms.
 */
import { expect, test } from '@playwright/test';
import type { Locator, Page } from '@playwright/test';
import {
  cellIndex,
  drag,
  openNotebook,
  printed,
  pythonJson,
  runCell,
  saveScreenshot,
  waitForKernelIdle
} from './helpers';

const N = 1_000_000;
const DECIMALS = 4;

interface TwinNumbers {
  n: number;
  global_intershap: number;
}

interface LongTask {
  start: number;
  duration: number;
}

interface Measure {
  name: string;
  start: number;
  duration: number;
}

// On the 2-core CI machine: about a minute for the whole file (measured), a generous limit here.
// One retry: on this 2-core VM the page, the worker, the kernel and the server share the cores,
// and with other work on them a single task has gone past 200 ms now and then, while the others
// stay near 100 ms. A run that is over twice still fails. What a brush made the kernel and the
// server do on those cores is smaller now (Python checks w.selection with numpy and does not echo
// it; a brush above 100,000 samples is sent once the worker has aggregated it), and the twin's
// check of the selection runs after the measured window.
test.describe.configure({ mode: 'serial', timeout: 300_000, retries: 1 });

let page: Page;
const pageErrors: string[] = [];

/** The shown number, parsed; the display rounds to 4 decimals, so compare to 4 decimals. */
async function shownNumber(locator: Locator): Promise<number> {
  const text = (await locator.textContent())?.trim() ?? '';
  expect(text, 'a number with 4 decimals').toMatch(/^-?\d+\.\d{4}$/);
  return Number(text);
}

/** From now on, the page's long tasks and measures (chart draws, worker replies) are recorded. */
async function startRecording(): Promise<void> {
  await page.evaluate(() => {
    const w = window as any;
    w.__longTasks = [];
    w.__measures = [];
    w.__since = performance.now();
    if (!w.__observing) {
      w.__observing = true;
      new PerformanceObserver(list => {
        for (const entry of list.getEntries()) {
          if (entry.startTime >= w.__since) {
            w.__longTasks.push({ start: entry.startTime, duration: entry.duration });
          }
        }
      }).observe({ type: 'longtask' });
      new PerformanceObserver(list => {
        for (const entry of list.getEntries()) {
          if (entry.startTime >= w.__since && entry.name.startsWith('intershap')) {
            w.__measures.push({
              name: entry.name,
              start: entry.startTime,
              duration: entry.duration
            });
          }
        }
      }).observe({ type: 'measure' });
    }
  });
}

async function recorded(): Promise<{ tasks: LongTask[]; measures: Measure[] }> {
  return page.evaluate(() => ({
    tasks: (window as any).__longTasks as LongTask[],
    measures: (window as any).__measures as Measure[]
  }));
}

/** The longest task, and each long task with the chart draws inside it, for the log. */
function describeTasks(what: string, tasks: LongTask[], measures: Measure[]): number {
  const longest = Math.max(0, ...tasks.map(task => task.duration));
  console.log(
    `longest main-thread task ${what}: ${longest.toFixed(0)} ms (${tasks.length} tasks over 50 ms)`
  );
  for (const task of tasks) {
    const inside = measures
      .filter(m => m.name.startsWith('intershap:'))
      .filter(m => m.start < task.start + task.duration && m.start + m.duration > task.start)
      .map(m => `${m.name.replace('intershap:intershap-', '')} ${m.duration.toFixed(0)} ms`);
    console.log(
      `  task at +${(task.start - tasks[0].start).toFixed(0)} ms: ${task.duration.toFixed(0)} ms` +
        (inside.length ? ` (chart draws: ${inside.join(', ')})` : '')
    );
  }
  return longest;
}

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage();
  page.on('pageerror', error => pageErrors.push(error.message));
  page.on('console', message => {
    if (message.type() === 'error') {
      pageErrors.push(message.text());
    }
  });
  await openNotebook(page, 'million.ipynb');
  await runCell(page, await cellIndex(page, 'values = 1 / (1 + np.exp(-logit))'));
  await waitForKernelIdle(page);
  await printed(page, /value tables: \(1000000, 16\) 122 MiB/);
  // A small widget first: plotly.js is loaded once per page (one long task of script evaluation,
  // whatever N), so what is measured below is the million samples' own cost.
  await startRecording();
  await runCell(page, await cellIndex(page, 'small = InterSHAP('));
  const small = page.locator('.intershap-widget').first();
  await expect(small.locator('.intershap-progress')).toContainText(
    'small: 200 / 200 samples, done'
  );
  await expect(small.locator('.intershap-heatmap g.annotation')).toHaveCount(16);
  await expect(small.locator('.intershap-scatter-points')).toHaveAttribute('data-points', '200');
  await page.waitForTimeout(500);
  const { tasks } = await recorded();
  console.log(
    `plotly.js loaded and a 200-sample widget drawn: longest main-thread task ` +
      `${Math.max(0, ...tasks.map(t => t.duration)).toFixed(0)} ms (once per page, whatever N)`
  );
});

test.afterAll(async () => {
  await page.close();
});

let streamMs = 0;
let streamLongest = 0;

test('a million samples stream, decompose and draw; the score is the numpy twin’s', async () => {
  await startRecording();
  const started = Date.now();
  await runCell(page, await cellIndex(page, 'w = InterSHAP('));
  const widget = page.locator('.intershap-widget').nth(1);
  const progress = widget.locator('.intershap-progress');
  await expect(progress).toContainText(`million: ${N} / ${N} samples, done`, { timeout: 150_000 });
  await expect(widget.locator('.intershap-scatter-points')).toHaveAttribute(
    'data-points',
    String(N),
    { timeout: 60_000 }
  );
  streamMs = Date.now() - started;
  // Let the last redraws land before reading the long tasks.
  await page.waitForTimeout(1000);
  const { tasks, measures } = await recorded();
  streamLongest = describeTasks('while 1,000,000 samples (M = 4) streamed in', tasks, measures);
  console.log(
    `1,000,000 samples streamed, decomposed and drawn in ${(streamMs / 1000).toFixed(1)} s`
  );

  // The worker decomposes them with WebAssembly SIMD, and the status bar says so.
  const status = widget.locator('.intershap-status');
  await expect(status).toHaveAttribute('data-kernel', 'simd');
  await expect(widget.locator('.intershap-kernel')).toHaveText('kernel: WebAssembly SIMD');

  await runCell(page, await cellIndex(page, 'twin = decompose.decompose(values)'));
  await waitForKernelIdle(page);
  const twin = JSON.parse(
    (await printed(page, /Global InterSHAP, 1,000,000 samples \(python\): (\{.*\})/))[1]
  ) as TwinNumbers;
  expect(twin.n).toBe(N);
  expect(await shownNumber(widget.locator('.intershap-global-score'))).toBeCloseTo(
    twin.global_intershap,
    DECIMALS
  );
  await saveScreenshot(widget, 'million.png');
  expect(streamLongest).toBeLessThan(200);
  expect(pageErrors).toEqual([]);
});

test('a brush in the scatter re-aggregates a million samples in the worker (benchmark printed)', async () => {
  const widget = page.locator('.intershap-widget').nth(1);
  const size = widget.locator('.intershap-selection-size');
  const score = widget.locator('.intershap-global-score');
  await startRecording();
  await drag(page, widget.locator('.intershap-scatter'), [0.3, 0.1], [0.8, 0.9]);
  await expect(widget.locator('.intershap-score-label')).toHaveText(
    'Global InterSHAP of the selection'
  );
  await expect(size).toHaveAttribute('data-count', /^[1-9]\d*$/);
  const count = Number(await size.getAttribute('data-count'));
  expect(count).toBeLessThan(N);
  // The selection's numbers are on screen; then the brush's redraws, Python's w.selection taking
  // the 512,000 indices (and echoing them) and the interval's first slices happen in this window.
  await expect(score).toHaveAttribute('data-n', String(count));
  await page.waitForTimeout(1500);
  const { tasks, measures } = await recorded();
  // Checked after the window: the twin's aggregate over the selection (0.1–0.7 s of the kernel's
  // CPU on this 2-core VM) is the test's own work, not the brush's, and inside the window it
  // competed with the page for the cores.
  // Python's w.selection follows the brush, and the twin over it gives the shown score.
  await expect
    .poll(async () => pythonJson<number>(page, 'print(len(w.selection))'), {
      message: 'w.selection in Python follows the brush'
    })
    .toBe(count);
  const twin = await pythonJson<TwinNumbers>(page, 'print(json.dumps(twin_numbers(w.selection)))');
  expect(twin.n).toBe(count);
  await expect.poll(async () => shownNumber(score)).toBeCloseTo(twin.global_intershap, DECIMALS);

  // Every worker reply but the intervals (slices in the background, dropped by the next brush).
  const replies = measures.filter(
    m => m.name.startsWith('intershap-worker:') && !/interval/i.test(m.name)
  );
  const workerMs = replies.reduce((sum, m) => sum + m.duration, 0);
  const byOp = new Map<string, { ms: number; calls: number }>();
  for (const m of replies) {
    const op = byOp.get(m.name) ?? { ms: 0, calls: 0 };
    byOp.set(m.name, { ms: op.ms + m.duration, calls: op.calls + 1 });
  }
  const brushLongest = describeTasks('while brushing 1,000,000 samples', tasks, measures);
  console.log(
    `benchmark: 1,000,000 samples (M = 4): streamed, decomposed and drawn in ${(streamMs / 1000).toFixed(1)} s; ` +
      `a brush selecting ${count.toLocaleString('en-US')}: ${workerMs.toFixed(0)} ms of worker time ` +
      `(${[...byOp].map(([name, op]) => `${name.replace('intershap-worker:', '')} ${op.ms.toFixed(0)} ms in ${op.calls}`).join(', ')}); ` +
      `longest main-thread task ${streamLongest.toFixed(0)} ms streaming, ${brushLongest.toFixed(0)} ms brushing`
  );
  await saveScreenshot(widget, 'million-brushed.png');
  expect(replies.length).toBeGreaterThan(0);
  expect(brushLongest).toBeLessThan(200);
  expect(pageErrors).toEqual([]);
});
