/** The kernel's compare request, as the browser parses it before the worker compares anything. */
import { describe, expect, it } from 'vitest';
import { isCompareRequest, parseCompareMessage } from '../../../src/protocol/compare';
import { selectionToBuffer } from '../../../src/protocol/messages';

const request = { kind: 'compare', id: 'r1', referenceId: 'a', otherId: 'b', subset: false };

describe('parseCompareMessage', () => {
  it('reads a request for every sample and one for given samples, repeats kept in order', () => {
    expect(isCompareRequest(request)).toBe(true);
    expect(isCompareRequest({ kind: 'export' })).toBe(false);
    expect(parseCompareMessage(request, [])).toEqual({ ...request, subset: null });
    const subset = parseCompareMessage({ ...request, subset: true }, [
      new DataView(selectionToBuffer([5, 2, 5]))
    ]).subset;
    expect(Array.from(subset!)).toEqual([5, 2, 5]);
  });

  it('names the field or buffer that is wrong', () => {
    expect(() => parseCompareMessage({ ...request, otherId: 3 }, [])).toThrow(
      "compare message: field 'otherId' expected a string, got number 3"
    );
    expect(() => parseCompareMessage({ ...request, subset: 'yes' }, [])).toThrow(
      "field 'subset' expected true or false"
    );
    expect(() => parseCompareMessage({ ...request, subset: true }, [])).toThrow(
      'compare message: expected 1 buffer of sample indices, got 0'
    );
    expect(() =>
      parseCompareMessage({ ...request, subset: true }, [new Float64Array([1, 2])])
    ).toThrow(
      "compare message: buffer 'samples': expected a binary buffer of int32 sample indices, got a float64 buffer"
    );
  });
});
