/**
 * The Compare tab in a real JupyterLab with a real kernel (ui-tests/notebooks/compare_models.ipynb):
 * three models on the same samples; the tab's Δ global score, ΔΦ̄ cells and paired interval equal
 * `w.compare()`; a brush in one model's scatter re-aggregates the Δ for the selection, equal to
 * `w.compare(samples="selection")`; a click on a sample that moves opens both models side by side;
 * and at 100,000 samples × 3 models (M = 4) a brush costs the worker little and never blocks the
 * page (both printed).
 */
import { expect, test } from '@playwright/test';
import type { Locator, Page } from '@playwright/test';
import {
  cellIndex,
  openNotebook,
  runCell,
  runPython,
  saveScreenshot,
  waitForKernelIdle,
  openTab,
  drag
} from './helpers';

interface Comparison {
  source: string;
  n: number;
  global_delta: number;
  interval: [number, number];
  matrix_delta: number[][];
  contribution_delta: number[];
  global_reference: number;
  global_other: number;
}

const DECIMALS = 4;

/** Runs Python that prints one JSON line; warnings printed beside it fail the test, named. */
async function pythonJson<T>(page: Page, code: string): Promise<T> {
  const out = await runPython(page, code);
  const lines = out.trim().split('\n');
  expect(lines, `Python printed more than the JSON:\n${out}`).toHaveLength(1);
  return JSON.parse(lines[0]) as T;
}

test.describe.configure({ mode: 'serial' });

let page: Page;
const pageErrors: string[] = [];

/** The Δ box of one model against the reference, once its paired interval is shown. */
async function deltaBox(target: Locator, nth: number): Promise<Locator> {
  const box = target.locator('.intershap-compare-delta').nth(nth);
  await expect(box.locator('.intershap-delta-interval')).toHaveAttribute('data-low', /\d/, {
    timeout: 120_000
  });
  return box;
}

/** What the tab shows for one other model: Δ global, its interval and the ΔΦ̄ cells. */
async function shownDelta(target: Locator, nth: number) {
  const box = await deltaBox(target, nth);
  const interval = box.locator('.intershap-delta-interval');
  const heatmap = target.locator('.intershap-delta-heatmap').nth(nth);
  await expect(heatmap.locator('g.annotation')).toHaveCount(9);
  return {
    globalDelta: Number(await box.locator('.intershap-delta-global').getAttribute('data-value')),
    globalText: (await box.locator('.intershap-delta-global').textContent())!,
    low: Number(await interval.getAttribute('data-low')),
    high: Number(await interval.getAttribute('data-high')),
    intervalText: (await interval.textContent())!,
    cells: await heatmap.evaluate(node => (node as any).data[0].z as number[][]),
    cellTexts: await heatmap.locator('g.annotation').allTextContents()
  };
}

function expectSameDelta(shown: Awaited<ReturnType<typeof shownDelta>>, python: Comparison) {
  expect(shown.globalDelta).toBeCloseTo(python.global_delta, DECIMALS);
  expect(shown.low).toBeCloseTo(python.interval[0], DECIMALS);
  expect(shown.high).toBeCloseTo(python.interval[1], DECIMALS);
  python.matrix_delta.flat().forEach((cell, k) => {
    expect(shown.cells.flat()[k]).toBeCloseTo(cell, DECIMALS);
  });
  // What the user reads: the numbers as written, to the decimals shown.
  expect(shown.globalText.replace('−', '-').replace('+', '')).toBe(
    python.global_delta.toFixed(DECIMALS)
  );
  expect(shown.cellTexts).toEqual(python.matrix_delta.flat().map(v => v.toFixed(DECIMALS)));
}

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage();
  page.on('pageerror', error => pageErrors.push(error.message));
  page.on('console', message => {
    if (message.type() === 'error') {
      pageErrors.push(message.text());
    }
  });
  await openNotebook(page, 'compare_models.ipynb');
  for (const needle of ['compute_values(', 'w = InterSHAP(', 'def comparison_json']) {
    await runCell(page, await cellIndex(page, needle));
  }
  await waitForKernelIdle(page);
});

