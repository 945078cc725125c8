// Dashboard arithmetic over two metric snapshots (prom-client JSON): per-step counter deltas grouped by
// model, key and deployment, and latency quantiles estimated from histogram bucket deltas.
import type { MetricObjectWithValues, MetricValue } from 'prom-client';

export type MetricJson = MetricObjectWithValues<MetricValue<string>>;

/** The metric families the dashboard reads (src/observability/metrics.ts). */
export const families = {
  requests: 'switchyard_requests_total',
  tokens: 'switchyard_tokens_total',
  cost: 'switchyard_cost_usd_total',
  rateLimited: 'switchyard_ratelimit_rejections_total',
  guardActions: 'switchyard_guardrail_actions_total',
  attempts: 'switchyard_attempts_total',
  ttft: 'gen_ai_server_time_to_first_token_seconds',
  duration: 'gen_ai_server_request_duration_seconds',
  inFlight: 'switchyard_in_flight_requests',
  waiting: 'switchyard_waiting_first_token',
} as const;

const counterFamilies: readonly string[] = [families.requests, families.tokens, families.cost, families.rateLimited, families.guardActions, families.attempts];
const histogramFamilies: readonly string[] = [families.ttft, families.duration];
const gaugeFamilies: readonly string[] = [families.inFlight, families.waiting];

type Labels = Readonly<Record<string, string>>;

interface CounterSeries {
  labels: Labels;
  value: number;
}

/** Cumulative bucket counts of one histogram series, by upper bound (Infinity for +Inf). */
type Buckets = Map<number, number>;

export interface Snapshot {
  counters: Map<string, Map<string, CounterSeries>>;
  histograms: Map<string, Map<string, Buckets>>;
  gauges: Map<string, number>;
}

function labelsOf(raw: Partial<Record<string, string | number>> | undefined, without?: string): Labels {
  const out: Record<string, string> = {};
  if (raw) for (const [k, v] of Object.entries(raw)) if (k !== without && v !== undefined) out[k] = String(v);
  return out;
}

