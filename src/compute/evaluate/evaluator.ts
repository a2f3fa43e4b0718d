/**
 * The coalition values of an ONNX model computed in the browser: the masking rules, targets and
 * standard errors of SPEC §1, as the kernel's engine computes them, over any model call (the
 * evaluation worker passes onnxruntime-web's; tests pass the same with onnxruntime-web in Node).
 * No DOM here, and nothing that waits on anything but the model.
 */
import { Draws, drawnRow, makeDraws, windowVarianceFactor } from './draws';
import {
  EvaluationData,
  EvaluationSettings,
  MAX_BATCH_BYTES,
  MAX_BATCH_ROWS,
  MAX_EMPTY_ROWS
} from './types';

/** The model on `rows` rows, one buffer per model input: `rows × width` outputs, row-major. */
export type ModelCall = (
  inputs: Float32Array[],
  rows: number
) => Promise<{ data: Float32Array; width: number }>;

/** One block of samples' value tables, as the kernel's chunks carry them. */
export interface EvaluatedChunk {
  start: number;
  count: number;
  values: Float64Array;
  se: Float64Array;
  prediction: Float64Array;
  predictedClass: Float64Array | null;
}

/** Where one modality's features go in the model's inputs. */
interface Slot {
  input: number;
  offset: number;
  width: number;
}

/** The source of each modality of one masked row. */
type RowSource = (modality: number) => { data: Float32Array; row: number };

export class CoalitionEvaluator {
  readonly M: number;
  /** Model rows evaluated so far. */
  modelRows = 0;
  private readonly slots: Slot[];
  private readonly inputWidths: number[];
  private readonly batchRows: number;
  private readonly buffers: Float32Array[];
  private readonly replacement: Float32Array[] | null;
  private readonly draws: Draws | null;
  private emptyValue: Float64Array | null = null;
  private width: number | null = null;
  private emptySe: Float64Array | null = null;

  constructor(
    private readonly data: EvaluationData,
    readonly settings: EvaluationSettings,
    private readonly model: ModelCall,
    maxBatchRows = MAX_BATCH_ROWS
  ) {
    this.M = data.names.length;
    const widths = data.inputs.shapes.map(shape => shape.reduce((a, b) => a * b, 1));
    let offset = 0;
    this.slots = widths.map((width, m) => {
      const slot: Slot =
        data.inputs.fusion === 'early'
          ? { input: 0, offset, width }
          : { input: m, offset: 0, width };
      offset += width;
      return slot;
    });
    this.inputWidths = data.inputs.fusion === 'early' ? [offset] : widths;
    const rowBytes = 4 * offset;
    this.batchRows = Math.max(1, Math.min(maxBatchRows, Math.floor(MAX_BATCH_BYTES / rowBytes)));
    this.buffers = this.inputWidths.map(width => new Float32Array(this.batchRows * width));
    this.replacement = this.replacementRows();
    this.draws =
      settings.masking === 'random'
        ? // R ≥ n rows: every row once is the exact background mean already (the kernel caps too)
          makeDraws(
            data.nBackground,
            data.nSamples,
            Math.min(settings.draws, data.nBackground),
            settings.seed
          )
        : null;
  }

  /** Outputs per model row (classes), once the model has run. */
  get outputWidth(): number {
    return this.width ?? 0;
  }

  /** v(∅) (per class): the mean over the background rows, or the model at the replacement row. */
  async prepare(): Promise<void> {
    const rows: number[] = [];
    if (this.draws) {
      const n = Math.min(this.data.nBackground, MAX_EMPTY_ROWS);
      for (let k = 0; k < n; k++) {
        rows.push(this.draws.order[k]);
      }
    } else {
      rows.push(0);
    }
    const sums = new Sums();
    await this.evaluateJob(
      rows.length,
      j => this.sourceOf(0, -1, rows[j]),
      (_j, out, width, row) => sums.addRow(this.targetRow(out, width, row))
    );
    this.emptyValue = sums.mean();
    this.emptySe = sums.standardErrorOfMean();
  }

