/** Shared steps for the browser tests: open a notebook in the real JupyterLab and run it. */
import { expect } from '@playwright/test';
import type { Locator, Page } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';

export const ARTIFACTS = path.resolve(__dirname, '..', 'artifacts');

export async function openNotebook(page: Page, name: string): Promise<void> {
  await page.goto(`/lab/tree/${name}`);
  await page.waitForFunction(() => Boolean((window as unknown as { jupyterapp?: unknown }).jupyterapp));
  await expect(page.locator('.jp-NotebookPanel .jp-Notebook')).toBeVisible();
  // Wait until the notebook's kernel session is ready before running anything.
  await page.waitForFunction(async () => {
    const app = (window as unknown as { jupyterapp: any }).jupyterapp;
    const widget = app.shell.currentWidget;
    if (!widget?.sessionContext) {
      return false;
    }
    await widget.sessionContext.ready;
    return widget.sessionContext.session?.kernel?.status === 'idle';
  });
}

export async function runAllCells(page: Page): Promise<void> {
  await page.evaluate(async () => {
    const app = (window as unknown as { jupyterapp: any }).jupyterapp;
    await app.commands.execute('notebook:run-all-cells');
  });
}

/** Waits until the kernel has finished every queued cell. */
export async function waitForKernelIdle(page: Page, timeout = 200_000): Promise<void> {
  await page.waitForFunction(
    () => {
      const app = (window as unknown as { jupyterapp: any }).jupyterapp;
      const cells = app.shell.currentWidget?.content?.widgets ?? [];
      const busy = cells.some(
        (cell: any) => cell.model?.type === 'code' && cell.promptNode?.textContent?.includes('*')
      );
      return !busy && app.shell.currentWidget.sessionContext.session?.kernel?.status === 'idle';
    },
    undefined,
    { timeout, polling: 500 }
  );
}

/** The concatenated text of every output area in the notebook. */
export async function notebookOutputText(page: Page): Promise<string> {
  return (await page.locator('.jp-OutputArea-output').allInnerTexts()).join('\n');
}

export async function saveScreenshot(target: Locator | Page, name: string): Promise<string> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, name);
  await target.screenshot({ path: file });
  return file;
}
