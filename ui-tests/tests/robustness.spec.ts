/**
 * Bad input loses nothing: a malformed message from the kernel, a bad argument in Python and a
 * kernel that dies each get a clear message, and the results already on screen stay. A kernel
 * restarted mid-stream leaves the samples received on screen, marked partial with their count.
 */
import { expect, test } from '@playwright/test';
import type { Page } from '@playwright/test';
import { openNotebook, printed, saveScreenshot, waitForKernelIdle } from './helpers';

const NOTEBOOK = 'robustness.ipynb';

const CELLS = [
  [
    'import numpy as np',
    'from intershap_widget import InterSHAP',
    'values = np.random.default_rng(7).random((40, 8))',
    "w = InterSHAP(values=values, names=['image', 'text', 'tabular'])",
    'w'
  ].join('\n'),
  "print(f'python score: {w.results.global_intershap:.4f}')"
];

/** A model that sleeps per call, so that its stream is still running when the kernel restarts. */
const SLOW_N = 400;
const SLOW_CELLS = [
  [
    'import time',
    'import numpy as np',
    'from intershap_widget import InterSHAP',
    'rng = np.random.default_rng(3)',
    `N = ${SLOW_N}`,
    'modalities = {"image": rng.normal(size=(N, 3)), "text": rng.normal(size=(N, 3))}',
    'background = {k: rng.normal(size=(16, 3)) for k in modalities}',
    '',
    'def slow_model(x):',
    '    time.sleep(0.25)',
    '    a, b = np.tanh(x["image"].sum(1)), np.tanh(x["text"].sum(1))',
    '    logit = 2 * a * b + 0.5 * a',
    '    return np.stack([-logit / 2, logit / 2], axis=1)',
    '',
    'w = InterSHAP(slow_model, modalities, background=background, draws=8, chunk_samples=10,',
    '              stratify=False, seed=0, label="slow")',
    'w'
  ].join('\n')
];

async function createNotebook(
  page: Page,
  name: string = NOTEBOOK,
  sources: string[] = CELLS
): Promise<void> {
  const cells = sources.map(source => ({
    cell_type: 'code',
    metadata: {},
    source,
    outputs: [],
    execution_count: null
  }));
  const content = {
    cells,
    metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
    nbformat: 4,
    nbformat_minor: 5
  };
  const response = await page.request.put(`/api/contents/${name}`, {
    data: { type: 'notebook', format: 'json', content }
  });
  expect(response.ok()).toBe(true);
}

/** Appends a code cell at the end of the notebook and runs it. */
async function runCode(page: Page, source: string): Promise<void> {
  await page.evaluate(async code => {
    const app = (window as any).jupyterapp;
    const panel = app.shell.currentWidget;
    const notebook = panel.content;
    notebook.activeCellIndex = notebook.widgets.length - 1;
    await app.commands.execute('notebook:insert-cell-below');
    notebook.activeCell.model.sharedModel.setSource(code);
    await app.commands.execute('notebook:run-cell');
  }, source);
}

