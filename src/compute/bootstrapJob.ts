/**
 * The bootstrap interval of the global score, computed in slices.
 *
 * Why: 1000 resamples of 100,000 samples take about 7 s. Run in one go, that would hold the worker
 * and every brush made meanwhile would wait for it. In slices, the worker answers other requests
 * between them, and an interval nobody needs any more (the user brushed again) is dropped.
 *
 * The resampling is exactly core's `bootstrapGlobal` (same generator, same draws in the same
 * order, same percentiles), only paused between resamples; tests/ts/compute checks the two agree.
 */
import { mulberry32, quantile } from '../core';
import type { PerSample } from '../core';
import { globalIntershapOf } from '../core/aggregate';

export interface BootstrapSettings {
  reps: number;
  seed: number;
  level: number;
}

export class BootstrapJob {
  private readonly random: () => number;
  private readonly drawn: Int32Array;
  private readonly matrixSum: Float64Array;
  private readonly scores: number[] = [];
  private done = 0;

  /** `selected` lists the samples to resample; null means all of `per`'s samples. */
  constructor(
    private readonly per: PerSample,
    private readonly selected: Int32Array | null,
    private readonly settings: BootstrapSettings
  ) {
    this.random = mulberry32(settings.seed);
    this.drawn = new Int32Array(this.count);
    this.matrixSum = new Float64Array(per.M * per.M);
  }

  get count(): number {
    return this.selected === null ? this.per.n : this.selected.length;
  }

  get finished(): boolean {
    return this.count === 0 || this.done >= this.settings.reps;
  }

  /** Runs resamples until about `budget` sample draws were made (at least one resample). */
  step(budget: number): boolean {
    const count = this.count;
    const reps = Math.max(1, Math.floor(budget / Math.max(count, 1)));
    for (let k = 0; k < reps && !this.finished; k++) {
      for (let r = 0; r < count; r++) {
        const pick = Math.floor(this.random() * count);
        this.drawn[r] = this.selected === null ? pick : this.selected[pick];
      }
      const score = globalIntershapOf(this.per, this.drawn, this.matrixSum);
      if (score === score) {
        this.scores.push(score);
      }
      this.done++;
    }
    return this.finished;
  }

  /** The percentile interval; NaN bounds when no resample had a defined score. */
  result(): { low: number; high: number } {
    if (!this.finished) {
      throw new Error(`bootstrap: ${this.done} of ${this.settings.reps} resamples done`);
    }
    const sorted = this.scores.slice().sort((a, b) => a - b);
    const tail = (1 - this.settings.level) / 2;
    return { low: quantile(sorted, tail), high: quantile(sorted, 1 - tail) };
  }
}
