/**
 * The comparison messages: the kernel asks for one model against a reference (`w.compare(...)`),
 * the browser answers with every Δ and its paired bootstrap interval as float64 buffers, or with
 * why it could not. The kernel side is intershap_widget/compare.py and protocol.py.
 */
import { checkObject, decodeSelection, field, isString, ProtocolError } from './messages';
import type { Json } from './messages';

export interface CompareMessage {
  kind: 'compare';
  id: string;
  referenceId: string;
  otherId: string;
  /** The samples to compare, in order (repeats count again); null: every sample. */
  subset: Int32Array | null;
}

/** The reply's buffers, in this order (M², M², M², M, M, M and one per compared sample). */
export const COMPARED_BUFFERS = [
  'matrixDelta',
  'matrixDeltaLow',
  'matrixDeltaHigh',
  'contributionDelta',
  'contributionDeltaLow',
  'contributionDeltaHigh',
  'localDelta'
] as const;

/** Browser → kernel: the numbers (buffers named in `buffers` follow), or the error. */
export type CompareReply =
  | {
      kind: 'compared';
      id: string;
      referenceId: string;
      n: number;
      globalReference: number | null;
      globalOther: number | null;
      globalDelta: number | null;
      globalDeltaInterval: [number | null, number | null];
      undefinedReps: number;
      buffers: string[];
    }
  | { kind: 'compareFailed'; id: string; error: string };

/** True for a message that asks for a comparison (checked by parseCompareMessage). */
export function isCompareRequest(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && (raw as Json).kind === 'compare';
}

export function parseCompareMessage(
  raw: unknown,
  buffers: ReadonlyArray<ArrayBuffer | ArrayBufferView>
): CompareMessage {
  const msg = checkObject(raw);
  const hasSubset = field(
    msg,
    'subset',
    (v): v is boolean => typeof v === 'boolean',
    'true or false'
  );
  if (buffers.length !== (hasSubset ? 1 : 0)) {
    throw new ProtocolError(
      `compare message: expected ${hasSubset ? '1 buffer of sample indices' : 'no buffer'}, got ${buffers.length}`
    );
  }
  return {
    kind: 'compare',
    id: field(msg, 'id', isString, 'a string'),
    referenceId: field(msg, 'referenceId', isString, 'a string'),
    otherId: field(msg, 'otherId', isString, 'a string'),
    subset: hasSubset ? decodeSamples(buffers[0]) : null
  };
}

/** The request's sample indices: int32 like the selection's, with errors naming this buffer. */
function decodeSamples(buffer: ArrayBuffer | ArrayBufferView): Int32Array {
  try {
    return decodeSelection(buffer);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new ProtocolError(message.replace(/^selection:/, "compare message: buffer 'samples':"));
  }
}
