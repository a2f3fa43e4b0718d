/**
 * The compute engine: value tables per model, their per-sample decompositions, and aggregates over
 * any subset. It runs inside the web worker (worker.ts) or, when workers are off, on the main thread
 * behind the same asynchronous client, so callers never know the difference.
 */
import { aggregate, bootstrapGlobal, decomposeAll } from '../core';
import type { Aggregate, PerSample } from '../core';

export interface SampleDetail {
  index: number;
  values: number[];
  se: number[] | null;
  shapley: number[];
  matrix: number[];
  local: number;
  orderMass: number[];
}

export interface AggregateResult extends Aggregate {
  interval: { low: number; high: number } | null;
  /** Samples received so far (the whole data set once streaming is done). */
  received: number;
}

export type ComputeRequest =
  | { op: 'reset'; modelId: string; M: number; nSamples: number }
  | { op: 'append'; modelId: string; start: number; values: Float64Array; se?: Float64Array }
  | {
      op: 'aggregate';
      modelId: string;
      subset?: Int32Array;
      bootstrap?: { reps: number; seed: number; level: number };
    }
  | { op: 'sample'; modelId: string; index: number }
  | { op: 'locals'; modelId: string };

interface ModelTables {
  M: number;
  nSamples: number;
  values: Float64Array;
  se: Float64Array | null;
  per: PerSample;
  received: Uint8Array;
  nReceived: number;
}

function allocate(M: number, nSamples: number): ModelTables {
  const local = new Float64Array(nSamples).fill(NaN);
  return {
    M,
    nSamples,
    values: new Float64Array(nSamples * 2 ** M),
    se: null,
    per: {
      M,
      n: nSamples,
      shapley: new Float64Array(nSamples * M),
      matrices: new Float64Array(nSamples * M * M),
      local,
      orderMass: new Float64Array(nSamples * M)
    },
    received: new Uint8Array(nSamples),
    nReceived: 0
  };
}

export class ComputeEngine {
  private models = new Map<string, ModelTables>();

  handle(req: ComputeRequest): unknown {
    switch (req.op) {
      case 'reset':
        this.models.set(req.modelId, allocate(req.M, req.nSamples));
        return null;
      case 'append':
        return this.append(req.modelId, req.start, req.values, req.se);
      case 'aggregate':
        return this.aggregate(req.modelId, req.subset, req.bootstrap);
      case 'sample':
        return this.sample(req.modelId, req.index);
      case 'locals':
        return this.tables(req.modelId).per.local.slice();
    }
  }

  private tables(modelId: string): ModelTables {
    const tables = this.models.get(modelId);
    if (!tables) {
      throw new Error(
        `modelId: expected one of [${[...this.models.keys()].join(', ')}], got '${modelId}'`
      );
    }
    return tables;
  }

  /** Decomposes one streamed chunk and writes it into the model's arrays at its offset. */
  private append(modelId: string, start: number, values: Float64Array, se?: Float64Array): number {
    const t = this.tables(modelId);
    const width = 2 ** t.M;
    const count = values.length / width;
    if (!Number.isInteger(count) || start + count > t.nSamples) {
      throw new Error(
        `chunk: expected at most ${t.nSamples - start} samples of ${width} values from sample ${start}, got ${values.length} values`
      );
    }
    const part = decomposeAll(values, t.M);
    t.values.set(values, start * width);
    if (se) {
      t.se ??= new Float64Array(t.nSamples * width);
      t.se.set(se, start * width);
    }
    t.per.shapley.set(part.shapley, start * t.M);
    t.per.matrices.set(part.matrices, start * t.M * t.M);
    t.per.local.set(part.local, start);
    t.per.orderMass.set(part.orderMass, start * t.M);
    for (let i = start; i < start + count; i++) {
      if (!t.received[i]) {
        t.received[i] = 1;
        t.nReceived++;
      }
    }
    return t.nReceived;
  }

  private aggregate(
    modelId: string,
    subset: Int32Array | undefined,
    bootstrap: { reps: number; seed: number; level: number } | undefined
  ): AggregateResult {
    const t = this.tables(modelId);
    // Until every chunk has arrived, "all samples" means the samples received so far.
    const effective = subset ?? (t.nReceived === t.nSamples ? undefined : t.received);
    const agg = aggregate(t.per, effective);
    const interval = bootstrap && agg.n > 1 ? bootstrapGlobal(t.per, effective, bootstrap) : null;
    return {
      ...agg,
      interval: interval ? { low: interval.low, high: interval.high } : null,
      received: t.nReceived
    };
  }

  private sample(modelId: string, index: number): SampleDetail {
    const t = this.tables(modelId);
    if (!Number.isInteger(index) || index < 0 || index >= t.nSamples || !t.received[index]) {
      throw new Error(
        `sample: expected a received sample index in [0, ${t.nSamples}), got ${index}`
      );
    }
    const width = 2 ** t.M;
    const M = t.M;
    return {
      index,
      values: Array.from(t.values.subarray(index * width, (index + 1) * width)),
      se: t.se ? Array.from(t.se.subarray(index * width, (index + 1) * width)) : null,
      shapley: Array.from(t.per.shapley.subarray(index * M, (index + 1) * M)),
      matrix: Array.from(t.per.matrices.subarray(index * M * M, (index + 1) * M * M)),
      local: t.per.local[index],
      orderMass: Array.from(t.per.orderMass.subarray(index * M, (index + 1) * M))
    };
  }
}