test.afterAll(async () => {
  await page.close();
});

test('the Compare tab shows the Δs and paired intervals of w.compare()', async () => {
  const target = page.locator('.intershap-widget').first();
  await openTab(target, 'Compare');
  await expect(target.locator('.intershap-compare-card')).toHaveCount(3);
  await expect(target.locator('.intershap-compare-delta')).toHaveCount(2);
  await expect(target.locator('.intershap-compare-heatmap')).toHaveCount(3);

  for (const [nth, other] of [
    [0, 'late'],
    [1, 'mixed']
  ] as const) {
    const python = await pythonJson<Comparison>(
      page,
      `print(comparison_json(w.compare(reference="early", other="${other}")))`
    );
    expect(python.source).toBe('browser');
    const shown = await shownDelta(target, nth);
    expectSameDelta(shown, python);
    expect(python.interval[0]).toBeLessThan(python.global_delta);
    expect(python.interval[1]).toBeGreaterThan(python.global_delta);
  }
  // Late fusion cannot use the interaction: its score is clearly below early fusion's.
  const late = await shownDelta(target, 0);
  expect(late.high).toBeLessThan(0);
  // The numpy twin, with no browser asked, gives the same numbers.
  const twin = await pythonJson<Comparison>(
    page,
    [
      'from intershap_widget import decompose',
      'dec = {k: decompose.decompose(t.values) for k, t in tables.items()}',
      'd = decompose.paired_delta(dec["early"], dec["late"])',
      'b = decompose.paired_bootstrap(dec["early"], dec["late"])',
      'print(json.dumps({"source": "numpy", "n": d.n, "global_delta": d.global_delta,',
      '  "interval": list(b.global_delta), "matrix_delta": d.matrix_delta.tolist(),',
      '  "contribution_delta": d.contribution_delta.tolist(),',
      '  "global_reference": d.global_reference, "global_other": d.global_other}))'
    ].join('\n')
  );
  expectSameDelta(late, twin);
  await saveScreenshot(target, 'compare-tab.png');
});

test('a brush in one model’s scatter re-aggregates the Δ for the selection', async () => {
  const target = page.locator('.intershap-widget').first();
  await openTab(target, 'Global');
  await drag(page, target.locator('.intershap-scatter'), [0.05, 0.05], [0.5, 0.95]);
  await expect(target.locator('.intershap-selection')).toBeVisible();
  const count = Number(
    await target.locator('.intershap-selection-size').getAttribute('data-count')
  );
  expect(count).toBeGreaterThan(10);
  await expect
    .poll(async () => Number(await runPython(page, 'print(len(w.selection))')))
    .toBe(count);
  await openTab(target, 'Compare');
  await expect(target.locator('.intershap-compare-cards')).toHaveAttribute('data-n', String(count));
  const python = await pythonJson<Comparison>(
    page,
    'print(comparison_json(w.compare(other="late", samples="selection")))'
  );
  expect(python.n).toBe(count);
  expectSameDelta(await shownDelta(target, 0), python);

  // A brush in the paired scatter selects too, for every model.
  await saveScreenshot(target.locator('.intershap-paired-scatter'), 'compare-before-brush.png');
  await drag(page, target.locator('.intershap-paired-scatter'), [0.3, 0.05], [0.95, 0.95]);
  await expect
    .poll(async () =>
      Number(await target.locator('.intershap-compare-cards').getAttribute('data-n'))
    )
    .not.toBe(count);
  expect(pageErrors).toEqual([]);
  const paired = Number(await target.locator('.intershap-compare-cards').getAttribute('data-n'));
  await expect
    .poll(async () => Number(await runPython(page, 'print(len(w.selection))')))
    .toBe(paired);
  await saveScreenshot(target, 'compare-selection.png');
  await runPython(page, 'w.selection = []');
  await expect(target.locator('.intershap-compare-cards')).toHaveAttribute('data-n', '1500');
});

