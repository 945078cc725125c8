// Percentiles and summaries of latency samples (nanoseconds in, microseconds out).

export interface LatencySummary {
  count: number;
  p50_us: number;
  p90_us: number;
  p99_us: number;
  mean_us: number;
  max_us: number;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export function summarizeNs(samplesNs: readonly number[]): LatencySummary {
  const sorted = Float64Array.from(samplesNs).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  const us = (ns: number): number => round(ns / 1000, 1);
  return {
    count: sorted.length,
    p50_us: us(percentile(sorted, 50)),
    p90_us: us(percentile(sorted, 90)),
    p99_us: us(percentile(sorted, 99)),
    mean_us: us(sorted.length ? sum / sorted.length : Number.NaN),
    max_us: us(sorted.length ? sorted[sorted.length - 1] : Number.NaN),
  };
}

export function round(value: number, digits: number): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** `a - b`, rounded, or NaN when either side is missing. */
export function delta(a: number | undefined, b: number | undefined, digits = 1): number {
  if (a === undefined || b === undefined) return Number.NaN;
  return round(a - b, digits);
}

export function ratio(a: number | undefined, b: number | undefined): number {
  if (a === undefined || b === undefined || b === 0) return Number.NaN;
  return round(a / b, 3);
}
