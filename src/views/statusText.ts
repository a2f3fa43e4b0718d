/**
 * The status bar's words, without the DOM: one line per model (progress, state, or partial after
 * a lost kernel) and which kernel decomposes the values, with the reason for a fallback.
 */
import type { ModelState } from '../compute/main/session';

const KERNEL_NAMES: Record<string, string> = {
  simd: 'WebAssembly SIMD',
  javascript: 'JavaScript',
  pending: 'not chosen yet'
};

/** A count as the user reads it: 12,000. */
function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** One model's line: its progress while running, its state after, or what it holds if partial. */
export function modelLine(m: ModelState): string {
  if (m.partial) {
    return `${m.dataset.label}: partial: ${count(m.received)} of ${count(m.dataset.nSamples)} samples`;
  }
  const p = m.progress;
  const state = m.status?.state ?? 'waiting';
  if (p && state === 'running') {
    const eta = p.etaSeconds === null ? '' : `, ${Math.ceil(p.etaSeconds)} s left`;
    return `${m.dataset.label}: ${p.done} / ${p.total} samples (${Math.round(p.samplesPerSecond)}/s${eta})`;
  }
  return `${m.dataset.label}: ${m.received} / ${m.dataset.nSamples} samples, ${state}`;
}

export interface KernelSummary {
  /** The kernels in use, space-separated ('simd', 'javascript', 'pending'): `data-kernel`. */
  kinds: string;
  /** What the status bar says ('' until a kernel is chosen). */
  text: string;
  /** Whether any model's tables fell back from WebAssembly SIMD to JavaScript. */
  fallback: boolean;
}

/**
 * Which kernel decomposes the values: "kernel: WebAssembly SIMD", or, where a model's tables fell
 * back to JavaScript, that it happened and why (per model when the models differ).
 */
export function kernelSummary(models: Iterable<ModelState>): KernelSummary {
  const list = [...models];
  const kinds = [...new Set(list.map(m => m.kernel?.kind ?? 'pending'))];
  const groups = new Map<string, string[]>();
  for (const m of list) {
    if (m.kernel === null) {
      continue;
    }
    const { kind, fallback } = m.kernel;
    const words =
      fallback === null
        ? KERNEL_NAMES[kind]
        : `${KERNEL_NAMES[kind]}, fell back from WebAssembly SIMD: ${fallback}`;
    groups.set(words, [...(groups.get(words) ?? []), m.dataset.label]);
  }
  let text = '';
  if (groups.size === 1) {
    text = `kernel: ${[...groups.keys()][0]}`;
  } else if (groups.size > 1) {
    text = `kernel: ${[...groups].map(([words, labels]) => `${labels.join(', ')}: ${words}`).join('; ')}`;
  }
  return {
    kinds: kinds.join(' '),
    text,
    fallback: list.some(m => m.kernel?.fallback)
  };
}
