/**
 * Saved with the notebook (ui-tests/notebooks/saved_state.ipynb): the notebook is run, saved with
 * its widget state ("Save Widget State Automatically"), its kernel shut down, and reopened. The
 * widgets come back from the saved state with no kernel holding them: the same global scores,
 * recomputed in the browser's worker, a brush and the Compare tab still work; the capped widget
 * says its tables were too large; and `jupyter nbconvert --to markdown` shows the text/plain line.
 */
import { expect, test } from '@playwright/test';
import type { Locator, Page } from '@playwright/test';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import {
  drag,
  openNotebook,
  openTab,
  printed,
  runAllCells,
  saveScreenshot,
  waitForKernelIdle
} from './helpers';

const NOTEBOOK = 'saved_state.ipynb';
const PORT = Number(process.env.INTERSHAP_UI_PORT ?? 8899);
const repo = path.resolve(__dirname, '..', '..');
/** Where start-lab.sh put the notebooks the server shows. */
const scratchFile = path.join(repo, 'ui-tests', '.lab-scratch', String(PORT), 'root', NOTEBOOK);
const SAVE_STATE = '@jupyter-widgets/jupyterlab-manager:saveWidgetState';
const WIDGET_STATE = 'application/vnd.jupyter.widget-state+json';

test.describe.configure({ mode: 'serial' });

let page: Page;
const pageErrors: string[] = [];
let python: Record<string, number>;

/** The shown global score (4 decimals), NaN until it is drawn. */
async function shownScore(target: Locator): Promise<number> {
  const text = (await target.locator('.intershap-global-score').textContent())?.trim() ?? '';
  return /^-?\d+\.\d{4}$/.test(text) ? Number(text) : NaN;
}

/** Turns JupyterLab's "Save Widget State Automatically" on or off. */
async function saveWidgetState(on: boolean): Promise<void> {
  await page.evaluate(
    async ({ id, wanted }) => {
      const app = (window as unknown as { jupyterapp: any }).jupyterapp;
      if (app.commands.isToggled(id) !== wanted) {
        await app.commands.execute(id);
      }
    },
    { id: SAVE_STATE, wanted: on }
  );
  await expect
    .poll(() => page.evaluate(id => (window as any).jupyterapp.commands.isToggled(id), SAVE_STATE))
    .toBe(on);
}

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage();
  page.on('pageerror', error => pageErrors.push(error.message));
  page.on('dialog', dialog => void dialog.dismiss());
});

test.afterAll(async () => {
  await saveWidgetState(false).catch(() => undefined);
  await page.close();
});

test('the notebook is saved with the widgets’ tables in its widget state', async () => {
  await openNotebook(page, NOTEBOOK);
  await saveWidgetState(true);
  await runAllCells(page);
  await waitForKernelIdle(page);
  python = JSON.parse((await printed(page, /python: (\{.*\})/))[1]);
  const widget = page.locator('.intershap-widget').first();
  await expect.poll(() => shownScore(widget)).toBeCloseTo(python['early fusion'], 4);
  // The kernel sends each widget's saved tables once its stream is over and the browser said
  // hello: save until both have arrived in the file.
  await expect
    .poll(async () => {
      await page.evaluate(async () => {
        const app = (window as unknown as { jupyterapp: any }).jupyterapp;
        await app.commands.execute('docmanager:save');
      });
      const saved = JSON.parse(fs.readFileSync(scratchFile, 'utf-8'));
      const state = saved.metadata?.widgets?.[WIDGET_STATE]?.state ?? {};
      return Object.values(state).filter(
        (m: any) => m.model_name === 'InterSHAPModel' && m.state._saved_state
      ).length;
    })
    .toBe(2);
  const saved = JSON.parse(fs.readFileSync(scratchFile, 'utf-8'));
  const models = Object.values(saved.metadata.widgets[WIDGET_STATE].state).filter(
    (m: any) => m.model_name === 'InterSHAPModel'
  ) as any[];
  const full = models.find(m => m.state._saved_state.tablesSaved);
  const capped = models.find(m => !m.state._saved_state.tablesSaved);
  // Two models' values, predictions and labels, and the cohort codes, as binary buffers.
  expect(full.buffers.filter((b: any) => b.path[0] === '_saved_state')).toHaveLength(7);
  expect(capped.state._saved_state.models[0].summary.label).toBe('capped');

  // Plain viewers: nbconvert to markdown shows the text/plain lines.
  const markdown = execFileSync(
    path.join(repo, '.venv', 'bin', 'jupyter'),
    ['nbconvert', '--to', 'markdown', '--stdout', scratchFile],
    { encoding: 'utf-8', stdio: ['ignore', 'pipe', 'ignore'] }
  );
  const line =
    /InterSHAP: early fusion: global InterSHAP (\d\.\d{4})(?: \[[\d.]+, [\d.]+\])? over 2,000 samples \(done\)/.exec(
      markdown
    );
  expect(line, markdown).not.toBeNull();
  expect(Number(line![1])).toBeCloseTo(python['early fusion'], 4);
  expect(markdown).toContain('InterSHAP: late fusion: global InterSHAP');
});

