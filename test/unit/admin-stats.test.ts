// Dashboard stats math: metrics as two server threads export them (the observability feature's metric
// families), merged as the main thread merges them, turned into per-step deltas and quantiles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AggregatorRegistry } from 'prom-client';
import { CounterFamily, GaugeFamily, HistogramFamily, type MetricJson } from '../../src/observability/metric-families.js';
import { quantile, snapshotOf, stepBetween } from '../../src/admin/console/stats-math.js';
import { parseMinutes, StatsSampler, stepFromEnv } from '../../src/admin/console/stats.js';

const durationBuckets = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
const ttftBuckets = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];

/** One server thread's metrics, with the names and labels src/observability/metrics.ts uses. */
class ThreadFamilies {
  readonly requests = new CounterFamily('switchyard_requests_total', 'r');
  readonly tokens = new CounterFamily('switchyard_tokens_total', 't');
  readonly cost = new CounterFamily('switchyard_cost_usd_total', 'c');
  readonly rateLimited = new CounterFamily('switchyard_ratelimit_rejections_total', 'rl');
  readonly guards = new CounterFamily('switchyard_guardrail_actions_total', 'g');
  readonly attempts = new CounterFamily('switchyard_attempts_total', 'a');
  readonly ttft = new HistogramFamily('gen_ai_server_time_to_first_token_seconds', 'ttft', ttftBuckets);
  readonly duration = new HistogramFamily('gen_ai_server_request_duration_seconds', 'd', durationBuckets);
  inFlight = 0;
  waiting = 0;
  private readonly gauges = [
    new GaugeFamily('switchyard_in_flight_requests', 'i', () => [{ labels: {}, value: this.inFlight }]),
    new GaugeFamily('switchyard_waiting_first_token', 'w', () => [{ labels: {}, value: this.waiting }]),
  ];

  /** A finished request as ThreadMetrics.onComplete counts it. */
  request(r: { model: string; key: string; deployment: string; status: number; input: number; output: number; cost: number; durationS: number; ttftS?: number; outcome?: string }): void {
    const sy = { model: r.model, provider: 'sim', deployment: r.deployment, key: r.key };
    const series = `${r.model}|${r.key}|${r.deployment}`;
    this.requests.cell(`${series}|${r.status}`, () => ({ ...sy, status: String(r.status) })).value++;
    this.tokens.cell(`${series}|input`, () => ({ ...sy, type: 'input' })).value += r.input;
    this.tokens.cell(`${series}|output`, () => ({ ...sy, type: 'output' })).value += r.output;
    this.tokens.cell(`${series}|cached`, () => ({ ...sy, type: 'cached' })).value += 0;
    this.cost.cell(series, () => sy).value += r.cost;
    const outcome = r.outcome ?? (r.status < 400 ? 'ok' : 'failed');
    this.attempts.cell(`${r.deployment}|${outcome}`, () => ({ deployment: r.deployment, outcome })).value++;
    const gen = { gen_ai_operation_name: 'chat', gen_ai_provider_name: 'sim', gen_ai_request_model: r.model, gen_ai_response_model: r.model };
    this.duration.cell(`${r.model}|${r.status < 400 ? '__none__' : 'err'}`, () => ({ ...gen, error_type: r.status < 400 ? '__none__' : 'err' })).observe(r.durationS);
    if (r.ttftS !== undefined) this.ttft.cell(r.model, () => gen).observe(r.ttftS);
  }

  toJSON(): MetricJson[] {
    return [this.requests, this.tokens, this.cost, this.rateLimited, this.guards, this.attempts, this.ttft, this.duration, ...this.gauges].map((f) => f.toJSON());
  }
}

/** What host.services.metricsJson answers: every thread merged. */
async function merged(threads: ThreadFamilies[]): Promise<MetricJson[]> {
  return AggregatorRegistry.aggregate(threads.map((t) => t.toJSON()) as never).getMetricsAsJSON() as Promise<MetricJson[]>;
}

const base = { key: 'key-a', deployment: 'sim/gpt-4o-mini', input: 10, output: 5, cost: 0.001, durationS: 0.3 };

