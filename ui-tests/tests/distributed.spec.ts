/**
 * The widget fed by a Dask LocalCluster (two worker processes, issue 14): the chunks stream in as
 * the workers finish them, and the global score shown equals the one Python computes from the
 * local engine's values for the same seed (which the executor's values equal bit for bit).
 */
import { expect, test } from '@playwright/test';
import {
  notebookOutputText,
  openNotebook,
  printed,
  runAllCells,
  saveScreenshot,
  waitForKernelIdle
} from './helpers';

test('a widget computed on a Dask cluster shows the score Python computes', async ({ page }) => {
  const pageErrors: string[] = [];
  page.on('pageerror', error => pageErrors.push(error.message));

  await openNotebook(page, 'distributed.ipynb');
  await runAllCells(page);

  const widget = page.locator('.intershap-widget').first();
  const traceback = page.locator(
    '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]'
  );
  await expect(widget.or(traceback).first()).toBeVisible({ timeout: 180_000 });
  expect(await traceback.count(), await notebookOutputText(page)).toBe(0);
  await waitForKernelIdle(page);
  expect(await traceback.count(), await notebookOutputText(page)).toBe(0);

  expect((await printed(page, /Identical to the local engine: (\w+)/))[1]).toBe('True');
  const pythonScore = Number((await printed(page, /Global InterSHAP \(python\): (-?\d+\.\d+)/))[1]);

  await expect(widget.locator('.intershap-progress')).toContainText('done');
  const score = widget.locator('.intershap-global-score');
  await expect(score).toHaveText(/^-?\d+\.\d{4}$/);
  expect(Number(await score.textContent())).toBeCloseTo(pythonScore, 4);
  await saveScreenshot(widget, 'distributed-widget.png');
  expect(pageErrors).toEqual([]);
});
