/**
 * Docked views (ui-tests/notebooks/dock_views.ipynb): "Open InterSHAP view in a new tab" from the
 * widget's context menu and from the command palette opens one more view of the same widget in a
 * main-area tab beside the notebook; every view of a widget follows the others (selection, model
 * shown, open tab), and each keeps working when the other goes away.
 */
import { expect, test } from '@playwright/test';
import type { Locator, Page } from '@playwright/test';
import {
  cellIndex,
  openNotebook,
  pythonJson,
  runCell,
  runPython,
  saveScreenshot,
  waitForKernelIdle,
  openTab
} from './helpers';

const COMMAND = 'intershap:open-in-tab';
const LABEL = 'Open InterSHAP view in a new tab';
const N = 600;

test.describe.configure({ mode: 'serial' });

let page: Page;
const pageErrors: string[] = [];

/** The index-th widget view in the notebook's outputs. */
const inNotebook = (index: number): Locator =>
  page.locator('.jp-NotebookPanel .intershap-widget').nth(index);
/** The docked tab (a main-area panel) titled `title`, and the view in it. */
const dockTab = (title: string): Locator =>
  page.locator('#jp-main-dock-panel .lm-DockPanel-tabBar .lm-TabBar-tab', { hasText: title });
const docks = (): Locator => page.locator('#jp-main-dock-panel .intershap-dock');
const dockedView = (index: number): Locator => docks().nth(index).locator('.intershap-docked');

async function score(view: Locator): Promise<string> {
  const text = (await view.locator('.intershap-global-score').textContent())?.trim() ?? '';
  expect(text, 'a number with 4 decimals').toMatch(/^-?\d+\.\d{4}$/);
  return text;
}

async function currentTab(view: Locator): Promise<string> {
  return (await view.locator('.intershap-tabs .lm-TabBar-tab.lm-mod-current').textContent()) ?? '';
}

/** What the Global tab says about the selection: its size, or null when none is shown. */
async function selectionCount(view: Locator): Promise<number | null> {
  if (await view.locator('.intershap-selection').isHidden()) {
    return null;
  }
  return Number(await view.locator('.intershap-selection-size').getAttribute('data-count'));
}

/** Right-clicks `target` and picks the command in JupyterLab's context menu. */
async function dockFromContextMenu(target: Locator): Promise<void> {
  await target.scrollIntoViewIfNeeded();
  await target.click({ button: 'right' });
  const item = page.locator('.lm-Menu .lm-Menu-item', { hasText: LABEL });
  await expect(item).toBeVisible();
  await item.click();
}

async function commandState(): Promise<{ enabled: boolean; caption: string }> {
  return page.evaluate(id => {
    const app = (window as unknown as { jupyterapp: any }).jupyterapp;
    return { enabled: app.commands.isEnabled(id), caption: app.commands.caption(id) };
  }, COMMAND);
}

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage();
  page.on('pageerror', error => pageErrors.push(error.message));
  await openNotebook(page, 'dock_views.ipynb');
});

test.afterAll(async () => {
  await page.close();
});

test('with no widget on the page the command is disabled and says why', async () => {
  const state = await commandState();
  expect(state.enabled).toBe(false);
  expect(state.caption).toContain('No InterSHAP widget on the page');

  for (const needle of ['def tables', 'w = InterSHAP(', 'w2 = InterSHAP(']) {
    await runCell(page, await cellIndex(page, needle));
  }
  await waitForKernelIdle(page);
  await expect(inNotebook(0).locator('.intershap-progress')).toContainText(
    `synergy: ${N} / ${N} samples, done`
  );
  await expect(inNotebook(0).locator('.intershap-progress')).toContainText(
    `additive: ${N} / ${N} samples, done`
  );
  await expect(inNotebook(1).locator('.intershap-progress')).toContainText(
    `second: ${N} / ${N} samples, done`
  );
  expect((await commandState()).enabled).toBe(true);
});

