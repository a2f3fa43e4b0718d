/**
 * The evaluate/remask messages (src/protocol/evaluate.ts): the data comes back as the kernel
 * sent it, and a malformed message is refused before anything is kept, naming what was wrong.
 */
import { describe, expect, it } from 'vitest';
import { parseEvaluateMessage, parseRemaskMessage } from '../../../src/protocol/evaluate';

const header = () => ({
  kind: 'evaluate',
  modelId: 'm1',
  label: 'onnx',
  names: ['image', 'text'],
  nSamples: 2,
  nBackground: 3,
  inputs: { fusion: 'early', inputNames: ['x'], outputName: 'y', shapes: [[2], [1]] },
  softmax: true,
  settings: { masking: 'random', draws: 10, seed: 0, target: 'predicted' },
  evaluation: 'e1',
  run: true,
  chunkSamples: 100,
  hasBaseline: false,
  hasLabels: true
});

const f32 = (...v: number[]) => Float32Array.from(v).buffer;
const buffers = () => [
  new Uint8Array([1, 2, 3]).buffer,
  f32(1, 2, 3, 4),
  f32(5, 6),
  f32(0, 0, 0, 0, 0, 0),
  f32(7, 8, 9),
  Float64Array.from([0, 1]).buffer
];

describe('parseEvaluateMessage', () => {
  it('gives back the model, the data and the settings', () => {
    const message = parseEvaluateMessage(header(), buffers());
    expect([...message.model]).toEqual([1, 2, 3]);
    expect([...message.data.samples[0]]).toEqual([1, 2, 3, 4]);
    expect([...message.data.background[1]]).toEqual([7, 8, 9]);
    expect([...message.data.labels!]).toEqual([0, 1]);
    expect(message.data.baseline).toBeNull();
    expect(message.settings).toEqual({
      masking: 'random',
      draws: 10,
      seed: 0,
      target: 'predicted'
    });
  });

  it('refuses buffers that disagree with the header', () => {
    const short = buffers();
    short[2] = f32(5);
    expect(() => parseEvaluateMessage(header(), short)).toThrow(
      "evaluate message: buffer samples of 'text' expected 2 float32 values (8 bytes), got 4 bytes"
    );
    expect(() => parseEvaluateMessage(header(), buffers().slice(0, 4))).toThrow(
      'expected 2 shapes and 6 buffers for 2 modalities, got 2 and 4'
    );
  });

  it('names a bad field', () => {
    expect(() =>
      parseEvaluateMessage(
        { ...header(), settings: { masking: 'zeros', draws: 1, seed: 0, target: 0 } },
        buffers()
      )
    ).toThrow(
      "settings message: field 'masking' expected one of 'random', 'mean', 'baseline', got the string \"zeros\""
    );
    expect(() => parseEvaluateMessage({ ...header(), nSamples: -1 }, buffers())).toThrow(
      "evaluate message: field 'nSamples' expected a positive whole number, got number -1"
    );
  });
});

describe('parseRemaskMessage', () => {
  it('reads a re-mask and a cancel', () => {
    expect(
      parseRemaskMessage({
        kind: 'remask',
        modelId: 'm1',
        evaluation: 'e2',
        settings: { masking: 'mean', draws: 5, seed: 1, target: 1 }
      }).settings
    ).toEqual({ masking: 'mean', draws: 5, seed: 1, target: 1 });
    expect(parseRemaskMessage({ kind: 'cancelEvaluation', modelId: 'm1' }).settings).toBeNull();
  });
});