test('malformed messages, bad arguments and a dead kernel keep the results on screen', async ({
  page
}) => {
  page.on('console', message => {
    if (message.type() === 'error') {
      console.log(`browser console error: ${message.text()}`);
    }
  });
  await createNotebook(page);
  await openNotebook(page, NOTEBOOK);
  await page.evaluate(() => (window as any).jupyterapp.commands.execute('notebook:run-all-cells'));
  await waitForKernelIdle(page);

  const widget = page.locator('.intershap-widget').first();
  const score = widget.locator('.intershap-global-score');
  await expect(score).toHaveText(/^\d\.\d{4}$/);
  const shown = await score.textContent();
  expect((await printed(page, /python score: (\d\.\d{4})/))[1]).toBe(shown);
  const error = widget.locator('.intershap-error');

  // 1. A malformed message from the kernel: named in the widget, and nothing on screen is lost.
  await runCode(
    page,
    "w.send({'kind': 'chunk', 'modelId': 'nope', 'start': 0, 'count': 1, 'buffers': ['values']}, [b'1234'])"
  );
  await expect(error).toContainText("field 'modelId' expected one of");
  await expect(error).toContainText("got 'nope'");
  await runCode(page, "w.send({'kind': 'dataset', 'names': 'image'})");
  await expect(error).toContainText(
    "dataset message: field 'names' expected a list of modality names"
  );
  await expect(score).toHaveText(shown!);
  await expect(widget.locator('.intershap-heatmap g.annotation')).toHaveCount(9);

  // 2. A bad argument in Python: a ValueError naming it, before anything reaches the browser.
  await runCode(page, 'InterSHAP(values=np.zeros((3, 6)))');
  await waitForKernelIdle(page);
  await printed(
    page,
    /ValueError: values: expected shape \(N, 2\*\*M\) with 2\*\*M a power of two >= 4, got shape \(3, 6\)/
  );
  await expect(score).toHaveText(shown!);

  // 3. The kernel dies: the widget says so and keeps its numbers.
  await runCode(page, 'import os, signal; os.kill(os.getpid(), signal.SIGKILL)');
  await expect(error).toContainText('Lost the connection to the kernel', { timeout: 60_000 });
  await expect(score).toHaveText(shown!);
  await expect(widget.locator('.intershap-heatmap g.annotation')).toHaveCount(9);
  await saveScreenshot(widget, 'robustness-dead-kernel.png');
});

test('a kernel restarted mid-stream leaves the partial results, marked with the samples they hold', async ({
  page
}) => {
  const notebook = 'robustness_restart.ipynb';
  await createNotebook(page, notebook, SLOW_CELLS);
  await openNotebook(page, notebook);
  await page.evaluate(() => (window as any).jupyterapp.commands.execute('notebook:run-all-cells'));
  const widget = page.locator('.intershap-widget').first();
  const status = widget.locator('.intershap-status');
  const score = widget.locator('.intershap-global-score');
  // Some samples are in (a score is shown), and the stream is still running.
  await expect(score).toHaveText(/^-?\d\.\d{4}$/, { timeout: 60_000 });
  await expect(widget.locator('.intershap-progress')).toContainText(`/ ${SLOW_N} samples (`);
  await expect(widget.locator('.intershap-cancel')).toBeVisible();

  // Restart the kernel (the kernel menu's command, without its confirmation dialog).
  await page.evaluate(async () => {
    const app = (window as any).jupyterapp;
    await app.shell.currentWidget.sessionContext.session.kernel.restart();
  });
  await expect(widget.locator('.intershap-error')).toContainText(
    'Lost the connection to the kernel',
    { timeout: 60_000 }
  );
  await expect(status).toHaveAttribute('data-partial', 'true');
  const progress = widget.locator('.intershap-progress');
  await expect(progress).toHaveText(/^slow: partial: [\d,]+ of 400 samples$/);
  // The views keep their numbers, over the samples held (the chunks already received included:
  // the interval comes after them), and nothing offers to cancel a stream that is gone.
  await expect(score).toHaveText(/^-?\d\.\d{4}$/);
  await expect(widget.locator('.intershap-global-details')).toContainText(
    '95% bootstrap interval ['
  );
  const held = Number(
    /partial: ([\d,]+) of/.exec((await progress.textContent())!)![1].replace(/,/g, '')
  );
  expect(held).toBeGreaterThanOrEqual(1);
  expect(held).toBeLessThanOrEqual(SLOW_N - 1);
  // Charts off screen wait to be drawn: bring the heatmap into view.
  await widget.locator('.intershap-heatmap').scrollIntoViewIfNeeded();
  await expect(widget.locator('.intershap-heatmap g.annotation')).toHaveCount(4);
  await expect(widget.locator('.intershap-cancel')).toBeHidden();
  // Still the same count once the kernel is back: nothing more came.
  await page.waitForFunction(
    () =>
      (window as any).jupyterapp.shell.currentWidget.sessionContext.session?.kernel?.status ===
      'idle',
    undefined,
    { timeout: 60_000 }
  );
  await expect(progress).toHaveText(
    `slow: partial: ${held.toLocaleString('en-US')} of 400 samples`
  );
  await saveScreenshot(widget, 'robustness-partial.png');
});
