/**
 * The linked views in a real JupyterLab with a real kernel (examples/views_demo.ipynb): every
 * number the views show is compared with the one Python's numpy twin computes for the same
 * samples; brushing, clicking, cohorts, themes, hostile names and the main thread's longest task
 * with 100,000 samples streaming in.
 */
import { expect, test } from '@playwright/test';
import type { Locator, Page } from '@playwright/test';
import {
  cellIndex,
  printed,
  openNotebook,
  pythonJson,
  runCell,
  runPython,
  saveScreenshot,
  waitForKernelIdle,
  openTab,
  drag
} from './helpers';

interface PythonNumbers {
  n: number;
  global_intershap: number;
  local_mean: number;
}

interface PythonSample {
  index: number;
  matrix: number[][];
  local: number;
  values: number[];
  se: number[];
  label: number;
  prediction: number;
}

const NAMES = ['image', 'text', 'tabular'];
const HOSTILE = '<img src=x onerror=alert(1)>';
const DECIMALS = 4;

test.describe.configure({ mode: 'serial' });

let page: Page;
const pageErrors: string[] = [];
const dialogs: string[] = [];

/** The shown number, parsed; the display rounds to 4 decimals, so compare to 4 decimals. */
async function shownNumber(locator: Locator): Promise<number> {
  const text = (await locator.textContent())?.trim() ?? '';
  expect(text, 'a number with 4 decimals').toMatch(/^-?\d+\.\d{4}$/);
  return Number(text);
}

/** The index-th widget of the notebook, scrolled into view (charts off screen wait to be drawn). */
async function shownWidget(index: number): Promise<Locator> {
  const target = page.locator('.intershap-widget').nth(index);
  await target.scrollIntoViewIfNeeded();
  return target;
}

/** Where a (prediction, local score) lies in the scatter's plot area, in pixels (plotly's axes). */
async function plotPixel(
  scatter: Locator,
  x: number,
  y: number
): Promise<{ x: number; y: number }> {
  return scatter.evaluate(
    (node, data) => {
      const layout = (node as any)._fullLayout;
      return { x: layout.xaxis.d2p(data.x), y: layout.yaxis.d2p(data.y) };
    },
    { x, y }
  );
}

/** Waits until Python's w.selection has the size the widget shows, and returns Python's numbers. */
async function pythonSelectionNumbers(count: number): Promise<PythonNumbers> {
  await expect
    .poll(async () => Number(await runPython(page, 'print(len(w.selection))')), {
      message: 'w.selection in Python follows the brush'
    })
    .toBe(count);
  return pythonJson<PythonNumbers>(page, 'print(json.dumps(python_numbers(values, w.selection)))');
}

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage();
  page.on('pageerror', error => pageErrors.push(error.message));
  page.on('dialog', dialog => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  await openNotebook(page, 'views_demo.ipynb');
  for (const needle of [
    'compute_values(',
    'w = InterSHAP(',
    'def python_numbers',
    'odd = InterSHAP('
  ]) {
    await runCell(page, await cellIndex(page, needle));
  }
  await waitForKernelIdle(page);
  await expect(
    page.locator('.intershap-widget').first().locator('.intershap-progress')
  ).toContainText('synergy: 2000 / 2000 samples, done');
  await expect(
    page.locator('.intershap-widget').first().locator('.intershap-progress')
  ).toContainText('additive: 2000 / 2000 samples, done');
});

test.afterAll(async () => {
  await page.close();
});

