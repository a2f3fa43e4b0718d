import { config } from '../config';

/** Formats a number for display; undefined numbers (NaN) say so instead of printing NaN. */
export function formatNumber(x: number | null | undefined, decimals = config.decimals): string {
  return x === null || x === undefined || !Number.isFinite(x) ? 'undefined' : x.toFixed(decimals);
}
