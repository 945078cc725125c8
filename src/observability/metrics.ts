// Per-thread metrics: OpenTelemetry GenAI conventions (in Prometheus form) plus switchyard_*. Each
// server thread keeps its own cells and exports prom-client-compatible JSON on scrape; the main
// thread aggregates them (main-thread.ts). Per request: one series lookup, then only arithmetic.
// The cells outlive config reloads: each config gets a view (its label choices) over the same cells.
import type { RequestContext } from '../pipeline/context.js';
import type { MetricsConfig } from './config.js';
import { metricFamilySources, peekObservations, queueDepthSources, type RequestObservations } from '../pipeline/observations.js';
import { LabelMaker, newLabelBounds, noneLabel, seriesKey, type LabelBounds, type RequestLabels } from './labels.js';
import { LoopLagWindow, loopDelayResolutionMs, type LoopDelayView } from './loop-lag.js';
import { CounterFamily, GaugeFamily, HistogramFamily, type CounterCell, type HistogramCell, type Labels, type MetricJson } from './metric-families.js';

// Bucket boundaries recommended by the OpenTelemetry GenAI semantic conventions.
const tokenBuckets = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
const durationBuckets = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
const ttftBuckets = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];
const perTokenBuckets = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5];
const overheadBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];


/** Per-request progress kept in ctx.state, so onComplete knows which gauges this request raised. */
interface Progress {
  inFlight: boolean;
  waiting: boolean;
  firstTokenMs: number | undefined;
}

/** Every cell one label set touches, resolved once per distinct label set. */
interface Series {
  /** seriesKey() of its labels. */
  key: string;
  sy: Labels;
  gen: Labels;
  requestsByStatus: Map<string, CounterCell>;
  durationByError: Map<string, HistogramCell>;
  tokensIn: CounterCell;
  tokensOut: CounterCell;
  tokensCached: CounterCell;
  cost: CounterCell;
  usageIn: HistogramCell;
  usageOut: HistogramCell;
  ttft: HistogramCell;
  perToken: HistogramCell;
}

export const metricsStateKey = 'observability.metrics';

/** How one config labels requests (metrics.key_label, max_label_values), over the thread's shared bounds. */
export class MetricLabels {
  readonly maker: LabelMaker;
  /** Per deployment, the series its last request used and what chose it: most requests repeat it. */
  readonly lastSeries = new WeakMap<object, { keyId?: string; keyName?: string; responseModel?: string; operation: string; series: Series }>();

  constructor(config: MetricsConfig, bounds: LabelBounds) {
    this.maker = new LabelMaker(config, bounds);
  }
}

export class ThreadMetrics {
  private readonly bounds: LabelBounds;
  private readonly defaultLabels: MetricLabels;
  private readonly loopLag: LoopLagWindow;
  private readonly series = new Map<string, Series>();
  private inFlight = 0;
  private waiting = 0;

  private readonly tokenUsage = new HistogramFamily('gen_ai_client_token_usage', 'Tokens used per request, by gen_ai_token_type (input/output).', tokenBuckets);
  private readonly ttft = new HistogramFamily(
    'gen_ai_server_time_to_first_token_seconds',
    'Time from request received to the first content token of a streamed response.',
    ttftBuckets,
  );
  private readonly perOutputToken = new HistogramFamily('gen_ai_server_time_per_output_token_seconds', 'Time per output token after the first one (streams).', perTokenBuckets);
  private readonly requestDuration = new HistogramFamily('gen_ai_server_request_duration_seconds', 'Time from request received to the end of the response.', durationBuckets);
  private readonly requests = new CounterFamily('switchyard_requests_total', 'Requests answered, by HTTP status.');
  private readonly tokens = new CounterFamily('switchyard_tokens_total', 'Tokens reported by upstreams, by type (input/output/cached).');
  private readonly cost = new CounterFamily('switchyard_cost_usd_total', 'Cost in USD of answered requests, as priced by the configured price table.');
  private readonly upstreamErrors = new CounterFamily('switchyard_upstream_errors_total', 'Failed upstream exchanges, by reason.');
  private readonly rateLimitRejections = new CounterFamily('switchyard_ratelimit_rejections_total', 'Requests refused by a rate limit or budget, by scope.');
  private readonly guardActions = new CounterFamily('switchyard_guardrail_actions_total', 'Guardrail verdicts, by guard and action.');
  private readonly attempts = new CounterFamily('switchyard_attempts_total', 'Upstream attempts, by deployment and how each ended (ok, failed, client_error, aborted).');
  private readonly retries: CounterCell;
  private readonly fallbacks: CounterCell;
  private readonly overhead: HistogramCell;
  private readonly families: Array<{ toJSON(): MetricJson }>;