test('the global views show the numbers Python computes', async () => {
  const target = await shownWidget(0);
  const synergy = JSON.parse(
    (await printed(page, /Global InterSHAP \(python\): (\{.*\})/))[1]
  ) as PythonNumbers;
  const additive = JSON.parse(
    (await printed(page, /Global InterSHAP, additive \(python\): (\{.*\})/))[1]
  ) as PythonNumbers;

  // The Global tab comes first: score, interval and mean local score.
  await expect(target.locator('.lm-TabBar-tab.lm-mod-current')).toHaveText('Global');
  const score = target.locator('.intershap-global-score');
  await expect(target.locator('.intershap-global-details')).toContainText(
    '95% bootstrap interval ['
  );
  expect(await shownNumber(score)).toBeCloseTo(synergy.global_intershap, DECIMALS);
  const details = (await target.locator('.intershap-global-details').textContent())!;
  const localMean = Number(/mean local score (-?\d+\.\d{4})/.exec(details)![1]);
  expect(localMean).toBeCloseTo(synergy.local_mean, DECIMALS);
  const [low, high] = /interval \[(-?\d+\.\d+), (-?\d+\.\d+)\]/.exec(details)!.slice(1).map(Number);
  expect(low).toBeLessThanOrEqual(synergy.global_intershap + 5e-5);
  expect(high).toBeGreaterThanOrEqual(synergy.global_intershap - 5e-5);

  // The mean Φ heatmap, the split bar (M modalities + interactions), the mass by order (M = 3).
  const M = NAMES.length;
  const heatmap = target.locator('.intershap-heatmap');
  await expect(heatmap.locator('g.annotation')).toHaveCount(M * M);
  expect(await heatmap.locator('.xtick text').allTextContents()).toEqual(NAMES);
  const split = target.locator('.intershap-split');
  await expect(split.locator('.legendtext')).toHaveText([
    ...NAMES.map(name => `${name} alone`),
    'interactions'
  ]);
  await expect(target.locator('.intershap-orders .xtick text')).toHaveCount(M);

  // Every sample with a defined local score is a point; the histogram counts the same samples.
  const defined = await pythonJson<number>(
    page,
    'print(json.dumps(int(np.isfinite(decompose.decompose(values).local).sum())))'
  );
  await expect(target.locator('.intershap-scatter-points')).toHaveAttribute(
    'data-points',
    String(defined)
  );
  await expect(target.locator('.intershap-histogram g.point')).not.toHaveCount(0);

  await saveScreenshot(target, 'views-global.png');

  // A second model: the comparison line and the picker show its own score.
  await expect(target.locator('.intershap-model-score')).toHaveCount(2);
  await target.locator('.intershap-model-picker select').selectOption({ label: 'additive' });
  await expect
    .poll(async () => shownNumber(score))
    .toBeCloseTo(additive.global_intershap, DECIMALS);
  await target.locator('.intershap-model-picker select').selectOption({ label: 'synergy' });
  await expect.poll(async () => shownNumber(score)).toBeCloseTo(synergy.global_intershap, DECIMALS);
});

