/**
 * One sample's path from v(∅) to its prediction: each main effect, then each pair interaction
 * (compute/worker/local.ts builds the steps; they land exactly on v(full)).
 */
import type { WaterfallStep } from '../../compute/types';
import { formatNumber } from '../format';
import { axisStyle, baseLayout, INTERACTION_COLOR, MODALITY_COLORS, plotlyText } from '../plotly';
import type { ThemeColors } from '../plotly';
import { Chart } from './chart';

export function stepLabel(step: WaterfallStep, names: string[]): string {
  switch (step.kind) {
    case 'start':
      return 'v(∅)';
    case 'end':
      return 'prediction v(full)';
    case 'main':
      return names[step.modalities[0]];
    case 'pair':
      return step.modalities.map(m => names[m]).join(' × ');
  }
}

export class WaterfallChart extends Chart {
  constructor(className = 'intershap-waterfall') {
    super(className);
  }

  async draw(
    steps: WaterfallStep[],
    names: string[],
    colors: ThemeColors,
    height: number
  ): Promise<void> {
    this.remember(c => this.draw(steps, names, c, height));
    const labels = steps.map(step => plotlyText(stepLabel(step, names)));
    const measure = steps.map(step =>
      step.kind === 'start' ? 'absolute' : step.kind === 'end' ? 'total' : 'relative'
    );
    // For the total bar plotly computes the height itself; its y entry is ignored.
    const y = steps.map(step => (step.kind === 'end' ? 0 : step.value));
    const text = steps.map(step => formatNumber(step.value));
    const layout = baseLayout(colors, height);
    await this.react(
      [
        {
          type: 'waterfall',
          orientation: 'v',
          x: labels,
          y,
          measure,
          text,
          textposition: 'outside',
          textfont: { color: colors.font, size: 10 },
          cliponaxis: false,
          connector: { line: { color: colors.grid, width: 1 } },
          increasing: { marker: { color: MODALITY_COLORS[1] } },
          decreasing: { marker: { color: MODALITY_COLORS[0] } },
          totals: { marker: { color: INTERACTION_COLOR } },
          hovertemplate: '%{x}: %{text}<extra></extra>'
        }
      ],
      {
        ...layout,
        showlegend: false,
        title: {
          text: 'From v(∅) to the prediction: main effects, then pair interactions',
          font: { size: 12 }
        },
        margin: { l: 56, r: 16, t: 36, b: 90 },
        xaxis: { ...axisStyle(colors), type: 'category', tickangle: -30 },
        yaxis: { ...axisStyle(colors), title: { text: 'explained output' } }
      }
    );
  }
}
