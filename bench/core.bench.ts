/**
 * Throughput of the math core (`npm run bench`).
 *
 * For each M, on the same random value tables, it measures samples/s of:
 * - the core as the worker runs it while values stream in: decomposeInto the model's tables
 *   (allocateTables: WebAssembly memory, so the SIMD kernel runs for M ≤ 10), adding into the
 *   running sums (core/sums.ts), then the whole-set aggregate from them;
 * - the same with ordinary typed arrays, where the JavaScript kernel runs;
 * - the same with the aggregate as a pass over the per-sample arrays, as a selection or a cohort
 *   is aggregated;
 * - a plain summation pass over the same Float64Array: the memory-read limit, the baseline;
 * - the numpy twin (intershap_widget.decompose: decompose + aggregate), in a Python subprocess,
 *   with its default BLAS threads (both cores here) and with one thread (the core uses one).
 * Every number is the best of several timed rounds after a warm-up, and each round runs the work
 * repeatedly for at least MIN_ROUND_SECONDS so that timer resolution does not matter.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  aggregate,
  aggregateOfSums,
  allocatePerSample,
  allocateSums,
  allocateTables,
  decomposeInto,
  mulberry32,
  usesSimd
} from '../src/core';

const MIN_ROUND_SECONDS = 0.3;
// Best of seven: the VM's speed drifts by up to 1.5× from minute to minute, so one slow phase
// should not decide a column.
const ROUNDS = 7;
const REPO = fileURLToPath(new URL('..', import.meta.url));
const SAMPLES: Record<number, number> = { 2: 200_000, 4: 200_000, 6: 50_000, 8: 10_000 };

/** Best seconds per call of `work` over ROUNDS rounds of ≥ MIN_ROUND_SECONDS each. */
function bestSecondsPerCall(work: () => unknown): number {
  work(); // warm-up: lets the JIT compile and the kernel cache fill
  let best = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    let calls = 0;
    const start = performance.now();
    let elapsed = 0;
    do {
      work();
      calls++;
      elapsed = (performance.now() - start) / 1000;
    } while (elapsed < MIN_ROUND_SECONDS);
    best = Math.min(best, elapsed / calls);
  }
  return best;
}

function randomTables(n: number, M: number, seed: number): Float64Array {
  const random = mulberry32(seed);
  return Float64Array.from({ length: n * 2 ** M }, random);
}

/** The baseline: one read of every value, the least any decomposition must do. */
function sumPass(values: Float64Array): number {
  let sum = 0;
  for (let k = 0; k < values.length; k++) {
    sum += values[k];
  }
  return sum;
}

function pythonExecutable(): string {
  if (process.env.PYTHON) {
    return process.env.PYTHON;
  }
  const venv = join(REPO, '.venv', 'bin', 'python');
  return existsSync(venv) ? venv : 'python3';
}

/** Times decompose + aggregate of the numpy twin, best of ROUNDS rounds of ≥ 0.3 s; prints samples/s. */
const NUMPY_TIMER = `
import sys, time
import numpy as np
from intershap_widget.decompose import decompose, aggregate
path, M, N = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
v = np.fromfile(path, dtype=np.float64).reshape(N, 2 ** M)
aggregate(decompose(v))
best = float('inf')
for _ in range(${ROUNDS}):
    calls, start = 0, time.perf_counter()
    while True:
        aggregate(decompose(v))
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= ${MIN_ROUND_SECONDS}:
            break
    best = min(best, elapsed / calls)
print(N / best)
`;

/** Environment variables that hold numpy's BLAS to one thread, whichever BLAS it uses. */
const ONE_THREAD = {
  OMP_NUM_THREADS: '1',
  OPENBLAS_NUM_THREADS: '1',
  MKL_NUM_THREADS: '1'
};