test('clicking a point opens that sample in the local view, with Python’s numbers', async () => {
  const target = await shownWidget(0);
  // The sample with the highest local score sits alone at the top of the scatter.
  const chosen = await pythonJson<{ index: number; x: number; y: number }>(
    page,
    [
      'local = decompose.decompose(values).local',
      'i = int(np.nanargmax(local))',
      'print(json.dumps({"index": i, "x": float(synergy.prediction[i]), "y": float(local[i])}))'
    ].join('\n')
  );
  const scatter = target.locator('.intershap-scatter');
  await scatter.scrollIntoViewIfNeeded();
  const point = await plotPixel(scatter, chosen.x, chosen.y);
  const area = (await scatter.locator('.nsewdrag').first().boundingBox())!;
  await page.mouse.click(area.x + point.x, area.y + point.y);

  await expect(target.locator('.lm-TabBar-tab.lm-mod-current')).toHaveText('Local');
  const facts = target.locator('.intershap-local-facts');
  await expect(facts).toHaveAttribute('data-index', /\d+/);
  const opened = Number(await facts.getAttribute('data-index'));
  const python = await pythonJson<PythonSample>(
    page,
    `print(json.dumps(python_sample(values, synergy.se, ${opened})))`
  );
  // The opened sample is the one under the pointer: within the click radius of where we clicked.
  const openedAt = await plotPixel(scatter, python.prediction, python.local);
  expect(Math.hypot(openedAt.x - point.x, openedAt.y - point.y)).toBeLessThanOrEqual(7);

  const heatmap = target.locator('.intershap-local-heatmap');
  await expect(heatmap.locator('g.annotation')).toHaveCount(9);
  const cells = (await heatmap.locator('g.annotation').allTextContents()).map(Number);
  cells.forEach((value, k) =>
    expect(value, `Φ[${Math.floor(k / 3)}][${k % 3}]`).toBeCloseTo(
      python.matrix[Math.floor(k / 3)][k % 3],
      DECIMALS
    )
  );
  expect(
    await shownNumber(facts.locator('.intershap-local-score .intershap-fact-value'))
  ).toBeCloseTo(python.local, DECIMALS);
  expect(
    await shownNumber(facts.locator('.intershap-local-prediction .intershap-fact-value'))
  ).toBeCloseTo(python.prediction, DECIMALS);
  await expect(facts.locator('.intershap-local-label .intershap-fact-value')).toHaveText(
    String(python.label)
  );

  // The value table: every coalition, named, with its value and standard error.
  const rows = target.locator('.intershap-value-table tbody tr');
  await expect(rows).toHaveCount(8);
  for (let r = 0; r < 8; r++) {
    const mask = Number(await rows.nth(r).getAttribute('data-mask'));
    const members = NAMES.filter((_, m) => mask & (1 << m));
    await expect(rows.nth(r).locator('.intershap-coalition')).toHaveText(
      members.length ? `{${members.join(', ')}}` : '∅'
    );
    expect(await shownNumber(rows.nth(r).locator('.intershap-value'))).toBeCloseTo(
      python.values[mask],
      DECIMALS
    );
    expect(await shownNumber(rows.nth(r).locator('.intershap-se'))).toBeCloseTo(
      python.se[mask],
      DECIMALS
    );
  }
  // The waterfall: v(∅), 3 main effects, 3 pairs, the prediction.
  await expect(target.locator('.intershap-waterfall .xtick text')).toHaveCount(8);
  await saveScreenshot(target, 'views-local.png');
});

test('brushing re-aggregates every global view for the selection, and Python reads it', async () => {
  const target = await shownWidget(0);
  await openTab(target, 'Global');
  const score = target.locator('.intershap-global-score');
  const size = target.locator('.intershap-selection-size');

  // A box in the scatter.
  await drag(page, target.locator('.intershap-scatter'), [0.25, 0.2], [0.75, 0.7]);
  await expect(target.locator('.intershap-score-label')).toHaveText(
    'Global InterSHAP of the selection'
  );
  await expect(size).toHaveAttribute('data-count', /^[1-9]\d*$/);
  const count = Number(await size.getAttribute('data-count'));
  expect(count).toBeLessThan(2000);
  let python = await pythonSelectionNumbers(count);
  expect(python.n).toBe(count);
  await expect.poll(async () => shownNumber(score)).toBeCloseTo(python.global_intershap, DECIMALS);
  await expect(target.locator('.intershap-split .legendtext')).toHaveCount(NAMES.length + 1);
  await expect
    .poll(async () =>
      (await target.locator('.intershap-split .ytick text').allTextContents()).sort()
    )
    .toEqual(['all samples', 'selection']);
  await saveScreenshot(target, 'views-brushed.png');

  // A range of local scores in the histogram: a new selection, again Python's numbers.
  await drag(page, target.locator('.intershap-histogram'), [0.55, 0.5], [0.8, 0.5]);
  await expect.poll(async () => Number(await size.getAttribute('data-count'))).not.toBe(count);
  const histogramCount = Number(await size.getAttribute('data-count'));
  python = await pythonSelectionNumbers(histogramCount);
  await expect.poll(async () => shownNumber(score)).toBeCloseTo(python.global_intershap, DECIMALS);

  // From Python: the widget follows, re-aggregating in the browser.
  await runPython(page, 'w.selection = np.flatnonzero(labels == 1).tolist()');
  const ones = await pythonJson<PythonNumbers>(
    page,
    'print(json.dumps(python_numbers(values, np.flatnonzero(labels == 1))))'
  );
  await expect(size).toHaveAttribute('data-count', String(ones.n));
  await expect.poll(async () => shownNumber(score)).toBeCloseTo(ones.global_intershap, DECIMALS);

  // An empty selection is every sample again.
  await runPython(page, 'w.selection = []');
  await expect(target.locator('.intershap-score-label')).toHaveText('Global InterSHAP');
  const all = await pythonJson<PythonNumbers>(page, 'print(json.dumps(python_numbers(values)))');
  await expect.poll(async () => shownNumber(score)).toBeCloseTo(all.global_intershap, DECIMALS);
});

