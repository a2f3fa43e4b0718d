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
 *
 * Then one line for the paired bootstrap of a comparison (the Compare tab, `w.compare()`) at a
 * million samples: the random groups it resamples above BOOTSTRAP_SAMPLE_LIMIT samples against the
 * sample-level bootstrap, in core and in the numpy twin, timed once each in the same run.
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
  decomposeAll,
  decomposeInto,
  mulberry32,
  PairedBootstrapResampler,
  usesSimd
} from '../src/core';
import type { PerSample } from '../src/core';

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

const PAIRED_SAMPLES = 1_000_000;
const PAIRED_M = 3;
const PAIRED_REPS = 1000;
/**
 * The sample-level bootstrap makes a billion draws at a million samples (one to two minutes): it
 * is timed on this many resamples and scaled to PAIRED_REPS, its cost being linear in them.
 */
const SAMPLE_LEVEL_REPS = 25;

/** Seconds for `reps` resamples of a paired bootstrap, grouping (when grouped) included. */
function pairedSeconds(ref: PerSample, oth: PerSample, reps: number, sampleLimit?: number): number {
  const start = performance.now();
  const resampler = new PairedBootstrapResampler(ref, oth, undefined, { reps, sampleLimit });
  resampler.step(Infinity);
  resampler.result();
  return (performance.now() - start) / 1000;
}

/** Times the numpy twin's paired_bootstrap as pairedSeconds does; prints grouped and sample-level s. */
const NUMPY_PAIRED_TIMER = `
import sys, time
import numpy as np
from intershap_widget.decompose import decompose, over_samples, paired_bootstrap
path, M, N, reps, sample_reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
v = np.fromfile(path, dtype=np.float64).reshape(2, N, 2 ** M)
ref, oth = decompose(v[0]), decompose(v[1])
start = time.perf_counter(); paired_bootstrap(ref, oth, reps=reps); grouped = time.perf_counter() - start
over_samples._BOOTSTRAP_SAMPLE_LIMIT = N
start = time.perf_counter(); paired_bootstrap(ref, oth, reps=sample_reps); samples = time.perf_counter() - start
print(grouped, samples)
`;

/** [grouped s, sample-level s for SAMPLE_LEVEL_REPS] of the numpy twin, or why it could not run. */
function numpyPairedSeconds(values: Float64Array): [number, number] | string {
  const dir = mkdtempSync(join(tmpdir(), 'intershap-bench-'));
  try {
    const path = join(dir, 'pair.f64');
    writeFileSync(path, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    const args = [PAIRED_M, PAIRED_SAMPLES, PAIRED_REPS, SAMPLE_LEVEL_REPS].map(String);
    const result = spawnSync(pythonExecutable(), ['-c', NUMPY_PAIRED_TIMER, path, ...args], {
      cwd: REPO,
      encoding: 'utf8'
    });
    const seconds = result.stdout.trim().split(' ').map(Number.parseFloat);
    if (result.status !== 0 || seconds.length !== 2 || !seconds.every(Number.isFinite)) {
      const lines = (result.stderr || String(result.error ?? '')).trim().split('\n');
      return lines[lines.length - 1] || 'no output';
    }
    return [seconds[0], seconds[1]];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Two models that share most of their per-sample variation: [reference tables, other tables]. */
function pairedValues(): Float64Array {
  const C = 2 ** PAIRED_M;
  const size = PAIRED_SAMPLES * C;
  const random = mulberry32(5);
  const values = new Float64Array(2 * size);
  for (let k = 0; k < size; k++) {
    const shared = random() + (k % C) / 4; // a common signal, so that Φ̄ is far from 0
    values[k] = shared + 0.3 * (random() - 0.5);
    values[size + k] = shared + 0.3 * (random() - 0.5) + (k % C === C - 1 ? 0.5 : 0);
  }
  return values;
}

function pairedBootstrapLine(): string {
  const values = pairedValues();
  const size = values.length / 2;
  const ref = decomposeAll(values.subarray(0, size), PAIRED_M);
  const oth = decomposeAll(values.subarray(size), PAIRED_M);
  const grouped = pairedSeconds(ref, oth, PAIRED_REPS);
  const scale = PAIRED_REPS / SAMPLE_LEVEL_REPS;
  const samples = pairedSeconds(ref, oth, SAMPLE_LEVEL_REPS, Infinity) * scale;
  const numpy = numpyPairedSeconds(values);
  const numpyText =
    typeof numpy === 'string'
      ? `numpy twin n/a (${numpy})`
      : `numpy twin ${numpy[0].toFixed(2)} s against ${(numpy[1] * scale).toFixed(1)} s ` +
        `(${((numpy[1] * scale) / numpy[0]).toFixed(0)}× faster)`;
  return (
    `benchmark: paired bootstrap of a pair, ${PAIRED_SAMPLES.toLocaleString('en')} samples, ` +
    `M = ${PAIRED_M}, ${PAIRED_REPS} resamples, random groups against the sample-level ` +
    `bootstrap (timed on ${SAMPLE_LEVEL_REPS} resamples × ${scale}): core ${grouped.toFixed(2)} s ` +
    `against ${samples.toFixed(1)} s (${(samples / grouped).toFixed(0)}× faster); ${numpyText}`
  );
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
  console.log(pairedBootstrapLine());
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
