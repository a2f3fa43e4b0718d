/**
 * The model in the browser (ui-tests/notebooks/browser_onnx.ipynb): HD-XOR synergy's early-fusion
 * MLP, exported to ONNX, evaluated by onnxruntime-web in the page's evaluation worker
 * (`evaluate="browser"`). The browser's value tables equal the kernel engine's to 1e-5 where both
 * are exact (mean masking; random masking drawing every background row once); with R = 1000
 * random draws the global score is within 0.5 points of the kernel's; a re-mask from the widget's
 * control shows the kernel's score for that masking; and no request leaves the Jupyter origin.
 * Printed: the browser's masked-row throughput.
 */
import { expect, test } from '@playwright/test';
import type { Page } from '@playwright/test';
import {
  cellIndex,
  notebookOutputText,
  openNotebook,
  pythonJson,
  runPython,
  runCell,
  saveScreenshot,
  waitForKernelIdle
} from './helpers';

interface Agreement {
  max_abs_diff: number;
  browser_global: number;
  kernel_global: number;
  n: number;
}

test.describe.configure({ mode: 'serial', timeout: 600_000 });

let page: Page;
/** The kernel's score under random masking (every background row), for the last test. */
let randomScore = NaN;
const pageErrors: string[] = [];
const requests: string[] = [];

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage();
  page.on('pageerror', error => pageErrors.push(error.message));
  page.on('request', request => requests.push(request.url()));
  page.on('console', message => {
    if (message.type() === 'error') {
      console.log(`browser console error: ${message.text()}`);
    }
  });
  await openNotebook(page, 'browser_onnx.ipynb');
});

test.afterAll(async () => {
  await page.close();
});

const widget = () => page.locator('.intershap-widget').first();

async function shownScore(): Promise<number> {
  const score = widget().locator('.intershap-global-score');
  await expect(score).toHaveText(/^-?\d+\.\d{4}$/);
  return Number(await score.textContent());
}

/** Waits until the shown score is `expected` to 4 decimals (the views redraw a moment after). */
async function expectShownScore(expected: number): Promise<void> {
  await expect.poll(shownScore, { timeout: 30_000 }).toBeCloseTo(expected, 4);
}

/** Waits for the browser's run to finish as the user sees it: done, and the interval shown. */
async function waitForDone(): Promise<void> {
  await expect(widget().locator('.intershap-remask')).toHaveAttribute('data-running', 'false', {
    timeout: 300_000
  });
  await expect(widget().locator('.intershap-progress')).toContainText('done', {
    timeout: 300_000
  });
}

test('the browser evaluates the ONNX model: mean masking equals the kernel engine', async () => {
  await runCell(page, await cellIndex(page, 'import io'));
  await waitForKernelIdle(page, 300_000);
  expect(await notebookOutputText(page)).toContain('ONNX model:');
  await runCell(page, await cellIndex(page, 'evaluate="browser"'));
  await runCell(page, await cellIndex(page, 'def kernel_values'));
  await expect(widget().locator('.intershap-remask')).toBeVisible({ timeout: 120_000 });
  await waitForDone();
  const mean = await pythonJson<Agreement>(
    page,
    'print(json.dumps(against_kernel(masking="mean")))'
  );
  console.log(
    `browser vs kernel, mean masking: max |Δv| ${mean.max_abs_diff.toExponential(2)} over ${mean.n} samples`
  );
  expect(mean.n).toBe(300);
  expect(mean.max_abs_diff).toBeLessThan(1e-5);
  await expectShownScore(mean.kernel_global);
});

test('random masking with every background row drawn once equals the kernel engine', async () => {
  const all = await pythonJson<Agreement>(
    page,
    'n = len(background["m0"])\nw.remask(masking="random", draws=n)\n' +
      'print(json.dumps(against_kernel(masking="random", draws=n)))'
  );
  expect(all.max_abs_diff).toBeLessThan(1e-5);
  await waitForDone();
  await expectShownScore(all.kernel_global);
  randomScore = all.kernel_global;
});