  /** Value tables of samples [start, start + count). */
  async chunk(start: number, count: number, cancelled: () => boolean): Promise<EvaluatedChunk> {
    if (!this.emptyValue || !this.emptySe) {
      await this.prepare();
    }
    const F = 1 << this.M;
    const full = await this.fullOutputs(start, count);
    const values = new Float64Array(count * F);
    const s2 = new Float64Array(count * F);
    const perCell = this.draws ? this.draws.draws : 1;
    const cells = count * (F - 2);
    const total = cells * perCell;
    // Row j of the job: cell ⌊j / perCell⌋ (sample, coalition), draw j mod perCell.
    const cellOf = (j: number) => Math.floor(j / perCell);
    const sampleOf = (cell: number) => Math.floor(cell / (F - 2));
    const coalitionOf = (cell: number) => (cell % (F - 2)) + 1;
    await this.evaluateJob(
      total,
      j => {
        const cell = cellOf(j);
        return this.sourceOf(coalitionOf(cell), start + sampleOf(cell), j % perCell);
      },
      (j, out, width, row) => {
        const cell = cellOf(j);
        const i = sampleOf(cell);
        const at = i * F + coalitionOf(cell);
        // Centred on the sample's prediction: the sum of squares keeps its precision.
        const y = this.target(out, width, row, full.explained[i]) - full.prediction[i];
        values[at] += y;
        s2[at] += y * y;
      },
      cancelled
    );
    return this.assemble(start, count, full, values, s2, perCell);
  }

  private assemble(
    start: number,
    count: number,
    full: FullOutputs,
    sums: Float64Array,
    squares: Float64Array,
    perCell: number
  ): EvaluatedChunk {
    const F = 1 << this.M;
    const se = new Float64Array(count * F);
    const factor = this.draws ? windowVarianceFactor(this.data.nBackground, perCell) : 0;
    for (let i = 0; i < count; i++) {
      const shift = full.prediction[i];
      const k = full.explained[i];
      for (let b = 1; b < F - 1; b++) {
        const at = i * F + b;
        const s1 = sums[at];
        sums[at] = shift + s1 / perCell;
        const variance = perCell > 1 ? (squares[at] - (s1 * s1) / perCell) / (perCell - 1) : NaN;
        se[at] = factor === 0 ? 0 : Math.sqrt(Math.max(variance, 0) * factor);
      }
      sums[i * F] = this.emptyValue![k];
      se[i * F] = this.emptySe![k];
      sums[i * F + F - 1] = shift;
    }
    const classes = this.settings.target === 'output' ? null : Float64Array.from(full.predicted);
    return {
      start,
      count,
      values: sums,
      se,
      prediction: full.prediction,
      predictedClass: classes
    };
  }

  /** The unmasked samples: the class each is predicted and explains, and v(full). */
  private async fullOutputs(start: number, count: number): Promise<FullOutputs> {
    const prediction = new Float64Array(count);
    const predicted = new Int32Array(count);
    const explained = new Int32Array(count);
    await this.evaluateJob(
      count,
      j => this.sourceOf((1 << this.M) - 1, start + j, 0),
      (j, out, width, row) => {
        predicted[j] = largest(out, width, row);
        explained[j] = this.explainedClass(width, predicted[j]);
        prediction[j] = this.target(out, width, row, explained[j]);
      }
    );
    return { prediction, predicted, explained };
  }

  /**
   * Rows 0 … total − 1 of a job, in batches of at most `batchRows`: each batch is filled, the
   * model called once, and each output row handed to `take` with its job row `j` and its row in
   * the batch's output. `cancelled` is asked before every batch.
   */
  private async evaluateJob(
    total: number,
    source: (j: number) => RowSource,
    take: (j: number, out: Float32Array, width: number, row: number) => void,
    cancelled: () => boolean = () => false
  ): Promise<void> {
    for (let first = 0; first < total; first += this.batchRows) {
      if (cancelled()) {
        throw new EvaluationCancelled();
      }
      const rows = Math.min(this.batchRows, total - first);
      for (let row = 0; row < rows; row++) {
        this.writeRow(row, source(first + row));
      }
      const views = this.buffers.map((buffer, k) => buffer.subarray(0, rows * this.inputWidths[k]));
      const { data, width } = await this.model(views, rows);
      this.modelRows += rows;
      this.checkOutputs(data, width);
      for (let row = 0; row < rows; row++) {
        take(first + row, data, width, row);
      }
    }
  }

  /** The first call fixes the outputs per row; every output must be a finite number. */
  private checkOutputs(data: Float32Array, width: number): void {
    this.width ??= width;
    if (width !== this.width) {
      throw new Error(
        `model: expected ${this.width} outputs per row as on the first rows, got ${width}`
      );
    }
    const bad = data.findIndex(v => !Number.isFinite(v));
    if (bad >= 0) {
      throw new Error(
        `model: expected finite outputs, got ${data[bad]} in row ${Math.floor(bad / width)} of a batch`
      );
    }
  }

  private writeRow(j: number, source: RowSource): void {
    for (let m = 0; m < this.M; m++) {
      const { input, offset, width } = this.slots[m];
      const { data, row } = source(m);
      const at = j * this.inputWidths[input] + offset;
      this.buffers[input].set(data.subarray(row * width, row * width + width), at);
    }
  }

