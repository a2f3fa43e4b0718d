import { config } from '../config';

/** Formats a number for display; undefined numbers (NaN) say so instead of printing NaN. */
export function formatNumber(x: number | null | undefined, decimals = config.decimals): string {
  return x === null || x === undefined || !Number.isFinite(x) ? 'undefined' : x.toFixed(decimals);
}

/** A coalition as the user names it: "{image, text}"; the empty coalition is "∅". */
export function coalitionName(modalities: number[], names: string[]): string {
  return modalities.length === 0 ? '∅' : `{${modalities.map(m => names[m]).join(', ')}}`;
}

/** "12,345": counts read at a glance. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

export function formatInterval(interval: { low: number; high: number } | null): string {
  return interval ? `[${formatNumber(interval.low)}, ${formatNumber(interval.high)}]` : '…';
}