/** samples/s of the numpy twin on the same table, or a short reason why it could not run. */
function numpySamplesPerSecond(
  values: Float64Array,
  M: number,
  n: number,
  threads: 'default' | 1
): number | string {
  const dir = mkdtempSync(join(tmpdir(), 'intershap-bench-'));
  try {
    const path = join(dir, 'values.f64');
    writeFileSync(path, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    const result = spawnSync(pythonExecutable(), ['-c', NUMPY_TIMER, path, String(M), String(n)], {
      cwd: REPO,
      encoding: 'utf8',
      env: threads === 'default' ? process.env : { ...process.env, ...ONE_THREAD }
    });
    const rate = Number.parseFloat(result.stdout);
    if (result.status !== 0 || !Number.isFinite(rate)) {
      const lines = (result.stderr || String(result.error ?? '')).trim().split('\n');
      return lines[lines.length - 1] || 'no output';
    }
    return rate;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function format(rate: number): string {
  return rate >= 1e6 ? `${(rate / 1e6).toFixed(2)} M` : `${(rate / 1e3).toFixed(1)} k`;
}

function main(): void {
  const header = [
    'M',
    'N',
    'core samples/s',
    'JavaScript kernel',
    'with aggregate pass',
    'sum-pass samples/s',
    'core/sum slowdown',
    'numpy samples/s',
    'core/numpy speedup',
    'numpy 1 thread',
    'core/numpy-1'
  ];
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const M of [2, 4, 6, 8]) {
    const n = SAMPLES[M];
    const values = randomTables(n, M, 17 + M);
    const tables = allocateTables(M, n);
    tables.values.set(values);
    const plain = allocatePerSample(M, n);
    const sums = allocateSums(M);
    let sink = 0;
    const withSums = (input: Float64Array, per: typeof plain) => () => {
      sums.fill(0);
      return (sink += decomposeInto(input, M, per, 0, sums) + aggregateOfSums(M, sums).n);
    };
    const core = n / bestSecondsPerCall(withSums(tables.values, tables.per));
    const javascript = n / bestSecondsPerCall(withSums(values, plain));
    const withPass =
      n /
      bestSecondsPerCall(
        () => (sink += decomposeInto(tables.values, M, tables.per, 0) + aggregate(tables.per).n)
      );
    notes.push(
      `M=${M}: core kernel ${usesSimd(tables) ? 'WebAssembly SIMD' : 'JavaScript (no SIMD kernel for this M)'}`
    );
    const sum = n / bestSecondsPerCall(() => (sink += sumPass(tables.values)));
    const numpy = numpySamplesPerSecond(values, M, n, 'default');
    const numpyOne = numpySamplesPerSecond(values, M, n, 1);
    for (const [what, rate] of [
      ['numpy twin', numpy],
      ['numpy twin, one thread', numpyOne]
    ] as const) {
      if (typeof rate === 'string') {
        notes.push(`${what} at M=${M}: n/a (${rate})`);
      }
    }
    const ratio = (rate: number | string) =>
      typeof rate === 'number' ? `${(core / rate).toFixed(1)}×` : 'n/a';
    rows.push([
      String(M),
      String(n),
      format(core),
      format(javascript),
      format(withPass),
      format(sum),
      `${(sum / core).toFixed(1)}×`,
      typeof numpy === 'number' ? format(numpy) : 'n/a',
      ratio(numpy),
      typeof numpyOne === 'number' ? format(numpyOne) : 'n/a',
      ratio(numpyOne)
    ]);
    if (Number.isNaN(sink)) {
      notes.push('(sink is NaN)'); // keeps the measured work observable to the JIT
    }
  }
  printTable(header, rows);
  console.log(
    `core = decomposeInto the worker's tables (allocateTables) with running sums + the aggregate ` +
      `of the sums, as the worker does for all samples; JavaScript kernel = the same on ordinary ` +
      `typed arrays; with aggregate pass = decomposeInto + aggregate() over ` +
      `the per-sample arrays, as for a selection; sum-pass = one plain loop summing the same Float64Array; numpy = ` +
      `intershap_widget.decompose decompose + aggregate (default BLAS threads, then one). Best of ` +
      `${ROUNDS} rounds of ≥ ${MIN_ROUND_SECONDS} s after a warm-up; other load on the machine ` +
      `shifts all of them.`
  );
  notes.forEach(note => console.log(note));
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map(r => r[c].length)));
  const line = (cells: string[]) =>
    '| ' + cells.map((x, c) => x.padStart(widths[c])).join(' | ') + ' |';
  console.log(line(header));
  console.log('|' + widths.map(w => '-'.repeat(w + 2)).join('|') + '|');
  rows.forEach(row => console.log(line(row)));
}

main();