test('cohorts by label and by a user column sit side by side with Python’s scores', async () => {
  const target = await shownWidget(0);
  await openTab(target, 'Cohorts');
  const grouping = target.locator('.intershap-cohort-grouping');
  // The column given in Python comes first.
  await expect(grouping).toHaveValue('column:site');
  await expect(target.locator('.intershap-cohort-name')).toHaveText(['site A', 'site B', 'site C']);
  await grouping.selectOption('label');
  await expect(target.locator('.intershap-cohort-name')).toHaveText(['0', '1']);
  const python = await pythonJson<Record<string, PythonNumbers>>(
    page,
    'print(json.dumps({str(k): python_numbers(values, np.flatnonzero(labels == k)) for k in (0, 1)}))'
  );
  for (const [k, label] of ['0', '1'].entries()) {
    const row = target.locator('.intershap-cohort-table tbody tr').nth(k);
    expect(await shownNumber(row.locator('.intershap-cohort-score'))).toBeCloseTo(
      python[label].global_intershap,
      DECIMALS
    );
    await expect(row.locator('.intershap-cohort-n')).toHaveText(
      python[label].n.toLocaleString('en-US')
    );
  }
  await expect(target.locator('.intershap-cohort-interval').first()).toHaveText(
    /^\[\d\.\d{4}, \d\.\d{4}\]$/
  );
  await saveScreenshot(target, 'views-cohorts.png');

  // "Select" makes a cohort the selection, in Python too.
  await target.locator('.intershap-cohort-select').nth(1).click();
  await expect
    .poll(async () => Number(await runPython(page, 'print(len(w.selection))')))
    .toBe(python['1'].n);
  await runPython(page, 'w.selection = []');
  await openTab(target, 'Global');
});

test('the widget follows the dark theme and back', async () => {
  const target = await shownWidget(0);
  const colours = async () =>
    target.evaluate(node => {
      const style = getComputedStyle(node);
      const paper = node.querySelector('.intershap-heatmap .main-svg') as SVGElement | null;
      return {
        background: style.backgroundColor,
        text: style.color,
        chart: paper ? getComputedStyle(paper).backgroundColor : ''
      };
    });
  const light = await colours();
  await page.evaluate(() =>
    (window as any).jupyterapp.commands.execute('apputils:change-theme', {
      theme: 'JupyterLab Dark'
    })
  );
  await expect(page.locator('body')).toHaveAttribute('data-jp-theme-light', 'false');
  await expect.poll(async () => (await colours()).background).not.toBe(light.background);
  await expect.poll(async () => (await colours()).chart).not.toBe(light.chart);
  const dark = await colours();
  expect(dark.text).not.toBe(light.text);
  await saveScreenshot(target, 'views-dark.png');

  await page.evaluate(() =>
    (window as any).jupyterapp.commands.execute('apputils:change-theme', {
      theme: 'JupyterLab Light'
    })
  );
  await expect(page.locator('body')).toHaveAttribute('data-jp-theme-light', 'true');
  await expect.poll(colours).toEqual(light);
});

