// Fixed UTC windows (minute, day, month) and the OpenAI-style duration strings of the reset headers.

export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;

export function minuteIndex(nowMs: number): number {
  return Math.floor(nowMs / MINUTE_MS);
}

export function dayIndex(nowMs: number): number {
  return Math.floor(nowMs / DAY_MS);
}

let cachedDay = -1;
let cachedMonth = 0;

/** year * 12 + month (0-based), UTC. Memoised per day: it is on the hot path and a Date costs more than the rest. */
export function monthIndex(nowMs: number): number {
  const day = Math.floor(nowMs / DAY_MS);
  if (day !== cachedDay) {
    const d = new Date(nowMs);
    cachedMonth = d.getUTCFullYear() * 12 + d.getUTCMonth();
    cachedDay = day;
  }
  return cachedMonth;
}

export function msToMinuteEnd(nowMs: number): number {
  return MINUTE_MS - (nowMs % MINUTE_MS);
}

export function msToDayEnd(nowMs: number): number {
  return DAY_MS - (nowMs % DAY_MS);
}

export function msToMonthEnd(nowMs: number): number {
  const d = new Date(nowMs);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) - nowMs;
}

/** OpenAI's format: "20ms", "1s", "6m0s", "1h2m3s". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.ceil(ms))}ms`;
  let s = Math.ceil(ms / 1000);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}
