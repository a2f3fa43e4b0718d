/** Shared steps for the browser tests: open a notebook in the real JupyterLab and run it. */
import { expect } from '@playwright/test';
import type { Locator, Page } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';

export const ARTIFACTS = path.resolve(__dirname, '..', 'artifacts');

export async function openNotebook(page: Page, name: string): Promise<void> {
  // ?reset: a fresh workspace, so notebooks opened by earlier tests are not restored next to this
  // one (they would make it ambiguous which notebook is current).
  await page.goto(`/lab/tree/${name}?reset`);
  await page.waitForFunction(() =>
    Boolean((window as unknown as { jupyterapp?: unknown }).jupyterapp)
  );
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

/**
 * The first match of `pattern` in the notebook's outputs. An idle kernel has sent its output, but
 * JupyterLab may not have rendered it yet (on a busy machine it lags): wait until it is shown.
 */
export async function printed(page: Page, pattern: RegExp): Promise<RegExpExecArray> {
  let match: RegExpExecArray | null = null;
  let outputs = '';
  try {
    await expect
      .poll(
        async () => {
          outputs = await notebookOutputText(page);
          match = pattern.exec(outputs);
          return match !== null;
        },
        { timeout: 60_000 }
      )
      .toBe(true);
  } catch {
    throw new Error(`no notebook output matches ${pattern}; the outputs are:\n${outputs}`);
  }
  return match!;
}

export async function saveScreenshot(target: Locator | Page, name: string): Promise<string> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, name);
  await target.screenshot({ path: file });
  return file;
}

/** The index of the first code cell whose source contains `needle`. */
export async function cellIndex(page: Page, needle: string): Promise<number> {
  const index = await page.evaluate(text => {
    const app = (window as unknown as { jupyterapp: any }).jupyterapp;
    const cells = app.shell.currentWidget.content.widgets as any[];
    return cells.findIndex(
      cell => cell.model.type === 'code' && cell.model.sharedModel.getSource().includes(text)
    );
  }, needle);
  if (index < 0) {
    throw new Error(`no code cell contains ${JSON.stringify(needle)}`);
  }
  return index;
}

/** Runs one cell of the open notebook, as the user would (its output appears in the notebook). */
export async function runCell(page: Page, index: number): Promise<void> {
  await page.evaluate(async i => {
    const app = (window as unknown as { jupyterapp: any }).jupyterapp;
    app.shell.currentWidget.content.activeCellIndex = i;
    await app.commands.execute('notebook:run-cell');
  }, index);
}

/**
 * Executes code in the notebook's kernel (its namespace, not a cell) and returns what it printed.
 * Fails with the Python error if there is one.
 */
export async function runPython(page: Page, code: string): Promise<string> {
  const result = await page.evaluate(async source => {
    const app = (window as unknown as { jupyterapp: any }).jupyterapp;
    // The current tab's kernel; when the current tab has none (a docked view), the notebook's.
    const current = app.shell.currentWidget;
    const notebook = current?.sessionContext
      ? current
      : [...app.shell.widgets('main')].find((w: any) => w.sessionContext);
    const kernel = notebook.sessionContext.session.kernel;
    const future = kernel.requestExecute({ code: source, store_history: false });
    let out = '';
    let error: string | null = null;
    future.onIOPub = (msg: any) => {
      if (msg.header.msg_type === 'stream') {
        out += msg.content.text;
      } else if (msg.header.msg_type === 'error') {
        error = `${msg.content.ename}: ${msg.content.evalue}`;
      }
    };
    await future.done;
    return { out, error };
  }, code);
  if (result.error) {
    throw new Error(`Python failed: ${result.error}\n--- code ---\n${code}`);
  }
  return result.out;
}

/** runPython for code that prints one JSON value. */
export async function pythonJson<T>(page: Page, code: string): Promise<T> {
  const out = await runPython(page, code);
  return JSON.parse(out.trim().split('\n').pop()!) as T;
}

/** Clicks a tab of a widget's dashboard and waits until it is the open one. */
export async function openTab(target: Locator, title: string): Promise<void> {
  await target.locator('.intershap-tabs .lm-TabBar-tab', { hasText: title }).click();
  await expect(target.locator('.intershap-tabs .lm-TabBar-tab.lm-mod-current')).toHaveText(title);
}

/** Drags the mouse across a chart's plot area, between two fractions of its width and height. */
export async function drag(
  page: Page,
  chart: Locator,
  from: [number, number],
  to: [number, number]
): Promise<void> {
  await chart.scrollIntoViewIfNeeded();
  const box = (await chart.locator('.nsewdrag').first().boundingBox())!;
  await page.mouse.move(box.x + box.width * from[0], box.y + box.height * from[1]);
  await page.mouse.down();
  const steps = 8;
  for (let s = 1; s <= steps; s++) {
    const f = s / steps;
    await page.mouse.move(
      box.x + box.width * (from[0] + (to[0] - from[0]) * f),
      box.y + box.height * (from[1] + (to[1] - from[1]) * f)
    );
  }
  await page.mouse.up();
}