test('a sample that moves opens in the Local tab with both models side by side', async () => {
  const target = page.locator('.intershap-widget').first();
  await openTab(target, 'Compare');
  const mover = target.locator('.intershap-mover').first();
  await expect(mover).toBeVisible();
  const index = Number(await mover.getAttribute('data-index'));
  const expected = await pythonJson<{ early: number; late: number; top: number }>(
    page,
    [
      'le = decompose.decompose(tables["early"].values).local',
      'll = decompose.decompose(tables["late"].values).local',
      'top = int(np.nanargmax(np.abs(ll - le)))',
      `print(json.dumps({"early": float(le[${index}]), "late": float(ll[${index}]), "top": top}))`
    ].join('\n')
  );
  expect(index).toBe(expected.top);
  await mover.click();
  await expect(target.locator('.lm-TabBar-tab.lm-mod-current')).toHaveText('Local');
  await expect(target.locator('.intershap-local-facts')).toHaveAttribute(
    'data-index',
    String(index)
  );
  const pairTitle = target.locator('.intershap-local-pair-title');
  await expect(pairTitle).toContainText('late');
  expect(Number(await pairTitle.getAttribute('data-local'))).toBeCloseTo(expected.late, DECIMALS);
  await expect(target.locator('.intershap-local-heatmap-paired g.annotation')).toHaveCount(9);
  await expect(target.locator('.intershap-waterfall-paired .point')).not.toHaveCount(0);
  await saveScreenshot(target, 'compare-local-pair.png');
  expect(pageErrors).toEqual([]);
});

test('w.export(view="compare") writes every comparison panel, the Δs as text', async () => {
  const out = await runPython(
    page,
    [
      'w.export("compare.svg", view="compare", width_mm=180)',
      'text = open("compare.svg", encoding="utf-8").read()',
      'print(json.dumps({"text": text, "circles": text.count("<circle")}))'
    ].join('\n')
  );
  const svg = JSON.parse(out.trim().split('\n').pop()!) as { text: string; circles: number };
  for (const shown of [
    'late − early',
    'Δ global InterSHAP',
    'paired 95% interval',
    'Share of Σ|Φ̄| per model',
    'ΔΦ̄ (other − reference)',
    'Local score: other model against reference'
  ]) {
    expect(svg.text).toContain(shown);
  }
  expect(svg.text.toLowerCase()).not.toContain('<script');
  // The paired scatter's 1,500 points, each a vector circle.
  expect(svg.circles).toBeGreaterThan(1000);
});

