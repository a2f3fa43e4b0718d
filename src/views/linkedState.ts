/**
 * What every view of one widget shares besides the selection (which the session holds): the open
 * tab, the model shown, and the models the Compare tab sets against each other. A view docked in
 * its own JupyterLab tab and the view in the notebook then stay in step: a change in one is
 * applied by the others.
 */

/** The tabs of the dashboard, by name. */
export type TabName = 'global' | 'local' | 'cohorts' | 'compare';

export interface LinkedChoices {
  tab: TabName;
  /** The model the Global, Local and Cohorts tabs show; null: the first one. */
  modelId: string | null;
  /** The Compare tab's reference model; null: the first one. */
  referenceId: string | null;
  /** The models compared against it; empty: every other model. */
  otherIds: string[];
  /** A model the Local tab shows beside the model shown (opened from Compare); null: none. */
  pairedModelId: string | null;
}

export type LinkedListener = (
  choices: Readonly<LinkedChoices>,
  changed: ReadonlySet<string>
) => void;

export class LinkedState {
  private value: LinkedChoices = {
    tab: 'global',
    modelId: null,
    referenceId: null,
    otherIds: [],
    pairedModelId: null
  };
  private readonly listeners = new Set<LinkedListener>();

  get choices(): Readonly<LinkedChoices> {
    return this.value;
  }

  /** Applies a change and tells every listener (the one that made it too) which keys moved. */
  update(change: Partial<LinkedChoices>): void {
    const changed = new Set<string>();
    for (const key of Object.keys(change) as (keyof LinkedChoices)[]) {
      if (JSON.stringify(change[key]) !== JSON.stringify(this.value[key])) {
        changed.add(key);
      }
    }
    if (changed.size === 0) {
      return;
    }
    this.value = { ...this.value, ...change };
    for (const listener of this.listeners) {
      listener(this.value, changed);
    }
  }

  subscribe(listener: LinkedListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
