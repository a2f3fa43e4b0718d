/**
 * Bad input loses nothing: a malformed message from the kernel, a bad argument in Python and a
 * kernel that dies each get a clear message, and the results already on screen stay.
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

async function createNotebook(page: Page): Promise<void> {
  const cells = CELLS.map(source => ({
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
  const response = await page.request.put(`/api/contents/${NOTEBOOK}`, {
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
