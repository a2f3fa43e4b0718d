/**
 * The session in Node, with the engine on the same thread: kernel messages in, aggregates and the
 * selection out, as the views and Python see them.
 */
import { describe, expect, it, vi } from 'vitest';
import { ComputeClient } from '../../../../src/compute/main/client';
import {
  normalizeSelection,
  SELECTION_SYNC_DEFER_ABOVE,
  SELECTION_SYNC_DELAY_MS,
  Session
} from '../../../../src/compute/main/session';
import type { SelectionOrigin } from '../../../../src/compute/main/session';
import { aggregate, bootstrapGlobal, decomposeAll } from '../../../../src/core';
import { kernelSummary, modelLine } from '../../../../src/views/statusText';
import { expectAllClose, randomTables } from '../../core/helpers';

const M = 2;
const N = 120;
const C = 2 ** M;
const values = randomTables(N, M, 9);
const per = decomposeAll(values, M);
const labels = Float64Array.from({ length: N }, (_, i) => i % 2);

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let k = 0; k < 400; k++) {
    if (condition()) {
      return;
    }
    await new Promise(resolve => setTimeout(resolve, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function streamedSession(): {
  session: Session;
  done: string[];
  changes: Array<[number[] | null, SelectionOrigin]>;
} {
  const done: string[] = [];
  const changes: Array<[number[] | null, SelectionOrigin]> = [];
  const session = new Session(new ComputeClient(false), modelId => done.push(modelId));
  session.onSelectionChange = (selection, origin) =>
    changes.push([selection ? Array.from(selection) : null, origin]);
  session.receive({
    kind: 'dataset',
    modelId: 'a',
    label: 'model',
    names: ['image', 'text'],
    M,
    nSamples: N,
    target: 'output'
  });
  for (const start of [0, 60]) {
    session.receive(
      { kind: 'chunk', modelId: 'a', start, count: 60, buffers: ['values', 'label'] },
      [values.slice(start * C, (start + 60) * C).buffer, labels.slice(start, start + 60).buffer]
    );
  }
  session.receive({ kind: 'status', modelId: 'a', state: 'done', message: '' });
  return { session, done, changes };
}

describe('Session', () => {
  it('shows a failed chunk while the rest streams in, and clears it when a retry runs', () => {
    const session = new Session(new ComputeClient(false), () => undefined);
    session.receive({
      kind: 'dataset',
      modelId: 'a',
      label: 'model',
      names: ['image', 'text'],
      M,
      nSamples: N,
      target: 'output'
    });
    const failed = 'samples 40–59 failed: KilledWorker: lost (w.retry() computes them again)';
    session.receive({ kind: 'status', modelId: 'a', state: 'error', message: failed });
    expect(session.error).toBe(failed);
    session.receive({ kind: 'status', modelId: 'a', state: 'running', message: '' });
    expect(session.error).toBeNull();
  });

  it('aggregates the streamed samples, then adds the interval and reports the model done', async () => {
    const { session, done } = streamedSession();
    const model = session.models.get('a')!;
    await until(() => done.length === 1, 'the model to finish');
    expect(model.received).toBe(N);
    expect(model.hasLabels).toBe(true);
    expectAllClose(model.aggregate!.meanMatrix, aggregate(per).meanMatrix, 1e-12, 'meanMatrix');
    const reference = bootstrapGlobal(per, undefined, { reps: 1000, seed: 0, level: 0.95 });
    expect(model.aggregate!.interval).toEqual({ low: reference.low, high: reference.high });
  });

  it('re-aggregates over a selection, tells who changed it, and ignores a repeat', async () => {
    const { session, done, changes } = streamedSession();
    await until(() => done.length === 1, 'the model to finish');
    const model = session.models.get('a')!;
    const selection = Int32Array.from([1, 5, 9, 50, 100]);
    session.setSelection(selection, 'kernel');
    session.setSelection(selection.slice(), 'kernel');
    await until(() => Boolean(model.selectionAggregate?.interval), 'the selection interval');
    const expected = aggregate(per, selection);
    expect(model.selectionAggregate!.n).toBe(5);
    expectAllClose(
      [model.selectionAggregate!.globalIntershap],
      [expected.globalIntershap],
      1e-12,
      'selection score'
    );
    expect(changes).toEqual([[[1, 5, 9, 50, 100], 'kernel']]);
    session.setSelection(new Int32Array(0), 'view');
    await until(() => model.selectionAggregate === null, 'the selection to clear');
    expect(changes[1]).toEqual([null, 'view']);
    expect(session.selection).toBeNull();
  });

  it('tells Python of a small selection at once', async () => {
    const { session, done, changes } = streamedSession();
    await until(() => done.length === 1, 'the model to finish');
    session.setSelection(Int32Array.from([1, 2, 3]), 'view');
    expect(changes).toEqual([[[1, 2, 3], 'view']]);
  });

  /** A session holding more samples than a selection is told at once about. */
  function largeSession(): {
    session: Session;
    changes: Array<[number | null, SelectionOrigin]>;
    n: number;
  } {
    const n = SELECTION_SYNC_DEFER_ABOVE + 1000;
    const changes: Array<[number | null, SelectionOrigin]> = [];
    const session = new Session(new ComputeClient(false), () => undefined);
    session.onSelectionChange = (selection, origin) =>
      changes.push([selection ? selection.length : null, origin]);
    session.receive({
      kind: 'dataset',
      modelId: 'a',
      label: 'model',
      names: ['image', 'text'],
      M,
      nSamples: n,
      target: 'output'
    });
    session.receive({ kind: 'chunk', modelId: 'a', start: 0, count: n, buffers: ['values'] }, [
      randomTables(n, M, 4).buffer
    ]);
    return { session, changes, n };
  }

  it('tells Python of a large selection once the worker has its aggregate, never of a superseded one', async () => {
    const { session, changes, n } = largeSession();
    const model = session.models.get('a')!;
    await until(() => model.received === n, 'the samples');
    let aggregated = 0;
    const request = session.compute.aggregate.bind(session.compute);
    session.compute.aggregate = async (...args) => {
      const result = await request(...args);
      aggregated = args[1]?.length ?? 0;
      return result;
    };
    const range = (count: number) => Int32Array.from({ length: count }, (_, i) => i);
    session.setSelection(range(n - 10), 'view');
    // A second brush before the first is aggregated: only the second reaches Python.
    session.setSelection(range(n - 20), 'view');
    expect(changes).toEqual([]);
    await until(() => changes.length === 1, 'the selection sent');
    expect(aggregated).toBe(n - 20);
    expect(model.selectionAggregate!.n).toBe(n - 20);
    expect(changes).toEqual([[n - 20, 'view']]);
    await new Promise(resolve => setTimeout(resolve, SELECTION_SYNC_DELAY_MS + 50));
    expect(changes).toEqual([[n - 20, 'view']]);
    // Clearing it is told at once.
    session.setSelection(null, 'view');
    expect(changes).toEqual([
      [n - 20, 'view'],
      [null, 'view']
    ]);
  });

  it('tells Python of a large selection after a short delay when the worker is busy', async () => {
    const { session, changes, n } = largeSession();
    await until(() => session.models.get('a')!.received === n, 'the samples');
    // An aggregate that does not come back (a worker busy with queued chunks).
    session.compute.aggregate = () => new Promise(() => undefined);
    const started = performance.now();
    session.setSelection(
      Int32Array.from({ length: n - 1 }, (_, i) => i),
      'view'
    );
    await until(() => changes.length === 1, 'the selection sent');
    expect(performance.now() - started).toBeGreaterThanOrEqual(SELECTION_SYNC_DELAY_MS - 5);
    expect(changes).toEqual([[n - 1, 'view']]);
  });

  it('offers label and user cohorts, and aggregates each like core', async () => {
    const { session, done } = streamedSession();
    await until(() => done.length === 1, 'the model to finish');
    const codes = Float64Array.from({ length: N }, (_, i) => (i < 30 ? 0 : i < 100 ? 1 : NaN));
    session.receive({ kind: 'cohorts', name: 'site', categories: ['<b>A</b>', 'B'] }, [
      codes.buffer
    ]);
    expect(session.groupings('a')).toEqual([
      { key: 'label', title: 'label' },
      { key: 'column:site', title: 'site' }
    ]);
    const byLabel = await session.cohortSummaries('a', 'label');
    expect(byLabel.map(c => c.name)).toEqual(['0', '1']);
    const bySite = await session.cohortSummaries('a', 'column:site');
    expect(bySite.map(c => c.name)).toEqual(['<b>A</b>', 'B']);
    expect(bySite[1].aggregate.globalIntershap).toBeCloseTo(
      aggregate(
        per,
        Int32Array.from({ length: 70 }, (_, r) => 30 + r)
      ).globalIntershap,
      12
    );
  });
});

describe('Session after the kernel is lost', () => {
  it('marks an unfinished stream partial, keeps its numbers over every sample received, and leaves a finished one alone', async () => {
    const done: string[] = [];
    const session = new Session(new ComputeClient(false), modelId => done.push(modelId));
    for (const modelId of ['streaming', 'finished']) {
      session.receive({
        kind: 'dataset',
        modelId,
        label: modelId,
        names: ['image', 'text'],
        M,
        nSamples: N,
        target: 'output'
      });
    }
    session.receive({ kind: 'status', modelId: 'streaming', state: 'running', message: '' });
    // Two chunks of the streaming model (the second one lands in the queue behind a pending
    // refresh), all of the finished one.
    for (const start of [0, 30]) {
      session.receive(
        { kind: 'chunk', modelId: 'streaming', start, count: 30, buffers: ['values'] },
        [values.slice(start * C, (start + 30) * C).buffer]
      );
    }
    session.receive(
      { kind: 'chunk', modelId: 'finished', start: 0, count: N, buffers: ['values'] },
      [values.slice().buffer]
    );
    session.receive({ kind: 'status', modelId: 'finished', state: 'done', message: '' });
    await until(() => done.length === 1, 'the finished model');

    session.loseConnection('Lost the connection to the kernel');
    expect(session.error).toBe('Lost the connection to the kernel');
    const streaming = session.models.get('streaming')!;
    const finished = session.models.get('finished')!;
    expect(streaming.partial).toBe(true);
    expect(finished.partial).toBe(false);
    // Its numbers are over the 60 samples it holds, with an interval; the kernel is not told.
    await until(() => Boolean(streaming.aggregate?.interval), 'the partial interval');
    expect(streaming.received).toBe(60);
    expect(streaming.aggregate!.n).toBe(60);
    const first60 = decomposeAll(values.slice(0, 60 * C), M);
    expect(streaming.aggregate!.globalIntershap).toBeCloseTo(
      aggregate(first60).globalIntershap,
      12
    );
    expect(done).toEqual(['finished']);
    expect(modelLine(streaming)).toBe('streaming: partial: 60 of 120 samples');
    expect(modelLine(finished)).toBe('finished: 120 / 120 samples, done');
    // A second signal of the same loss (comm closed, then the kernel's status) changes nothing.
    session.loseConnection('Lost the connection to the kernel');
    expect(streaming.partial).toBe(true);
  });

  it('says which kernel runs each model, and why it fell back from SIMD', async () => {
    const session = new Session(new ComputeClient(false), () => undefined);
    session.receive({
      kind: 'dataset',
      modelId: 'a',
      label: 'two',
      names: ['image', 'text'],
      M,
      nSamples: N,
      target: 'output'
    });
    expect(kernelSummary(session.models.values())).toEqual({
      kinds: 'pending',
      text: '',
      fallback: false
    });
    await until(() => session.models.get('a')!.kernel !== null, 'the kernel');
    expect(kernelSummary(session.models.values())).toEqual({
      kinds: 'simd',
      text: 'kernel: WebAssembly SIMD',
      fallback: false
    });
    session.receive({
      kind: 'dataset',
      modelId: 'b',
      label: 'eleven',
      names: Array.from({ length: 11 }, (_, m) => `m${m}`),
      M: 11,
      nSamples: 3,
      target: 'output'
    });
    await until(() => session.models.get('b')!.kernel !== null, 'the second kernel');
    expect(kernelSummary(session.models.values())).toEqual({
      kinds: 'simd javascript',
      text:
        'kernel: two: WebAssembly SIMD; eleven: JavaScript, fell back from WebAssembly SIMD: ' +
        'M = 11: the WebAssembly SIMD kernel serves up to 10 modalities',
      fallback: true
    });
  });
});

describe('normalizeSelection', () => {
  it('sorts and de-duplicates, and passes an increasing selection through as it is', () => {
    expect(Array.from(normalizeSelection([9, 2, 3, 4, 2, 100, 7], 200))).toEqual([
      2, 3, 4, 7, 9, 100
    ]);
    const brush = Int32Array.from({ length: 5000 }, (_, i) => 2 * i + (i % 2));
    const normalized = normalizeSelection(brush, 10_000);
    expect(normalized).toEqual(brush);
    expect(normalized).not.toBe(brush);
    expect(Array.from(normalizeSelection([1, 1], 5))).toEqual([1]);
    expect(Array.from(normalizeSelection([], 5))).toEqual([]);
    expect(() => normalizeSelection([0, 5], 5)).toThrow('got 5 at position 1');
    expect(() => normalizeSelection([0.5], 5)).toThrow('got 0.5 at position 0');
  });
});

describe('Session cohorts and the selection', () => {
  it('aggregates each cohort over (cohort ∩ selection) and says how many of the cohort that is', async () => {
    const { session, done } = streamedSession();
    await until(() => done.length === 1, 'the model to finish');
    const all = await session.cohortSummaries('a', 'label');
    expect(all.map(c => [c.members.length, c.total, c.inSelection])).toEqual([
      [60, 60, false],
      [60, 60, false]
    ]);
    // Python's selection: repeats and any order; the session selects the distinct samples
    session.setSelection(normalizeSelection([9, 2, 3, 4, 2, 100, 101, 7], N), 'kernel');
    const within = await session.cohortSummaries('a', 'label');
    const even = Int32Array.from([2, 4, 100]);
    const odd = Int32Array.from([3, 7, 9, 101]);
    expect(within.map(c => c.name)).toEqual(['0', '1']);
    expect(Array.from(within[0].members)).toEqual(Array.from(even));
    expect(Array.from(within[1].members)).toEqual(Array.from(odd));
    expect(within.map(c => [c.aggregate.n, c.total, c.inSelection])).toEqual([
      [3, 60, true],
      [4, 60, true]
    ]);
    expectAllClose(
      within[1].aggregate.meanMatrix,
      aggregate(per, odd).meanMatrix,
      1e-12,
      'cohort ∩ selection'
    );
    // a selection outside a cohort leaves it empty (undefined numbers, n = 0), not missing
    session.setSelection(Int32Array.from([1, 3]), 'view');
    const oddOnly = await session.cohortSummaries('a', 'label');
    expect(oddOnly.map(c => c.aggregate.n)).toEqual([0, 2]);
    expect(Number.isNaN(oddOnly[0].aggregate.globalIntershap)).toBe(true);
    session.setSelection(null, 'view');
    const back = await session.cohortSummaries('a', 'label');
    expect(back.map(c => [c.aggregate.n, c.inSelection])).toEqual([
      [60, false],
      [60, false]
    ]);
  });
});

describe('Session.receive', () => {
  it('hands each kind of message to its handler and reports a bad one without throwing', async () => {
    const { session, done } = streamedSession();
    await until(() => done.length === 1, 'the model to finish');
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const progress = {
      kind: 'progress',
      modelId: 'a',
      done: 120,
      total: 120,
      samplesPerSecond: 1000,
      etaSeconds: null,
      modelRows: 480
    };
    session.receive(progress);
    expect(session.models.get('a')!.progress).toEqual(progress);
    expect(session.error).toBeNull();
    session.receive({ ...progress, modelId: 'nobody' });
    expect(session.error).toContain("field 'modelId' expected one of [a], got 'nobody'");
    session.receive({ kind: 'cohorts', name: 'site', categories: ['A'] }, []);
    expect(session.error).toBe('cohorts message: expected 1 buffer of codes, got 0');
    session.receive({ kind: 'nonsense' });
    expect(session.error).toContain("field 'kind' expected one of");
    expect(session.models.get('a')!.aggregate!.n).toBe(N);
    expect(logged).toHaveBeenCalledTimes(3);
    logged.mockRestore();
  });

  it('writes label and class codes as the cohorts are named', () => {
    const session = new Session(new ComputeClient(false), () => undefined);
    expect([1, 2.5, 1 / 3].map(code => session.formatCode(code))).toEqual(['1', '2.5', '0.333333']);
  });
});

describe('normalizeSelection', () => {
  it('sorts and removes repeats', () => {
    expect(Array.from(normalizeSelection([5, 1, 5, 3], 10))).toEqual([1, 3, 5]);
  });

  it('names the first index outside the samples', () => {
    expect(() => normalizeSelection([1, 12], 10)).toThrow(
      'selection: expected sample indices from 0 to 9, got 12 at position 1'
    );
  });
});
