import { describe, expect, it } from 'vitest';
import { visibleKey } from '../../../src/views/schedule';

describe('visibleKey', () => {
  it('stays the same while numbers move within their thousandth of the largest', () => {
    const before = visibleKey('m', [[0.5, 0.25], [0.1]]);
    expect(visibleKey('m', [[0.5001, 0.2499], [0.1001]])).toBe(before);
    expect(visibleKey('m', [[0.5, 0.252], [0.1]])).not.toBe(before);
    expect(visibleKey('other', [[0.5, 0.25], [0.1]])).not.toBe(before);
  });

  it('is relative to the numbers’ own size, so tiny values still update', () => {
    const before = visibleKey('m', [[2e-6, 1e-6]]);
    expect(visibleKey('m', [[2e-6, 1.1e-6]])).not.toBe(before);
    expect(visibleKey('m', [[2e-6, 1.0001e-6]])).toBe(before);
  });

  it('takes undefined numbers and all-zero tables', () => {
    expect(visibleKey('m', [[NaN, 0.5]])).toBe(visibleKey('m', [[NaN, 0.5001]]));
    expect(visibleKey('m', [[0, 0]])).not.toBe(visibleKey('m', [[0, 0.01]]));
  });
});