test('benchmark: onnxruntime-web against native onnxruntime, one thread each', async () => {
  await runCell(page, await cellIndex(page, 'def native_benchmark'));
  await waitForKernelIdle(page);
  const b = await pythonJson<Record<string, number>>(page, 'print(json.dumps(native_benchmark()))');
  const rate = (x: number) => `${Math.round(x).toLocaleString('en')} rows/s`;
  console.log(
    `benchmark: masked rows, 1 thread, ${b.rows.toLocaleString('en')} rows: model calls ` +
      `onnxruntime-web (wasm SIMD, page worker) ${rate(b.web_model_rows_per_s)}, native ` +
      `onnxruntime ${rate(b.native_model_rows_per_s)}: native/web ` +
      `${(b.native_model_rows_per_s / b.web_model_rows_per_s).toFixed(2)}x; whole evaluation ` +
      `(fill, model, reduce) page ${rate(b.web_engine_rows_per_s)}, kernel engine ` +
      `${rate(b.native_engine_rows_per_s)}: ` +
      `${(b.native_engine_rows_per_s / b.web_engine_rows_per_s).toFixed(2)}x`
  );
  for (const value of Object.values(b)) {
    expect(value).toBeGreaterThan(0);
  }
});

test('with R = 1000 draws the global score is within 0.5 points of the kernel', async () => {
  const sampled = await pythonJson<Agreement>(
    page,
    'w.remask(masking="random", draws=1000, seed=5)\n' +
      'print(json.dumps(against_kernel(masking="random", draws=1000)))'
  );
  console.log(
    `R = 1000: browser ${sampled.browser_global.toFixed(4)}, kernel ${sampled.kernel_global.toFixed(4)}`
  );
  expect(Math.abs(sampled.browser_global - sampled.kernel_global)).toBeLessThan(0.005);
});

test('a re-mask from the control shows the kernel score for that masking', async () => {
  await waitForDone();
  const control = widget().locator('.intershap-remask');
  await control
    .locator('select.intershap-remask-masking')
    .selectOption('mean', { timeout: 30_000 });
  await expect(control.locator('input.intershap-remask-draws')).toBeDisabled();
  await control.locator('button.intershap-remask-run').click({ timeout: 30_000 });
  await waitForDone();
  const kernel = await pythonJson<Agreement>(
    page,
    'print(json.dumps(against_kernel(masking="mean")))'
  );
  expect(kernel.max_abs_diff).toBeLessThan(1e-5); // w.results followed the page's re-mask
  await expectShownScore(kernel.kernel_global);
  await expect(widget().locator('.intershap-heatmap g.annotation')).toHaveCount(4);
  await saveScreenshot(widget(), 'browser-onnx-widget.png'); // the README shows it
});

test('Cancel stops the page run, and Python hears of it', async () => {
  await runPython(page, 'w.remask(masking="random", draws=1500, seed=9)');
  const cancel = widget().locator('button.intershap-cancel');
  await cancel.click({ timeout: 30_000 });
  await expect(widget().locator('.intershap-progress')).toContainText('cancelled');
  await expect
    .poll(() => pythonJson<string>(page, 'print(json.dumps(w.progress[0]["state"]))'))
    .toBe('cancelled');
  await expect(widget().locator('.intershap-remask')).toHaveAttribute('data-running', 'false');
});

test('nothing leaves the Jupyter origin, and onnxruntime-web came from the extension', async () => {
  const origin = new URL(page.url()).origin;
  const outside = requests.filter(url => !url.startsWith(origin) && !url.startsWith('data:'));
  expect(outside).toEqual([]);
  const wasm = requests.filter(url => url.endsWith('.wasm'));
  expect(wasm.length).toBeGreaterThan(0);
  expect(
    wasm.every(url => url.startsWith(`${origin}/lab/extensions/intershap-widget/static/`))
  ).toBe(true);
  await waitForKernelIdle(page);
  expect(pageErrors).toEqual([]);
});

test('with the kernel gone, a re-mask still evaluates in the page', async () => {
  const before = await shownScore();
  await page.evaluate(() => {
    const app = (window as unknown as { jupyterapp: any }).jupyterapp;
    const notebook = [...app.shell.widgets('main')].find((w: any) => w.sessionContext);
    notebook.sessionContext.session.kernel.requestExecute({
      code: 'import os, signal; os.kill(os.getpid(), signal.SIGKILL)'
    });
  });
  await expect(widget().locator('.intershap-error')).toContainText(
    'Lost the connection to the kernel',
    { timeout: 60_000 }
  );
  await page.keyboard.press('Escape'); // JupyterLab's "kernel restarting" dialog
  const control = widget().locator('.intershap-remask');
  await control.locator('select.intershap-remask-masking').selectOption('random');
  await control.locator('input.intershap-remask-draws').fill('1500');
  await control.locator('button.intershap-remask-run').click({ timeout: 30_000 });
  await waitForDone();
  expect(randomScore).not.toBeCloseTo(before, 3);
  await expectShownScore(randomScore); // every background row: the exact value again
  expect(pageErrors).toEqual([]);
});