test('reopened with no kernel holding the widgets, every view comes back from the saved state', async () => {
  await page.evaluate(async () => {
    const app = (window as unknown as { jupyterapp: any }).jupyterapp;
    await app.shell.currentWidget.sessionContext.shutdown();
  });
  // Reload: the widget manager finds no widget in the (new) kernel and builds them from the
  // notebook's saved state, without a comm.
  await openNotebook(page, NOTEBOOK);
  const widget = page.locator('.intershap-widget').first();
  await expect(widget.locator('.intershap-notice')).toContainText(
    'saved with the notebook (no kernel holds this widget)'
  );
  await expect.poll(() => shownScore(widget)).toBeCloseTo(python['early fusion'], 4);
  await expect(widget.locator('.intershap-progress')).toContainText(
    'early fusion: 2000 / 2000 samples, done'
  );
  await expect(widget.locator('.intershap-error')).toBeHidden();
  await saveScreenshot(widget, 'saved-state-reopened.png');

  // A brush re-aggregates in the worker, with no kernel.
  await drag(page, widget.locator('.intershap-scatter'), [0.2, 0.1], [0.7, 0.9]);
  await expect(widget.locator('.intershap-score-label')).toHaveText(
    'Global InterSHAP of the selection'
  );
  const size = widget.locator('.intershap-selection-size');
  await expect(size).toHaveAttribute('data-count', /^[1-9]\d*$/);
  expect(Number(await size.getAttribute('data-count'))).toBeLessThan(2000);

  // The Compare tab: both models' cards, the Δ with its paired interval.
  await openTab(widget, 'Compare');
  await expect(widget.locator('.intershap-compare-card')).toHaveCount(2);
  await expect(
    widget.locator('.intershap-compare-delta .intershap-delta-interval')
  ).toHaveAttribute('data-low', /\d/, { timeout: 120_000 });
  await saveScreenshot(widget, 'saved-state-compare.png');

  // Cohorts came back too.
  await openTab(widget, 'Cohorts');
  await expect(widget.locator('select.intershap-cohort-grouping')).toContainText('site');

  // The capped widget keeps its summary and says how to save the tables.
  const capped = page.locator('.intershap-widget').nth(1);
  await capped.scrollIntoViewIfNeeded();
  const notice = capped.locator('.intershap-notice');
  await expect(notice).toContainText('too large to save with the notebook');
  await expect(notice).toContainText('save_state_mb=');
  await saveScreenshot(capped, 'saved-state-capped.png');
  await expect(notice).toContainText(
    `capped: global InterSHAP ${python['late fusion'].toFixed(4)}`
  );
  expect(pageErrors).toEqual([]);
});