test('a step counts what happened since the last snapshot, per model, key and deployment, across threads', async () => {
  const t1 = new ThreadFamilies();
  const t2 = new ThreadFamilies();
  t1.request({ ...base, model: 'gpt-4o-mini', status: 200 });
  const before = snapshotOf(await merged([t1, t2]));

  t1.request({ ...base, model: 'gpt-4o-mini', status: 200, input: 7, output: 3, cost: 0.002 });
  t2.request({ ...base, model: 'gpt-4o-mini', status: 200, key: 'key-b', input: 1, output: 1, cost: 0.0005 });
  t2.request({ ...base, model: 'gpt-4o', status: 502, deployment: 'sim/gpt-4o', input: 4, output: 0, cost: 0 });
  t2.request({ ...base, model: 'gpt-4o', status: 429, deployment: 'sim/gpt-4o', input: 2, output: 0, cost: 0, outcome: 'client_error' });
  t1.rateLimited.cell('rpm', () => ({ scope: 'rpm' })).value += 2;
  t2.guards.cell('pii|redact', () => ({ guard: 'pii:default', action: 'redact' })).value += 1;
  t1.guards.cell('deny|block', () => ({ guard: 'deny', action: 'block' })).value += 3;
  t1.inFlight = 2;
  t2.inFlight = 1;
  t2.waiting = 1;
  const after = snapshotOf(await merged([t1, t2]));

  const step = stepBetween(before, after, 1_700_000_010);
  assert.equal(step.time, 1_700_000_010);
  assert.equal(step.totals.requests, 4);
  assert.equal(step.totals.errors, 2);
  assert.equal(step.totals.prompt_tokens, 7 + 1 + 4 + 2);
  assert.equal(step.totals.completion_tokens, 3 + 1);
  assert.equal(step.totals.cost_usd, 0.0025);
  assert.equal(step.totals.rate_limited, 2);
  assert.equal(step.totals.guard_actions, 4);

  assert.deepEqual(step.byModel.get('gpt-4o-mini'), { requests: 2, errors: 0, tokens: 7 + 3 + 1 + 1, cost_usd: 0.0025 });
  assert.deepEqual(step.byModel.get('gpt-4o'), { requests: 2, errors: 2, tokens: 6, cost_usd: 0 });
  assert.deepEqual(step.byKey.get('key-a'), { requests: 3, errors: 2, tokens: 7 + 3 + 4 + 2, cost_usd: 0.002 });
  assert.deepEqual(step.byKey.get('key-b'), { requests: 1, errors: 0, tokens: 2, cost_usd: 0.0005 });
  assert.deepEqual(step.byDeployment.get('sim/gpt-4o-mini'), { requests: 2, errors: 0 });
  assert.deepEqual(step.byDeployment.get('sim/gpt-4o'), { requests: 2, errors: 2 });

  assert.equal(after.gauges.get('switchyard_in_flight_requests'), 3);
  assert.equal(after.gauges.get('switchyard_waiting_first_token'), 1);
  // Every request here took 0.3 s: the duration quantiles lie in its bucket (0.16, 0.32].
  for (const q of [step.latency.duration_ms_p50, step.latency.duration_ms_p99]) assert.ok(q !== null && q > 160 && q <= 320, `duration quantile ${q}`);
  assert.equal(step.latency.ttft_ms_p50, null, 'no streamed request: no time to first token');
});

test('quantiles interpolate inside the bucket and fall in the bucket of the true quantile', () => {
  const h = new HistogramFamily('gen_ai_server_time_to_first_token_seconds', 'x', ttftBuckets);
  const cell = h.cell('', () => ({}));
  for (let i = 0; i < 10; i++) cell.observe(0.2); // all in (0.1, 0.25]
  const snap = snapshotOf([h.toJSON()]);
  const buckets = snap.histograms.get('gen_ai_server_time_to_first_token_seconds')?.get('');
  assert.ok(buckets);
  // Half of the bucket's count: halfway between its bounds.
  assert.equal(quantile(0.5, buckets), 0.1 + (0.25 - 0.1) * 0.5);

  // A spread of values: each estimate lands in the bucket that holds the true quantile.
  const spread = new HistogramFamily('gen_ai_server_request_duration_seconds', 'x', durationBuckets);
  const values = Array.from({ length: 200 }, (_, i) => 0.005 + (i * i) / 4000);
  const c = spread.cell('', () => ({}));
  for (const v of values) c.observe(v);
  const sb = snapshotOf([spread.toJSON()]).histograms.get('gen_ai_server_request_duration_seconds')?.get('');
  assert.ok(sb);
  const sorted = [...values].sort((a, b) => a - b);
  for (const q of [0.5, 0.9, 0.99]) {
    const truth = sorted[Math.ceil(q * sorted.length) - 1];
    const upper = durationBuckets.find((b) => truth <= b) ?? Infinity;
    const lower = [0, ...durationBuckets][durationBuckets.indexOf(upper)];
    const estimate = quantile(q, sb);
    assert.ok(estimate !== null && estimate >= lower && estimate <= upper, `q${q}: ${estimate} not in (${lower}, ${upper}] around ${truth}`);
  }
  assert.equal(quantile(0.5, new Map()), null);
  // Only +Inf: the highest finite bound, as Prometheus answers.
  const beyond = spread.cell('far', () => ({ x: 'far' }));
  beyond.observe(500);
  const far = snapshotOf([spread.toJSON()]).histograms.get('gen_ai_server_request_duration_seconds')?.get('x\u0001far');
  assert.ok(far);
  assert.equal(quantile(0.5, far), durationBuckets[durationBuckets.length - 1]);
});

