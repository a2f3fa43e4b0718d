/**
 * The same extension in Jupyter Notebook 7 (`jupyter notebook`): a server of its own, started here
 * on the next port (ui-tests/start-lab.sh with `notebook`, a scratch copy of ui-tests/notebooks), opens
 * ui-tests/notebooks/saved_state.ipynb, runs it, and the widget shows the global score Python
 * prints; the Compare tab is there for its two models.
 */
import { expect, test } from '@playwright/test';
import type { Locator, Page } from '@playwright/test';
import { spawn } from 'child_process';
import type { ChildProcess } from 'child_process';
import * as path from 'path';
import { saveScreenshot } from './helpers';

const PORT = Number(process.env.INTERSHAP_UI_PORT ?? 8899) + 1;
const BASE = `http://127.0.0.1:${PORT}`;
const repo = path.resolve(__dirname, '..', '..');

test.describe.configure({ mode: 'serial' });

/**
 * Notebook 7.6's own shortcuts plugin throws this on every page load, with this extension disabled
 * too (checked with the extension off in page_config.json): not ours, so not counted.
 */
const UPSTREAM_ERROR = "Cannot read properties of undefined (reading 'schema')";

let server: ChildProcess | null = null;
let page: Page;
const pageErrors: string[] = [];

async function serverUp(): Promise<boolean> {
  try {
    return (await fetch(`${BASE}/api/status`)).ok;
  } catch {
    return false;
  }
}

/** The shown global score (4 decimals), NaN until it is drawn. */
async function shownScore(target: Locator): Promise<number> {
  const text = (await target.locator('.intershap-global-score').textContent())?.trim() ?? '';
  return /^-?\d+\.\d{4}$/.test(text) ? Number(text) : NaN;
}

test.beforeAll(async ({ browser }) => {
  test.setTimeout(180_000);
  server = spawn('bash', [path.join(repo, 'ui-tests', 'start-lab.sh'), String(PORT), 'notebook'], {
    stdio: 'ignore'
  });
  await expect.poll(serverUp, { timeout: 120_000, intervals: [500] }).toBe(true);
  page = await browser.newPage();
  page.on('pageerror', error => {
    if (error.message !== UPSTREAM_ERROR) {
      pageErrors.push(`${error.message}\n${error.stack ?? ''}`);
    }
  });
  page.on('dialog', dialog => void dialog.dismiss());
});

test.afterAll(async () => {
  await page?.close();
  if (server && server.exitCode === null) {
    const exited = new Promise(resolve => server!.once('exit', resolve));
    server.kill('SIGTERM');
    await Promise.race([exited, new Promise(resolve => setTimeout(resolve, 10_000))]);
  }
});

test('Notebook 7 runs the notebook and the widget shows the score Python prints', async () => {
  await page.goto(`${BASE}/notebooks/saved_state.ipynb`);
  await page.waitForFunction(() => Boolean((window as any).jupyterapp?.shell?.currentWidget));
  await expect(page.locator('.jp-NotebookPanel .jp-Notebook')).toBeVisible();
  // Notebook 7, not JupyterLab.
  expect(await page.evaluate(() => (window as any).jupyterapp.name)).toMatch(/Notebook/);
  await page.waitForFunction(async () => {
    const widget = (window as any).jupyterapp.shell.currentWidget;
    if (!widget?.sessionContext) {
      return false;
    }
    await widget.sessionContext.ready;
    return widget.sessionContext.session?.kernel?.status === 'idle';
  });
  await page.evaluate(() => (window as any).jupyterapp.commands.execute('notebook:run-all-cells'));

  const outputs = page.locator('.jp-OutputArea-output');
  await expect(outputs.filter({ hasText: /python: \{/ })).toHaveCount(1, { timeout: 120_000 });
  const line = (await outputs.filter({ hasText: /python: \{/ }).textContent())!;
  const python = JSON.parse(/python: (\{.*\})/.exec(line)![1]) as Record<string, number>;

  const widget = page.locator('.intershap-widget').first();
  await widget.scrollIntoViewIfNeeded();
  await expect
    .poll(() => shownScore(widget), { timeout: 60_000 })
    .toBeCloseTo(python['early fusion'], 4);
  await expect(widget.locator('.intershap-progress')).toContainText(
    'early fusion: 2000 / 2000 samples, done'
  );
  await expect(widget.locator('.lm-TabBar-tab', { hasText: 'Compare' })).toBeVisible();
  await expect(widget.locator('.intershap-error')).toBeHidden();
  await saveScreenshot(widget, 'notebook7-widget.png');
  expect(pageErrors).toEqual([]);
});
