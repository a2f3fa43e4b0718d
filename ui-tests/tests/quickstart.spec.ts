/**
 * The quickstart in a real JupyterLab, a real kernel and Debian's chromium: the widget renders,
 * its global score equals the one Python computes for the same value tables, and the heatmap has
 * M × M cells labelled with the modality names.
 */
import { expect, test } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';
import {
  ARTIFACTS,
  notebookOutputText,
  openNotebook,
  printed,
  runAllCells,
  runPython,
  saveScreenshot,
  waitForKernelIdle
} from './helpers';

test('quickstart renders the widget with the score Python computes', async ({ page }) => {
  const pageErrors: string[] = [];
  const requests: string[] = [];
  page.on('pageerror', error => pageErrors.push(error.message));
  page.on('request', request => requests.push(request.url()));
  page.on('console', message => {
    if (message.type() === 'error') {
      console.log(`browser console error: ${message.text()}`);
    }
  });

  await openNotebook(page, 'quickstart.ipynb');
  await runAllCells(page);

  const widget = page.locator('.intershap-widget').first();
  // Fail at once with the traceback when a cell raises, instead of waiting for a widget that never comes.
  const traceback = page.locator(
    '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]'
  );
  await expect(widget.or(traceback).first()).toBeVisible({ timeout: 180_000 });
  expect(await traceback.count(), await notebookOutputText(page)).toBe(0);
  await waitForKernelIdle(page);

  // Python's number, printed by the notebook from the same value tables.
  const pythonScore = Number((await printed(page, /Global InterSHAP \(python\): (\d+\.\d+)/))[1]);
  const names = JSON.parse((await printed(page, /Modalities: (\[.*\])/))[1]) as string[];

  // The widget's number, as the user sees it, once every chunk has been received.
  await expect(widget.locator('.intershap-progress')).toContainText('done');
  const score = widget.locator('.intershap-global-score');
  await expect(score).toHaveText(/^-?\d+\.\d{4}$/);
  const shown = Number(await score.textContent());
  expect(shown).toBeCloseTo(pythonScore, 4);

  // The heatmap: M × M annotated cells and the modality names on both axes.
  const M = names.length;
  const heatmap = widget.locator('.intershap-heatmap');
  await expect(heatmap.locator('g.annotation')).toHaveCount(M * M);
  expect(await heatmap.locator('.xtick text').allTextContents()).toEqual(names);
  // Rows read top to bottom in modality order, as the user sees them.
  const rows = await heatmap.locator('.ytick text').evaluateAll(ticks =>
    ticks
      .map(t => ({ text: t.textContent, y: t.getBoundingClientRect().top }))
      .sort((a, b) => a.y - b.y)
      .map(t => t.text)
  );
  expect(rows).toEqual(names);

  // The decomposition ran in the web worker, not on the page's main thread.
  await expect(widget).toHaveAttribute('data-compute', 'worker');
  // … with the WebAssembly SIMD kernel (core/simd.ts), not the JavaScript fallback.
  await expect(widget.locator('.intershap-status')).toHaveAttribute('data-kernel', 'simd');
  await saveScreenshot(widget, 'quickstart-widget.png');

  // A figure for a paper from the same widget: the README shows this PDF's page.
  const written = await runPython(
    page,
    'import os\nprint(os.path.abspath(w.export("quickstart-global.pdf", width_mm=180)))'
  );
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  fs.copyFileSync(written.trim(), path.join(ARTIFACTS, 'quickstart-global.pdf'));
  expect(fs.statSync(path.join(ARTIFACTS, 'quickstart-global.pdf')).size).toBeGreaterThan(10_000);
  // onnxruntime-web is loaded only for a browser-evaluated model: the quickstart fetches none of it.
  expect(requests.filter(url => /onnxruntime|\.wasm(\?|$)/.test(url))).toEqual([]);
  expect(pageErrors).toEqual([]);
});