test('at 100,000 samples × 3 models a brush re-aggregates every panel quickly (printed)', async () => {
  await runCell(page, await cellIndex(page, 'big = InterSHAP('));
  await waitForKernelIdle(page);
  const big = page.locator('.intershap-widget').nth(1);
  await big.scrollIntoViewIfNeeded();
  await expect(big.locator('.intershap-progress')).toContainText('C: 100000 / 100000', {
    timeout: 120_000
  });
  await openTab(big, 'Compare');
  await expect(big.locator('.intershap-compare-delta')).toHaveCount(2, { timeout: 60_000 });
  await expect(big.locator('.intershap-compare-cards')).toHaveAttribute('data-n', '100000');
  await page.evaluate(() => {
    const w = window as any;
    w.__longTasks = [] as Array<{ start: number; duration: number }>;
    w.__worker = [] as Array<{ name: string; duration: number }>;
    w.__draws = [] as Array<{ name: string; start: number; duration: number }>;
    w.__since = performance.now();
    new PerformanceObserver(list => {
      for (const entry of list.getEntries()) {
        if (entry.startTime >= w.__since) {
          w.__longTasks.push({ start: entry.startTime, duration: entry.duration });
        }
      }
    }).observe({ type: 'longtask' });
    new PerformanceObserver(list => {
      for (const entry of list.getEntries()) {
        if (entry.name.startsWith('intershap-worker:')) {
          w.__worker.push({ name: entry.name, duration: entry.duration, start: entry.startTime });
        } else if (entry.name.startsWith('intershap:')) {
          w.__draws.push({ name: entry.name, start: entry.startTime, duration: entry.duration });
        }
      }
    }).observe({ type: 'measure' });
  });
  // A drag that lands while the scatter redraws its frame is not a brush: then brush again, with
  // the measures of the missed one dropped.
  await expect(async () => {
    await page.evaluate(() => {
      const w = window as any;
      w.__longTasks.length = 0;
      w.__worker.length = 0;
      w.__draws.length = 0;
    });
    await drag(page, big.locator('.intershap-paired-scatter'), [0.05, 0.05], [0.6, 0.95]);
    await expect
      .poll(
        async () => Number(await big.locator('.intershap-compare-cards').getAttribute('data-n')),
        { timeout: 10_000 }
      )
      .toBeLessThan(100000);
  }).toPass({ timeout: 60_000 });
  await expect(big.locator('.intershap-compare-heatmap').first()).toBeVisible();
  await page.waitForTimeout(1500);
  const { tasks, worker, draws } = await page.evaluate(() => ({
    tasks: (window as any).__longTasks as Array<{ start: number; duration: number }>,
    worker: (window as any).__worker as Array<{ name: string; duration: number }>,
    draws: (window as any).__draws as Array<{ name: string; start: number; duration: number }>
  }));
  // Every request but the intervals (which run in slices, in the background, and are dropped by
  // the next brush) is the brush's re-aggregation.
  const panels = worker.filter(w => !/interval/i.test(w.name));
  const workerMs = panels.reduce((sum, w) => sum + w.duration, 0);
  const longest = Math.max(0, ...tasks.map(task => task.duration));
  const byOp = new Map<string, { ms: number; calls: number }>();
  for (const w of panels) {
    const op = byOp.get(w.name) ?? { ms: 0, calls: 0 };
    byOp.set(w.name, { ms: op.ms + w.duration, calls: op.calls + 1 });
  }
  console.log(
    `benchmark: a brush over 100,000 samples × 3 models (M = 4): ${workerMs.toFixed(0)} ms of worker time ` +
      `(${[...byOp].map(([name, op]) => `${name.replace('intershap-worker:', '')} ${op.ms.toFixed(0)} ms in ${op.calls}`).join(', ')}), ` +
      `longest main-thread task ${longest.toFixed(0)} ms`
  );
  for (const task of tasks) {
    const inside = draws
      .filter(d => d.start < task.start + task.duration && d.start + d.duration > task.start)
      .map(d => `${d.name.replace('intershap:intershap-', '')} ${d.duration.toFixed(0)} ms`);
    console.log(
      `  task of ${task.duration.toFixed(0)} ms` +
        (inside.length ? ` (chart draws: ${inside.join(', ')})` : '')
    );
  }
  await saveScreenshot(big, 'compare-100k.png');
  expect(panels.length).toBeGreaterThan(0);
  expect(longest).toBeLessThan(200);
  expect(pageErrors).toEqual([]);
});

test('models with different modalities: the tab says they cannot be compared, and so does Python', async () => {
  await runCell(page, await cellIndex(page, 'odd = InterSHAP('));
  await waitForKernelIdle(page);
  const odd = page
    .locator('.jp-CodeCell', { hasText: 'odd = InterSHAP(' })
    .locator('.intershap-widget');
  await odd.scrollIntoViewIfNeeded();
  await openTab(odd, 'Compare');
  const message = odd.locator('.intershap-compare-message');
  await expect(message).toHaveAttribute('data-state', 'mismatch');
  await expect(message).toContainText(
    'two modalities has M = 2 modalities (image, text) and three modalities has M = 3 (image, text, tabular): models with different modalities cannot be compared'
  );
  await expect(odd.locator('.intershap-compare-body')).toBeHidden();
  const out = await runPython(
    page,
    'try:\n    odd.compare()\nexcept ValueError as error:\n    print(error)'
  );
  expect(out).toContain('cannot be compared');
  expect(pageErrors).toEqual([]);
});