  constructor(config: MetricsConfig, threadLabel: string) {
    this.bounds = newLabelBounds(config.max_label_values);
    this.defaultLabels = new MetricLabels(config, this.bounds);
    const retries = new CounterFamily('switchyard_retries_total', 'Upstream attempts beyond the first.');
    const fallbacks = new CounterFamily('switchyard_fallbacks_total', 'Requests moved to a fallback deployment.');
    const overhead = new HistogramFamily('switchyard_overhead_seconds', 'Time spent in the gateway itself (duration minus time waiting on the upstream).', overheadBuckets);
    this.retries = retries.cell('', () => ({}));
    this.fallbacks = fallbacks.cell('', () => ({}));
    this.overhead = overhead.cell('', () => ({}));

    this.loopLag = new LoopLagWindow();
    const loopLag = this.loopLag;
    const gauges = [
      new GaugeFamily('switchyard_in_flight_requests', 'Requests admitted and not yet finished.', () => [{ labels: {}, value: this.inFlight }]),
      new GaugeFamily('switchyard_waiting_first_token', 'Requests sent upstream that have not yet received their first token.', () => [
        { labels: {}, value: this.waiting },
      ]),
      new GaugeFamily('switchyard_event_loop_lag_seconds', loopLagHelp, () => eventLoopSamples(threadLabel, loopLag.window())),
      new GaugeFamily('switchyard_pool_queue_depth', 'Tasks waiting in a worker pool queue.', () =>
        [...queueDepthSources].map(([pool, source]) => ({ labels: { pool }, value: source() })),
      ),
    ];
    this.families = [
      this.tokenUsage,
      this.ttft,
      this.perOutputToken,
      this.requestDuration,
      this.requests,
      this.tokens,
      this.cost,
      ...gauges,
      this.upstreamErrors,
      this.rateLimitRejections,
      this.guardActions,
      this.attempts,
      retries,
      fallbacks,
      overhead,
    ];
  }

  /** Labels as `config` chooses them, counted into this thread's cells (a reloaded config gets its own). */
  labelsFor(config: MetricsConfig): MetricLabels {
    return new MetricLabels(config, this.bounds);
  }

  /** The same shape as prom-client's Registry.getMetricsAsJSON(). */
  toJSON(): MetricJson[] {
    const out = this.families.map((f) => f.toJSON());
    for (const source of metricFamilySources) out.push(...(source() as MetricJson[]));
    return out;
  }

  private progress(ctx: RequestContext): Progress {
    let p = ctx.state.get(metricsStateKey) as Progress | undefined;
    if (p === undefined) {
      p = { inFlight: false, waiting: false, firstTokenMs: undefined };
      ctx.state.set(metricsStateKey, p);
    }
    return p;
  }

  onAdmitted(ctx: RequestContext): void {
    const p = this.progress(ctx);
    if (!p.inFlight) {
      p.inFlight = true;
      this.inFlight++;
    }
  }

  onUpstreamStart(ctx: RequestContext): void {
    const p = this.progress(ctx);
    // A retry after an attempt that never produced a token is still the same waiting request.
    if (!p.waiting && p.firstTokenMs === undefined) {
      p.waiting = true;
      this.waiting++;
    }
  }

  onFirstToken(ctx: RequestContext, nowMs: number): void {
    const p = this.progress(ctx);
    if (p.firstTokenMs === undefined) p.firstTokenMs = nowMs - ctx.receivedAt;
    if (p.waiting) {
      p.waiting = false;
      this.waiting--;
    }
  }

  onComplete(ctx: RequestContext, labels: MetricLabels = this.defaultLabels): void {
    const p = ctx.state.get(metricsStateKey) as Progress | undefined;
    if (p?.waiting) this.waiting--;
    if (p?.inFlight) this.inFlight--;

    const r = ctx.result;
    const s = this.seriesOf(ctx, labels);
    const status = r.status === 0 ? 'none' : String(r.status);
    let requests = s.requestsByStatus.get(status);
    if (requests === undefined) {
      requests = this.requests.cell(`${s.key}\u0001${status}`, () => ({ ...s.sy, status }));
      s.requestsByStatus.set(status, requests);
    }
    requests.value++;

    const observed = peekObservations(ctx);
    if (observed) this.countObservations(observed, labels.maker);
    if (r.attempts > 1 && !(observed && observed.retries > 0)) this.retries.value += r.attempts - 1;
    const log = r.attemptLog;
    if (log !== undefined) {
      for (let i = 0; i < log.length; i++) {
        const { deployment, outcome } = log[i];
        this.attempts.cell(`${deployment}\u0001${outcome}`, () => ({ deployment, outcome })).value++;
      }
    }

    if (r.outcome === 'upstream_error') {
      const reason = labels.maker.reason(r.error?.code ?? `http_${r.status}`);
      const provider = s.sy.provider;
      this.upstreamErrors.cell(`${provider}\u0001${reason}`, () => ({ provider, reason })).value++;
    }
    if (ctx.deployment === undefined) return;

    const usage = r.usage;
    if (usage) {
      s.usageIn.observe(usage.promptTokens);
      s.tokensIn.value += usage.promptTokens;
      if (ctx.operation !== 'embeddings') {
        s.usageOut.observe(usage.completionTokens);
        s.tokensOut.value += usage.completionTokens;
      }
      s.tokensCached.value += usage.cachedTokens;
    }
    const cost = observed?.costUsd;
    if (cost !== undefined && cost > 0) s.cost.value += cost;

    if (r.durationMs !== undefined) {
      const errorType = r.outcome === 'ok' ? noneLabel : labels.maker.reason(r.error?.code ?? r.outcome);
      let duration = s.durationByError.get(errorType);
      if (duration === undefined) {
        duration = this.requestDuration.cell(`${s.key}\u0001${errorType}`, () => ({ ...s.gen, error_type: errorType }));
        s.durationByError.set(errorType, duration);
      }
      duration.observe(r.durationMs / 1000);
      if (r.upstreamMs !== undefined) this.overhead.observe(Math.max(0, r.durationMs - r.upstreamMs) / 1000);
    }
    const ttftMs = r.ttftMs ?? p?.firstTokenMs;
    if (ctx.stream && ttftMs !== undefined && r.outcome === 'ok') {
      s.ttft.observe(ttftMs / 1000);
      const out = usage?.completionTokens ?? 0;
      if (r.durationMs !== undefined && out > 1) s.perToken.observe((r.durationMs - ttftMs) / 1000 / (out - 1));
    }
  }

