import { describe, expect, it } from 'vitest';
import {
  DEFAULT_STYLE,
  EXPORT_FONT_FAMILY,
  exportColors,
  PAPER_COLORS,
  panelLetter,
  pixelSize,
  restyleFigure
} from '../../../src/views/export/style';

const screen = { font: '#eeeeee', muted: '#aaaaaa', grid: '#333333', paper: '#111111' };

describe('export style', () => {
  it('scales every font from the screen size to the requested points, in the shipped font', () => {
    const figure = {
      data: [{ type: 'bar', textfont: { size: 10, color: '#111111' } }],
      layout: {
        font: { size: 11, color: '#eeeeee' },
        title: { text: 'T', font: { size: 12 } },
        xaxis: { tickfont: { size: 11 }, range: [0, 1] },
        margin: { l: 60, r: 16, t: 32, b: 40 },
        selections: [{ x0: 0 }]
      }
    };
    const style = { ...DEFAULT_STYLE, fontPt: 11 * 0.75 * 2 }; // twice the screen's 11 px
    const out = restyleFigure(figure, style, 300, 200);
    const layout = out.layout as Record<string, Record<string, unknown>> & Record<string, unknown>;
    const font = (key: string) => (layout[key] as { font: Record<string, unknown> }).font;
    expect(layout.font.size).toBeCloseTo(22);
    expect(font('title').size).toBeCloseTo(24);
    expect((layout.xaxis.tickfont as Record<string, unknown>).size).toBeCloseTo(22);
    expect((out.data[0] as { textfont: { size: number } }).textfont.size).toBeCloseTo(20);
    expect(String(layout.font.family).startsWith(EXPORT_FONT_FAMILY)).toBe(true);
    expect(String(font('title').family).startsWith(EXPORT_FONT_FAMILY)).toBe(true);
    // Numbers that are not font sizes stay; colours stay (the chart drew them for the export).
    expect(layout.xaxis.range).toEqual([0, 1]);
    expect((out.data[0] as { textfont: { color: string } }).textfont.color).toBe('#111111');
    expect(layout.margin).toEqual({ l: 120, r: 32, t: 64, b: 80 });
    expect([layout.width, layout.height, layout.autosize]).toEqual([300, 200, false]);
    expect(layout.selections).toBeUndefined();
    // The chart's own figure is untouched.
    expect(figure.layout.font.size).toBe(11);
    expect(figure.layout.selections).toHaveLength(1);
  });

  it('draws the paper theme in black on white, the screen theme in the page colours', () => {
    expect(exportColors(DEFAULT_STYLE, screen)).toEqual(PAPER_COLORS);
    expect(PAPER_COLORS.paper).toBe('#ffffff');
    expect(PAPER_COLORS.font).toBe('#000000');
    expect(exportColors({ ...DEFAULT_STYLE, theme: 'screen' }, screen)).toEqual(screen);
  });

  it('gives a PNG the pixel width of its millimetres at the dpi, and panels their letters', () => {
    expect(pixelSize(88, 600)).toBe(2079);
    expect(pixelSize(180, 300)).toBe(2126);
    expect([0, 1, 2, 25, 26].map(panelLetter)).toEqual(['a', 'b', 'c', 'z', 'aa']);
  });
});