test('the context menu opens the widget under the click in a tab beside the notebook', async () => {
  const notebookView = inNotebook(0);
  await expect(notebookView.locator('.intershap-global-score')).toHaveText(/^-?\d+\.\d{4}$/);
  await dockFromContextMenu(notebookView.locator('.intershap-global-score'));

  await expect(docks()).toHaveCount(1);
  await expect(dockTab('InterSHAP: synergy')).toHaveCount(1);
  const docked = dockedView(0);
  await expect(docked).toBeVisible();
  // Three dashboards: the two in the notebook and the docked one.
  await expect(page.locator('.intershap-dashboard')).toHaveCount(3);

  // Beside the notebook (split right), both on screen at once, not a tab behind it.
  const notebookBox = (await page.locator('.jp-NotebookPanel').boundingBox())!;
  const dockBox = (await docks().first().boundingBox())!;
  await expect(page.locator('.jp-NotebookPanel')).toBeVisible();
  expect(dockBox.x).toBeGreaterThanOrEqual(notebookBox.x + notebookBox.width - 2);
  expect(dockBox.width).toBeGreaterThan(300);

  // The same widget: the same numbers, the same models in its picker.
  await expect(docked.locator('.intershap-global-score')).toHaveText(await score(notebookView));
  await expect(docked.locator('.intershap-model-picker select option')).toHaveText([
    'synergy',
    'additive'
  ]);
});

test('a selection made anywhere is shown by both views', async () => {
  const notebookView = inNotebook(0);
  const docked = dockedView(0);
  const before = await score(docked);

  // From Python.
  await runPython(page, `w.selection = list(range(0, ${N}, 3))`);
  for (const view of [notebookView, docked]) {
    await expect.poll(() => selectionCount(view)).toBe(N / 3);
    await expect(view.locator('.intershap-selection-size')).toHaveText(`200 of ${N} samples`);
  }
  await expect.poll(() => score(docked)).not.toBe(before);
  await expect.poll(async () => score(notebookView)).toBe(await score(docked));

  // From the docked view: a cohort's Select button (the open tab follows in the notebook too).
  await openTab(docked, 'Cohorts');
  await expect.poll(() => currentTab(notebookView)).toBe('Cohorts');
  const row = docked.locator('.intershap-cohort-table tbody tr').first();
  await expect(row).toBeVisible();
  await row.locator('.intershap-cohort-select').click();
  const cohort = await pythonJson<{ n: number; labels: number[]; members: number }>(
    page,
    [
      'import json',
      'chosen = sorted(set(labels[w.selection].tolist()))',
      // Cohorts follow the selection: the button selects the cohort within the 200 selected.
      `members = int((labels[0:${N}:3] == chosen[0]).sum()) if len(chosen) == 1 else -1`,
      'print(json.dumps({"n": len(w.selection), "labels": chosen, "members": members}))'
    ].join('\n')
  );
  expect(cohort.labels).toHaveLength(1);
  expect(cohort.n).toBe(cohort.members);

  // Back to Global in the notebook's view: the docked one follows, both show the cohort.
  await openTab(notebookView, 'Global');
  await expect.poll(() => currentTab(docked)).toBe('Global');
  for (const view of [notebookView, docked]) {
    await expect.poll(() => selectionCount(view)).toBe(cohort.n);
  }
  await expect.poll(async () => score(notebookView)).toBe(await score(docked));

  // Clear selection in the notebook's view: both go back to every sample.
  await notebookView.locator('.intershap-clear-selection').click();
  for (const view of [notebookView, docked]) {
    await expect.poll(() => selectionCount(view)).toBeNull();
  }
  await expect.poll(() => score(docked)).toBe(before);
  expect(await runPython(page, 'print(len(w.selection))')).toBe('0\n');
});

