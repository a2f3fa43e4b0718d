/**
 * The saved state (intershap_widget/saved_state.py) replayed into a session as the kernel's
 * messages: the same aggregates as streamed tables, blocks of the buffers, the summary-only case.
 */
import { describe, expect, it } from 'vitest';
import { ComputeClient } from '../../../src/compute/main/client';
import { Session } from '../../../src/compute/main/session';
import { aggregate, decomposeAll } from '../../../src/core';
import {
  parseSavedState,
  REPLAY_BLOCK,
  summaryLine,
  tooLargeNotice
} from '../../../src/protocol/savedState';
import { expectAllClose, randomTables } from '../core/helpers';

const M = 2;
const N = REPLAY_BLOCK + 500; // two blocks
const values = randomTables(N, M, 3);
const labels = Float64Array.from({ length: N }, (_, i) => i % 3);

/** As ipywidgets hands the state over: JSON with DataViews where the buffers were. */
function savedState(tablesSaved = true): Record<string, unknown> {
  const summary = {
    label: 'early',
    n: N,
    nSamples: N,
    state: 'done',
    globalIntershap: 0.5,
    interval: [0.4, 0.6]
  };
  const model: Record<string, unknown> = {
    modelId: 'a1',
    label: 'early',
    names: ['image', 'text'],
    nSamples: N,
    target: 'predicted',
    state: 'done',
    message: '',
    count: N,
    summary
  };
  if (tablesSaved) {
    model.buffers = ['values', 'label'];
    model.data = [new DataView(values.slice().buffer), new DataView(labels.slice().buffer)];
  }
  return {
    version: 1,
    tablesSaved,
    tableBytes: (values.length + labels.length) * 8,
    capBytes: tablesSaved ? 20_000_000 : 0,
    models: [model],
    cohorts: tablesSaved
      ? [{ name: 'site', categories: ['A', 'B'], codes: new DataView(labels.slice().buffer) }]
      : []
  };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let k = 0; k < 2000; k++) {
    if (condition()) {
      return;
    }
    await new Promise(resolve => setTimeout(resolve, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('saved state', () => {
  it('turns into dataset, chunks in blocks, status and cohorts messages', () => {
    const saved = parseSavedState(savedState());
    expect(saved.tablesSaved).toBe(true);
    expect(saved.messages.map(m => m.content.kind)).toEqual([
      'dataset',
      'chunk',
      'chunk',
      'status',
      'cohorts'
    ]);
    expect(saved.messages[2].content).toMatchObject({ start: REPLAY_BLOCK, count: 500 });
    expect((saved.messages[2].buffers[0] as Uint8Array).byteLength).toBe(500 * 4 * 8);
  });

  it('rebuilds the session the kernel would have built', async () => {
    const done: string[] = [];
    const session = new Session(new ComputeClient(false), id => done.push(id));
    for (const { content, buffers } of parseSavedState(savedState()).messages) {
      session.receive(content, buffers);
    }
    await until(() => done.length === 1, 'the replayed model to finish');
    const model = session.models.get('a1')!;
    expect(session.error).toBeNull();
    expect(model.received).toBe(N);
    expect(model.status?.state).toBe('done');
    expect(model.hasLabels).toBe(true);
    expectAllClose(
      model.aggregate!.meanMatrix,
      aggregate(decomposeAll(values, M)).meanMatrix,
      1e-12,
      'meanMatrix'
    );
    expect(session.cohorts.get('site')?.categories).toEqual(['A', 'B']);
  });

  it('keeps only the summary above the cap, and says how to raise it', () => {
    const saved = parseSavedState(savedState(false));
    expect(saved.messages).toEqual([]);
    expect(summaryLine(saved.summaries[0])).toBe(
      `early: global InterSHAP 0.5000 [0.400, 0.600] over 20,500 samples (done)`
    );
    expect(tooLargeNotice(saved)).toContain('too large to save');
    expect(tooLargeNotice(saved)).toContain('save_state_mb=');
  });

  it('names what is wrong', () => {
    expect(() => parseSavedState({ ...savedState(), version: 2 })).toThrow(
      "saved state: field 'version' expected 1, got number 2"
    );
    expect(() => parseSavedState({ ...savedState(), models: 3 })).toThrow(
      "saved state message: field 'models' expected a list of models, got number 3"
    );
  });
});