test('a counter that shrank (a replaced server thread) is not negative traffic', async () => {
  const old = new ThreadFamilies();
  for (let i = 0; i < 5; i++) old.request({ ...base, model: 'gpt-4o-mini', status: 200 });
  const before = snapshotOf(await merged([old]));
  const fresh = new ThreadFamilies();
  fresh.request({ ...base, model: 'gpt-4o-mini', status: 200 });
  const step = stepBetween(before, snapshotOf(await merged([fresh])), 1);
  assert.equal(step.totals.requests, 0);
  assert.ok(step.totals.prompt_tokens >= 0 && step.totals.cost_usd >= 0);
});

test('the sampler keeps steps, renders the window with zeros where a model had no traffic, and null latency', async () => {
  const thread = new ThreadFamilies();
  let now = 1_700_000_000_000;
  const sampler = new StatsSampler(() => merged([thread]), { stepMs: 10_000, now: () => now });
  await sampler.sample(); // baseline
  assert.equal(sampler.render(15).times.length, 0);

  const steps: Array<Array<{ model: string; status: number }>> = [
    [{ model: 'gpt-4o-mini', status: 200 }],
    [],
    [{ model: 'gpt-4o', status: 500 }, { model: 'gpt-4o-mini', status: 200 }],
  ];
  for (const requests of steps) {
    for (const r of requests) thread.request({ ...base, ...r, ttftS: 0.05 });
    now += 10_000;
    await sampler.sample();
  }
  const body = sampler.render(15);
  assert.equal(body.step_seconds, 10);
  assert.deepEqual(body.times, [1_700_000_010, 1_700_000_020, 1_700_000_030]);
  assert.deepEqual(body.totals.requests, steps.map((s) => s.length));
  assert.deepEqual(body.totals.errors, [0, 0, 1]);
  assert.deepEqual(body.by_model['gpt-4o-mini'].requests, [1, 0, 1]);
  assert.deepEqual(body.by_model['gpt-4o'].requests, [0, 0, 1]);
  assert.deepEqual(body.by_model['gpt-4o'].errors, [0, 0, 1]);
  assert.deepEqual(body.by_key['key-a'].requests, [1, 0, 2]);
  assert.equal(body.latency.duration_ms_p50[1], null, 'no traffic in the second step');
  assert.ok((body.latency.ttft_ms_p50[0] ?? 0) > 40 && (body.latency.ttft_ms_p50[0] ?? 0) <= 60);

  // The window: one minute of 10 s steps is the last 6 steps at most.
  for (let i = 0; i < 10; i++) {
    now += 10_000;
    await sampler.sample();
  }
  assert.equal(sampler.render(1).times.length, 6);
  assert.equal(sampler.render(60).times.length, 13);
});

test('a failing sample is skipped, and the next step measures from the last good one', async () => {
  const thread = new ThreadFamilies();
  let fail = false;
  let now = 0;
  const sampler = new StatsSampler(async () => (fail ? Promise.reject(new Error('thread timeout')) : merged([thread])), { stepMs: 10_000, now: () => now });
  await sampler.sample();
  thread.request({ ...base, model: 'm', status: 200 });
  fail = true;
  now += 10_000;
  await sampler.sample();
  fail = false;
  thread.request({ ...base, model: 'm', status: 200 });
  now += 10_000;
  await sampler.sample();
  assert.deepEqual(sampler.render(60).totals.requests, [2]);
});

test('minutes is 1..60, the step from SWITCHYARD_STATS_STEP_MS is validated', () => {
  assert.equal(parseMinutes(null), 15);
  assert.equal(parseMinutes('60'), 60);
  for (const bad of ['0', '61', '1.5', 'x', '-1']) assert.throws(() => parseMinutes(bad), (e: Error & { param?: string }) => e.param === 'minutes');
  assert.equal(stepFromEnv(undefined), 10_000);
  assert.equal(stepFromEnv('250'), 250);
  assert.throws(() => stepFromEnv('fast'));
});
