/**
 * The re-mask control of a browser-evaluated model (`evaluate="browser"`): masking, draws, seed
 * and explained class. "Re-mask" evaluates the model again in the browser, kernel or not; the
 * views fill in as the new values come, and the status bar's Cancel stops it.
 */
import { Widget } from '@lumino/widgets';
import type { EvaluationSettings, EvaluationTarget, Masking } from '../compute/evaluate/types';
import { control, element } from './dom';
import type { DashboardSource } from './types';

export class RemaskControl extends Widget {
  private readonly masking: HTMLSelectElement;
  private readonly draws: HTMLInputElement;
  private readonly seed: HTMLInputElement;
  private readonly target: HTMLSelectElement;
  private readonly button: HTMLButtonElement;
  private modelId: string | null = null;
  /** The settings the fields were last filled from: a new run refills them, a redraw does not. */
  private shown: EvaluationSettings | null = null;

  constructor(private readonly source: DashboardSource) {
    super();
    this.addClass('intershap-remask');
    this.masking = control('select', 'intershap-remask-masking');
    for (const [value, text] of [
      ['random', 'random'],
      ['mean', 'mean'],
      ['baseline', 'baseline']
    ]) {
      this.masking.append(new Option(text, value));
    }
    this.masking.addEventListener('change', () => this.enableDraws());
    this.draws = numberField('intershap-remask-draws', 'Draws per coalition (random masking)');
    this.seed = numberField('intershap-remask-seed', 'Seed of the draws');
    this.target = control('select', 'intershap-remask-target');
    this.button = element('button', 'intershap-remask-run jp-mod-styled', 'Re-mask');
    this.button.addEventListener('click', () => this.submit());
    const label = (text: string, field: HTMLElement) => {
      const node = element('label', 'intershap-remask-field', text);
      node.append(field);
      return node;
    };
    this.masking.setAttribute('aria-label', 'Masking');
    this.target.setAttribute('aria-label', 'Explained output');
    this.node.append(
      element('span', 'intershap-remask-title', 'In the browser:'),
      label('masking ', this.masking),
      label('draws ', this.draws),
      label('seed ', this.seed),
      label('explain ', this.target),
      this.button
    );
    this.node.hidden = true;
  }

  render(modelId: string): void {
    const state = this.source.remaskState(modelId);
    this.node.hidden = state === null;
    if (!state) {
      return;
    }
    this.button.disabled = state.running;
    this.node.dataset.running = String(state.running);
    if (modelId === this.modelId && state.settings === this.shown) {
      return;
    }
    this.modelId = modelId;
    this.shown = state.settings;
    const { masking, draws, seed, target } = state.settings;
    this.masking.value = masking;
    this.masking.options[2].text = state.baselineGiven ? 'baseline' : 'baseline (zeros)';
    this.draws.value = String(draws);
    this.seed.value = String(seed);
    this.fillTargets(state.classes, target);
    this.enableDraws();
  }

  private fillTargets(classes: number | null, target: EvaluationTarget): void {
    const options: [string, string][] =
      classes === 1
        ? [['output', 'raw output']]
        : [
            ['predicted', 'predicted class'],
            ...Array.from({ length: classes ?? 0 }, (_, k): [string, string] => [
              String(k),
              `class ${k}`
            ])
          ];
    if (!options.some(([value]) => value === String(target))) {
      options.push([String(target), String(target)]);
    }
    this.target.replaceChildren(...options.map(([value, text]) => new Option(text, value)));
    this.target.value = String(target);
  }

  private enableDraws(): void {
    this.draws.disabled = this.masking.value !== 'random';
  }

  private submit(): void {
    if (!this.modelId) {
      return;
    }
    try {
      const settings: EvaluationSettings = {
        masking: this.masking.value as Masking,
        draws: wholeNumber(this.draws.value, 'draws', 1),
        seed: wholeNumber(this.seed.value, 'seed', 0),
        target: /^\d+$/.test(this.target.value)
          ? Number(this.target.value)
          : (this.target.value as EvaluationTarget)
      };
      this.source.remask(this.modelId, settings);
    } catch (error) {
      this.source.reportError(error);
    }
  }
}

function numberField(className: string, title: string): HTMLInputElement {
  const input = control('input', className);
  input.type = 'number';
  input.min = '0';
  input.step = '1';
  input.title = title;
  return input;
}

/** A field's whole number of at least `least`, or an error that names the field. */
function wholeNumber(text: string, name: string, least: number): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isInteger(value) || value < least) {
    throw new Error(`${name}: expected a whole number ≥ ${least}, got '${text}'`);
  }
  return value;
}