  /**
   * Where each modality of a masked row comes from: the sample where coalition b has it, else
   * draw r's background row (random masking) or the replacement row. `sample` −1 (v(∅) rows)
   * takes background row `r` itself.
   */
  private sourceOf(coalition: number, sample: number, r: number): RowSource {
    const background =
      this.draws && sample >= 0 && coalition !== (1 << this.M) - 1
        ? drawnRow(this.draws, sample, coalition, r)
        : r;
    return m => {
      if ((coalition >> m) & 1) {
        return { data: this.data.samples[m], row: sample };
      }
      return this.replacement
        ? { data: this.replacement[m], row: 0 }
        : { data: this.data.background[m], row: background };
    };
  }

  /** The explained value of output row j for class k (SPEC §1 targets). */
  private target(out: Float32Array, width: number, j: number, k: number): number {
    if (this.settings.target === 'output') {
      return out[j * width];
    }
    if (!this.data.softmax) {
      return out[j * width + k];
    }
    let top = -Infinity;
    for (let c = 0; c < width; c++) {
      top = Math.max(top, out[j * width + c]);
    }
    let sum = 0;
    for (let c = 0; c < width; c++) {
      sum += Math.exp(out[j * width + c] - top);
    }
    return Math.exp(out[j * width + k] - top) / sum;
  }

  /** Every class's explained value of output row j (v(∅) is kept per class). */
  private targetRow(out: Float32Array, width: number, j: number): Float64Array {
    const classes = this.settings.target === 'output' ? 1 : width;
    const row = new Float64Array(classes);
    for (let k = 0; k < classes; k++) {
      row[k] = this.target(out, width, j, k);
    }
    return row;
  }

  /** The class a full sample explains: the fixed class, else the one it is predicted. */
  private explainedClass(width: number, predicted: number): number {
    const target = this.settings.target;
    if (target === 'output') {
      if (width !== 1) {
        throw new Error(
          `target: 'output' explains one raw output per row, but the model returns ${width} per row`
        );
      }
      return 0;
    }
    if (typeof target === 'number') {
      if (target >= width) {
        throw new Error(
          `target: expected a class index in 0..${width - 1} for a model with ${width} outputs, got ${target}`
        );
      }
      return target;
    }
    return predicted;
  }

  /** Mean masking: the background's per-feature mean (in float64, then float32, as the kernel). */
  private replacementRows(): Float32Array[] | null {
    const { masking } = this.settings;
    if (masking === 'random') {
      return null;
    }
    if (masking === 'baseline') {
      // No baseline given in Python: zeros, the common choice (SPEC §1), and the control says so.
      return this.data.baseline ?? this.slots.map(({ width }) => new Float32Array(width));
    }
    return this.slots.map(({ width }, m) => {
      const rows = this.data.background[m];
      const sum = new Float64Array(width);
      for (let r = 0; r < this.data.nBackground; r++) {
        for (let f = 0; f < width; f++) {
          sum[f] += rows[r * width + f];
        }
      }
      return Float32Array.from(sum, s => s / this.data.nBackground);
    });
  }
}

interface FullOutputs {
  prediction: Float64Array;
  predicted: Int32Array;
  explained: Int32Array;
}

/** The first of the largest outputs of row j (numpy's argmax; softmax keeps the order). */
function largest(out: Float32Array, width: number, j: number): number {
  let best = 0;
  for (let c = 1; c < width; c++) {
    if (out[j * width + c] > out[j * width + best]) {
      best = c;
    }
  }
  return best;
}

/** Raised between batches once the run is cancelled. */
export class EvaluationCancelled extends Error {
  constructor() {
    super('cancelled');
  }
}

/** Per-class mean and standard error of the mean over rows (ddof 1), as the kernel's v(∅). */
class Sums {
  private n = 0;
  private s1: Float64Array | null = null;
  private s2: Float64Array | null = null;

  addRow(row: Float64Array): void {
    this.s1 ??= new Float64Array(row.length);
    this.s2 ??= new Float64Array(row.length);
    for (let k = 0; k < row.length; k++) {
      this.s1[k] += row[k];
      this.s2[k] += row[k] * row[k];
    }
    this.n++;
  }

  mean(): Float64Array {
    return this.s1!.map(s => s / this.n);
  }

  standardErrorOfMean(): Float64Array {
    const n = this.n;
    return this.s1!.map((s, k) =>
      n > 1 ? Math.sqrt(Math.max((this.s2![k] - (s * s) / n) / (n - 1), 0) / n) : 0
    );
  }
}