function keyOf(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}\u0001${labels[k]}`)
    .join('\u0002');
}

function boundOf(le: string | number | undefined): number | undefined {
  if (le === undefined) return undefined;
  if (le === '+Inf' || le === Infinity) return Infinity;
  const n = Number(le);
  return Number.isFinite(n) ? n : undefined;
}

/** The parts of merged metrics the dashboard needs. */
export function snapshotOf(metrics: readonly MetricJson[]): Snapshot {
  const snapshot: Snapshot = { counters: new Map(), histograms: new Map(), gauges: new Map() };
  for (const metric of metrics) {
    const values = metric.values as Array<{ value: number; labels?: Partial<Record<string, string | number>>; metricName?: string }>;
    if (counterFamilies.includes(metric.name)) {
      const series = new Map<string, CounterSeries>();
      for (const v of values) {
        const labels = labelsOf(v.labels);
        const key = keyOf(labels);
        const found = series.get(key);
        if (found) found.value += v.value;
        else series.set(key, { labels, value: v.value });
      }
      snapshot.counters.set(metric.name, series);
    } else if (histogramFamilies.includes(metric.name)) {
      const series = new Map<string, Buckets>();
      for (const v of values) {
        if (v.metricName !== `${metric.name}_bucket`) continue;
        const bound = boundOf(v.labels?.le);
        if (bound === undefined) continue;
        const key = keyOf(labelsOf(v.labels, 'le'));
        let buckets = series.get(key);
        if (buckets === undefined) series.set(key, (buckets = new Map()));
        buckets.set(bound, (buckets.get(bound) ?? 0) + v.value);
      }
      snapshot.histograms.set(metric.name, series);
    } else if (gaugeFamilies.includes(metric.name)) {
      snapshot.gauges.set(metric.name, values.reduce((sum, v) => sum + v.value, 0));
    }
  }
  return snapshot;
}

/**
 * How much each series grew from `prev` to `cur`. A series that shrank (a replaced server thread
 * starts from zero) counts as no growth rather than as negative traffic.
 */
export function counterDeltas(prev: Snapshot, cur: Snapshot, family: string): CounterSeries[] {
  const before = prev.counters.get(family);
  const out: CounterSeries[] = [];
  for (const [key, s] of cur.counters.get(family) ?? []) {
    const delta = s.value - (before?.get(key)?.value ?? 0);
    if (delta > 0) out.push({ labels: s.labels, value: delta });
  }
  return out;
}

/** Bucket-count growth of every series of a histogram family, summed into one histogram (cumulative, by bound). */
export function histogramDelta(prev: Snapshot, cur: Snapshot, family: string): Buckets {
  const before = prev.histograms.get(family);
  const merged: Buckets = new Map();
  for (const [key, buckets] of cur.histograms.get(family) ?? []) {
    const old = before?.get(key);
    for (const [bound, count] of buckets) merged.set(bound, (merged.get(bound) ?? 0) + Math.max(0, count - (old?.get(bound) ?? 0)));
  }
  return merged;
}

/**
 * The q-quantile of a cumulative histogram, interpolated linearly inside its bucket as Prometheus's
 * histogram_quantile does (the first bucket starts at 0; the +Inf bucket answers the highest finite bound).
 * null when the histogram is empty.
 */
export function quantile(q: number, buckets: Buckets): number | null {
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  if (bounds.length === 0) return null;
  // Cumulative counts must not fall with the bound; clamped deltas of separate buckets may.
  let running = 0;
  const cumulative = bounds.map((b) => (running = Math.max(running, buckets.get(b) ?? 0)));
  const total = cumulative[cumulative.length - 1];
  if (!(total > 0)) return null;
  const rank = q * total;
  let i = cumulative.findIndex((c) => c >= rank);
  if (i < 0) i = cumulative.length - 1;
  const upper = bounds[i];
  if (upper === Infinity) {
    const finite = bounds.filter((b) => b !== Infinity);
    return finite.length > 0 ? finite[finite.length - 1] : null;
  }
  const lower = i === 0 ? 0 : bounds[i - 1];
  const below = i === 0 ? 0 : cumulative[i - 1];
  const inBucket = cumulative[i] - below;
  if (inBucket <= 0) return upper;
  return lower + (upper - lower) * ((rank - below) / inBucket);
}

export interface GroupCounts {
  requests: number;
  errors: number;
  tokens: number;
  cost_usd: number;
}

export interface DeploymentCounts {
  requests: number;
  errors: number;
}

export interface StepTotals {
  requests: number;
  errors: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number;
  rate_limited: number;
  guard_actions: number;
}

export interface StepLatency {
  ttft_ms_p50: number | null;
  ttft_ms_p99: number | null;
  duration_ms_p50: number | null;
  duration_ms_p99: number | null;
}

/** What happened during one step. */
export interface Step {
  /** Epoch seconds at the end of the step. */
  time: number;
  totals: StepTotals;
  byModel: Map<string, GroupCounts>;
  byKey: Map<string, GroupCounts>;
  byDeployment: Map<string, DeploymentCounts>;
  latency: StepLatency;
}

function group<T>(map: Map<string, T>, name: string, empty: () => T): T {
  let found = map.get(name);
  if (found === undefined) map.set(name, (found = empty()));
  return found;
}

const emptyGroup = (): GroupCounts => ({ requests: 0, errors: 0, tokens: 0, cost_usd: 0 });

/** An HTTP status label of 400 or more ('none' = the client went away before any status). */
function isErrorStatus(status: string | undefined): boolean {
  const n = Number(status);
  return Number.isFinite(n) && n >= 400;
}

const sum = (series: CounterSeries[]) => series.reduce((total, s) => total + s.value, 0);
const toMs = (seconds: number | null) => (seconds === null ? null : roundTo(seconds * 1000, 3));

/** Rounds away float noise (0.1 + 0.2) without losing real precision. */
export function roundTo(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** The step from `prev` to `cur`, ending at `time` (epoch seconds). */
export function stepBetween(prev: Snapshot, cur: Snapshot, time: number): Step {
  const requests = counterDeltas(prev, cur, families.requests);
  const tokens = counterDeltas(prev, cur, families.tokens);
  const cost = counterDeltas(prev, cur, families.cost);
  const attempts = counterDeltas(prev, cur, families.attempts);
  const step: Step = {
    time,
    totals: {
      requests: sum(requests),
      errors: sum(requests.filter((s) => isErrorStatus(s.labels.status))),
      prompt_tokens: sum(tokens.filter((s) => s.labels.type === 'input')),
      completion_tokens: sum(tokens.filter((s) => s.labels.type === 'output')),
      cost_usd: roundTo(sum(cost), 9),
      rate_limited: sum(counterDeltas(prev, cur, families.rateLimited)),
      guard_actions: sum(counterDeltas(prev, cur, families.guardActions)),
    },
    byModel: new Map(),
    byKey: new Map(),
    byDeployment: new Map(),
    latency: { ttft_ms_p50: null, ttft_ms_p99: null, duration_ms_p50: null, duration_ms_p99: null },
  };
  const groupings: Array<[Map<string, GroupCounts>, string]> = [
    [step.byModel, 'model'],
    [step.byKey, 'key'],
  ];
  for (const [map, label] of groupings) {
    for (const s of requests) {
      const g = group(map, s.labels[label] ?? '', emptyGroup);
      g.requests += s.value;
      if (isErrorStatus(s.labels.status)) g.errors += s.value;
    }
    // Cached tokens are part of the input count, so only input and output add up to the total.
    for (const s of tokens) if (s.labels.type === 'input' || s.labels.type === 'output') group(map, s.labels[label] ?? '', emptyGroup).tokens += s.value;
    for (const s of cost) {
      const g = group(map, s.labels[label] ?? '', emptyGroup);
      g.cost_usd = roundTo(g.cost_usd + s.value, 9);
    }
  }
  // Per deployment, the upstream attempts: a request that failed over counts on every deployment it tried.
  for (const s of attempts) {
    const g = group(step.byDeployment, s.labels.deployment ?? '', () => ({ requests: 0, errors: 0 }));
    g.requests += s.value;
    if (s.labels.outcome === 'failed' || s.labels.outcome === 'client_error') g.errors += s.value;
  }
  const ttft = histogramDelta(prev, cur, families.ttft);
  const duration = histogramDelta(prev, cur, families.duration);
  step.latency = {
    ttft_ms_p50: toMs(quantile(0.5, ttft)),
    ttft_ms_p99: toMs(quantile(0.99, ttft)),
    duration_ms_p50: toMs(quantile(0.5, duration)),
    duration_ms_p99: toMs(quantile(0.99, duration)),
  };
  return step;
}