test('the model shown and the open tab follow from one view to the other', async () => {
  const notebookView = inNotebook(0);
  const docked = dockedView(0);
  const synergy = await score(docked);

  await notebookView.locator('.intershap-model-picker select').selectOption({ label: 'additive' });
  await expect(docked.locator('.intershap-model-picker select')).toHaveValue(
    await notebookView.locator('.intershap-model-picker select').inputValue()
  );
  await expect.poll(() => score(docked)).not.toBe(synergy);
  await expect.poll(async () => score(notebookView)).toBe(await score(docked));
  await saveScreenshot(docked, 'dock-docked-view.png');
  await saveScreenshot(notebookView, 'dock-notebook-view.png');

  await docked.locator('.intershap-model-picker select').selectOption({ label: 'synergy' });
  await expect.poll(() => score(notebookView)).toBe(synergy);

  await openTab(docked, 'Local');
  await expect.poll(() => currentTab(notebookView)).toBe('Local');
  await openTab(notebookView, 'Global');
  await expect.poll(() => currentTab(docked)).toBe('Global');
});

test('the command palette docks the widget last clicked: two widgets side by side', async () => {
  const second = inNotebook(1);
  await second.scrollIntoViewIfNeeded();
  await second.locator('.intershap-global-score').click();
  await page.evaluate(() =>
    (window as unknown as { jupyterapp: any }).jupyterapp.commands.execute(
      'apputils:activate-command-palette'
    )
  );
  await page.locator('.lm-CommandPalette-input').fill('InterSHAP view in a new tab');
  const item = page.locator('.lm-CommandPalette-item', { hasText: LABEL });
  await expect(item).toBeVisible();
  await item.click();

  await expect(docks()).toHaveCount(2);
  await expect(dockTab('InterSHAP: second')).toHaveCount(1);
  await expect(dockTab('InterSHAP: synergy')).toHaveCount(1);
  const first = dockedView(0);
  const other = docks().locator('.intershap-docked', {
    has: page.locator('.intershap-heatmap .xtick text', { hasText: 'audio' })
  });
  await expect(other).toHaveCount(1);
  await expect(first).toBeVisible();
  await expect(other).toBeVisible();
  await expect(other.locator('.intershap-global-score')).toHaveText(await score(second));
  // Side by side: neither covers the other.
  const a = (await first.boundingBox())!;
  const b = (await other.boundingBox())!;
  expect(a.x + a.width <= b.x + 2 || b.x + b.width <= a.x + 2).toBe(true);
  await saveScreenshot(page, 'dock-two-widgets.png');

  // Each docked view follows its own widget only.
  await runPython(page, 'w2.selection = list(range(100))');
  await expect.poll(() => selectionCount(other)).toBe(100);
  await expect.poll(() => selectionCount(second)).toBe(100);
  expect(await selectionCount(first)).toBeNull();
});

test('a docked view of a docked view gets a number; closing a tab or the widget', async () => {
  await dockFromContextMenu(dockedView(0).locator('.intershap-global-score'));
  await expect(dockTab('InterSHAP: synergy (2)')).toHaveCount(1);
  await expect(docks()).toHaveCount(3);
  await dockTab('InterSHAP: synergy (2)').locator('.lm-TabBar-tabCloseIcon').click();
  await expect(docks()).toHaveCount(2);

  // Closing the second widget's docked view: its notebook view goes on.
  await dockTab('InterSHAP: second').locator('.lm-TabBar-tabCloseIcon').click();
  await expect(docks()).toHaveCount(1);
  await expect(page.locator('.intershap-dashboard')).toHaveCount(3);
  await runPython(page, 'w2.selection = list(range(50))');
  await expect.poll(() => selectionCount(inNotebook(1))).toBe(50);

  // w2.close() in Python: its views go, the docked one too.
  await dockFromContextMenu(inNotebook(1).locator('.intershap-global-score'));
  await expect(dockTab('InterSHAP: second')).toHaveCount(1);
  await expect(docks()).toHaveCount(2);
  await runPython(page, 'w2.close()');
  await expect(dockTab('InterSHAP: second')).toHaveCount(0);
  await expect(docks()).toHaveCount(1);
  await expect(page.locator('.jp-NotebookPanel .intershap-widget')).toHaveCount(1);
  await expect(page.locator('.intershap-dashboard')).toHaveCount(2);
});