test('a modality, label or cohort named like HTML shows literally and runs nothing', async () => {
  const target = await shownWidget(1);
  await expect(target.locator('.intershap-progress')).toContainText('done');
  const heatmap = target.locator('.intershap-heatmap');
  await expect(heatmap.locator('g.annotation')).toHaveCount(4);
  expect(await heatmap.locator('.xtick text').allTextContents()).toEqual([HOSTILE, 'text']);
  await expect(target.locator('.intershap-split .legendtext').first()).toHaveText(
    `${HOSTILE} alone`
  );
  await openTab(target, 'Cohorts');
  await expect(target.locator('.intershap-cohort-grouping option[value^="column:"]')).toHaveText(
    '<b>group</b>'
  );
  await expect(target.locator('.intershap-cohort-name')).toContainText([
    '<img src=y onerror=alert(2)>'
  ]);
  await openTab(target, 'Local');
  await target.locator('.intershap-local-input').fill('0');
  await target.locator('.intershap-local-input').press('Enter');
  await expect(target.locator('.intershap-coalition').nth(1)).toHaveText(`{${HOSTILE}}`);
  await saveScreenshot(target, 'views-escaped.png');
  await openTab(target, 'Global');

  expect(await target.locator('img').count()).toBe(0);
  expect(await target.locator('b').count()).toBe(0);
  expect(dialogs).toEqual([]);
});

test('the main thread never blocks 200 ms while 100,000 samples at M = 4 stream in', async () => {
  // Plotly is already loaded by the widgets above: its one-time script evaluation is not streaming.
  await page.evaluate(() => {
    const w = window as any;
    w.__longTasks = [] as Array<{ start: number; duration: number }>;
    w.__draws = [] as Array<{ name: string; start: number; duration: number }>;
    w.__since = performance.now();
    new PerformanceObserver(list => {
      for (const entry of list.getEntries()) {
        if (entry.startTime >= w.__since) {
          w.__longTasks.push({ start: entry.startTime, duration: entry.duration });
        }
      }
    }).observe({ type: 'longtask', buffered: true });
    // The widget marks each chart draw ("intershap:<chart>"): they name what a long task was.
    new PerformanceObserver(list => {
      for (const entry of list.getEntries()) {
        if (entry.startTime >= w.__since && entry.name.startsWith('intershap:')) {
          w.__draws.push({ name: entry.name, start: entry.startTime, duration: entry.duration });
        }
      }
    }).observe({ type: 'measure', buffered: true });
  });
  await runCell(page, await cellIndex(page, 'big = InterSHAP('));
  await expect(page.locator('.intershap-widget')).toHaveCount(3, { timeout: 120_000 });
  const big = await shownWidget(2);
  // Streaming shows progress before it is done.
  await expect(big.locator('.intershap-progress')).toContainText(/\d+ \/ 100000 samples/);
  await expect(big.locator('.intershap-progress')).toContainText('100000 / 100000 samples, done', {
    timeout: 120_000
  });
  await expect(big.locator('.intershap-global-details')).toContainText('95% bootstrap interval [', {
    timeout: 120_000
  });
  await page.waitForTimeout(1000);
  const { tasks, draws } = await page.evaluate(() => ({
    tasks: (window as any).__longTasks as Array<{ start: number; duration: number }>,
    draws: (window as any).__draws as Array<{ name: string; start: number; duration: number }>
  }));
  const longest = Math.max(0, ...tasks.map(task => task.duration));
  console.log(
    `longest main-thread task while 100,000 samples (M = 4) streamed in: ${longest.toFixed(0)} ms ` +
      `(${tasks.length} tasks over 50 ms)`
  );
  for (const task of tasks) {
    const inside = draws
      .filter(d => d.start < task.start + task.duration && d.start + d.duration > task.start)
      .map(d => `${d.name.replace('intershap:intershap-', '')} ${d.duration.toFixed(0)} ms`);
    console.log(
      `  task at +${(task.start - tasks[0].start).toFixed(0)} ms: ${task.duration.toFixed(0)} ms` +
        (inside.length ? ` (chart draws: ${inside.join(', ')})` : '')
    );
  }
  await saveScreenshot(big, 'views-100k.png');
  expect(longest).toBeLessThan(200);

  await runCell(page, await cellIndex(page, 'big.wait()'));
  await waitForKernelIdle(page);
  const python = await printed(page, /Global InterSHAP, 100,000 samples \(python\): (\d+\.\d+)/);
  expect(await shownNumber(big.locator('.intershap-global-score'))).toBeCloseTo(
    Number(python[1]),
    DECIMALS
  );
  expect(pageErrors).toEqual([]);
});
