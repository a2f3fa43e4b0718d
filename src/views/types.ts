/**
 * What the views need from the data side, and nothing more. The session
 * (src/compute/main/session.ts) provides it; every number arrives already computed by the engine,
 * and the views import only types from src/compute.
 */
import type {
  ComparisonResult,
  LocalHistogram,
  NearestQuery,
  PairedIntervals,
  RasterRequest,
  RasterResult,
  Region,
  SampleDetail
} from '../compute/types';
import type {
  CohortSummary,
  GroupingOption,
  ModelState,
  SelectionOrigin
} from '../compute/main/session';
import type { RemaskState } from '../compute/main/evaluation';
import type { EvaluationSettings } from '../compute/evaluate/types';
import type { ThemeColors } from './plotly';

export interface DashboardSource {
  readonly models: ReadonlyMap<string, ModelState>;
  /** Sorted sample indices, or null for every sample. */
  readonly selection: Int32Array | null;
  readonly selectionVersion: number;
  readonly error: string | null;
  /** A line about where the results came from (the notebook's saved state), or null. */
  readonly notice: string | null;
  subscribe(listener: () => void): () => void;
  setSelection(indices: Int32Array | null, origin: SelectionOrigin): void;
  /** `pairedWith`: in the paired plane (local score under modelId, under pairedWith). */
  selectRegion(modelId: string, region: Region, pairedWith?: string): Promise<Int32Array>;
  raster(modelId: string, request: RasterRequest, pairedWith?: string): Promise<RasterResult>;
  nearest(modelId: string, query: NearestQuery, pairedWith?: string): Promise<number>;
  compare(referenceId: string, otherIds: string[], subset?: Int32Array): Promise<ComparisonResult>;
  compareInterval(
    slot: string,
    referenceId: string,
    otherId: string,
    subset?: Int32Array
  ): Promise<PairedIntervals | null>;
  histogram(modelId: string, bins: number): Promise<LocalHistogram>;
  sample(modelId: string, index: number): Promise<SampleDetail>;
  groupings(modelId: string): GroupingOption[];
  cohortSummaries(modelId: string, groupingKey: string): Promise<CohortSummary[]>;
  cohortInterval(
    modelId: string,
    slot: string,
    members: Int32Array
  ): Promise<{ low: number; high: number } | null>;
  reportError(error: unknown): void;
  /** The re-mask control's state of a browser-evaluated model, else null. */
  remaskState(modelId: string): RemaskState | null;
  /** Evaluates a browser-evaluated model again under new settings. */
  remask(modelId: string, settings: EvaluationSettings): void;
  /** How a label or class code is written (the cohorts' names use the same). */
  formatCode(code: number): string;
}

/** Everything a view needs to draw itself once. */
export interface DrawContext {
  source: DashboardSource;
  modelId: string;
  model: ModelState;
  colors: ThemeColors;
  /** Increases when the theme changes: charts whose data did not change still redraw. */
  themeVersion: number;
  /** False for a widget scrolled out of view while values stream in: text only, charts later. */
  drawCharts: boolean;
  /** A second model shown beside `model` (the Local tab, opened from Compare), or null. */
  pairedModelId?: string | null;
}

/** A tab of the dashboard. */
export interface DashboardView {
  render(context: DrawContext): Promise<void>;
}