test('the docked view outlives the notebook output: selection, models and w.export', async () => {
  const docked = dockedView(0);
  const all = await score(docked);
  await page.evaluate(async needle => {
    const app = (window as unknown as { jupyterapp: any }).jupyterapp;
    const notebook = [...app.shell.widgets('main')].find((w: any) => w.sessionContext);
    app.shell.activateById(notebook.id);
    notebook.content.activeCellIndex = notebook.content.widgets.findIndex((cell: any) =>
      cell.model.sharedModel.getSource().includes(needle)
    );
    await app.commands.execute('notebook:clear-cell-output');
  }, 'w = InterSHAP(');
  await expect(page.locator('.jp-NotebookPanel .intershap-widget')).toHaveCount(0);
  await expect(docked).toBeVisible();

  await runPython(page, `w.selection = list(range(${N / 2}))`);
  await expect.poll(() => selectionCount(docked)).toBe(N / 2);
  await docked.locator('.intershap-model-picker select').selectOption({ label: 'additive' });
  await expect.poll(() => score(docked)).not.toBe(all);
  await expect(docked.locator('.intershap-error')).toBeHidden();

  // w.export draws in the docked view, the only one left.
  const exported = await pythonJson<{ name: string; size: number }>(
    page,
    [
      'import json, os',
      'f = w.export("docked.svg", width_mm=88)',
      'print(json.dumps({"name": os.path.basename(str(f)), "size": os.path.getsize(f)}))'
    ].join('\n')
  );
  expect(exported.name).toBe('docked.svg');
  expect(exported.size).toBeGreaterThan(1000);
});

test('the docked view says when the kernel dies and keeps its numbers', async () => {
  const docked = dockedView(0);
  const shown = await score(docked);
  await page.evaluate(() => {
    const app = (window as unknown as { jupyterapp: any }).jupyterapp;
    const notebook = [...app.shell.widgets('main')].find((w: any) => w.sessionContext);
    notebook.sessionContext.session.kernel.requestExecute({
      code: 'import os, signal; os.kill(os.getpid(), signal.SIGKILL)'
    });
  });
  await expect(docked.locator('.intershap-error')).toContainText(
    'Lost the connection to the kernel',
    { timeout: 60_000 }
  );
  await expect(docked.locator('.intershap-global-score')).toHaveText(shown);
  await saveScreenshot(docked, 'dock-dead-kernel.png');
  expect(pageErrors).toEqual([]);
  // JupyterLab's "kernel restarting" dialog.
  await page.keyboard.press('Escape');
});

test('closing the notebook leaves the docked view on screen and working', async () => {
  const docked = dockedView(0);
  await page.evaluate(() => {
    const app = (window as unknown as { jupyterapp: any }).jupyterapp;
    const notebook = [...app.shell.widgets('main')].find((w: any) => w.sessionContext);
    notebook.context.model.dirty = false;
    notebook.close();
  });
  await expect(page.locator('.jp-NotebookPanel')).toHaveCount(0);
  await expect(docked).toBeVisible();
  // A cohort made the selection in the browser: the docked view re-aggregates for it on its own.
  await openTab(docked, 'Cohorts');
  await docked.locator('.intershap-cohort-select').nth(1).click();
  await openTab(docked, 'Global');
  await expect.poll(() => selectionCount(docked)).not.toBe(N / 2);
  await expect.poll(() => selectionCount(docked)).toBeGreaterThan(0);
  await expect(docked.locator('.intershap-global-score')).toHaveText(/^-?\d+\.\d{4}$/);
  // JupyterLab's own kernel connection, disposed with the notebook, cancels its pending subshell
  // request ("Canceled future for create_subshell_request"): not this extension's.
  expect(pageErrors.filter(error => !error.includes('Canceled future'))).toEqual([]);
});