  private seriesOf(ctx: RequestContext, labels: MetricLabels): Series {
    const d = ctx.deployment;
    if (d === undefined) return this.seriesFor(labels.maker.forRequest(ctx));
    const responseModel = ctx.result.responseModel;
    // Compared by value: the limits stage gives each request a key object of its own.
    const keyId = ctx.key?.id;
    const keyName = ctx.key?.name;
    const last = labels.lastSeries.get(d);
    if (last !== undefined && last.keyId === keyId && last.keyName === keyName && last.responseModel === responseModel && last.operation === ctx.operation) {
      return last.series;
    }
    const series = this.seriesFor(labels.maker.forRequest(ctx));
    labels.lastSeries.set(d, { keyId, keyName, responseModel, operation: ctx.operation, series });
    return series;
  }

  private seriesFor(l: RequestLabels): Series {
    const key = seriesKey(l);
    let s = this.series.get(key);
    if (s !== undefined) return s;
    const sy: Labels = { model: l.model, provider: l.provider, deployment: l.deployment, key: l.key };
    const gen: Labels = {
      gen_ai_operation_name: l.operation,
      gen_ai_provider_name: l.provider,
      gen_ai_request_model: l.model,
      gen_ai_response_model: l.responseModel,
    };
    s = {
      key,
      sy,
      gen,
      requestsByStatus: new Map(),
      durationByError: new Map(),
      tokensIn: this.tokens.cell(`${key}\u0001input`, () => ({ ...sy, type: 'input' })),
      tokensOut: this.tokens.cell(`${key}\u0001output`, () => ({ ...sy, type: 'output' })),
      tokensCached: this.tokens.cell(`${key}\u0001cached`, () => ({ ...sy, type: 'cached' })),
      cost: this.cost.cell(key, () => sy),
      usageIn: this.tokenUsage.cell(`${key}\u0001input`, () => ({ ...gen, gen_ai_token_type: 'input' })),
      usageOut: this.tokenUsage.cell(`${key}\u0001output`, () => ({ ...gen, gen_ai_token_type: 'output' })),
      ttft: this.ttft.cell(key, () => gen),
      perToken: this.perOutputToken.cell(key, () => gen),
    };
    this.series.set(key, s);
    return s;
  }

  private countObservations(observed: RequestObservations, maker: LabelMaker): void {
    if (observed.rateLimitScope !== undefined) {
      const scope = maker.reason(observed.rateLimitScope);
      this.rateLimitRejections.cell(scope, () => ({ scope })).value++;
    }
    for (const v of observed.guardVerdicts) {
      const guard = maker.reason(v.guard);
      const action = maker.reason(v.action);
      this.guardActions.cell(`${guard}\u0001${action}`, () => ({ guard, action })).value++;
    }
    this.retries.value += observed.retries;
    this.fallbacks.value += observed.fallbacks;
  }

  close(): void {
    this.loopLag.stop();
  }
}

export const loopLagHelp = 'Event-loop delay of each thread over the last 10 seconds (p50, p99, max), whoever reads it.';

/**
 * p50/p99/max event-loop lag, in seconds (0 before the first sample). The window holds each whole
 * interval between its timer's runs: the lag is what exceeds the interval.
 */
export function eventLoopSamples(thread: string, h: LoopDelayView): Array<{ labels: Labels; value: number }> {
  const lag = (ns: number) => (Number.isFinite(ns) ? Math.max(0, ns / 1e6 - loopDelayResolutionMs) / 1e3 : 0);
  return [
    { labels: { thread, stat: 'p50' }, value: lag(h.percentile(50)) },
    { labels: { thread, stat: 'p99' }, value: lag(h.percentile(99)) },
    { labels: { thread, stat: 'max' }, value: lag(h.max) },
  ];
}
