// GET /admin/stats: a main-thread sampler reads the merged metrics every step (10 s) and keeps the last
// 60 minutes of per-step deltas in memory for the dashboard.
import type { AdminRoute } from '../../pipeline/stage.js';
import { errors, GatewayError } from '../../shared/errors.js';
import { log } from '../../shared/log.js';
import { families, snapshotOf, stepBetween, type DeploymentCounts, type GroupCounts, type MetricJson, type Snapshot, type Step } from './stats-math.js';

export const defaultStepMs = 10_000;
export const retentionMs = 60 * 60 * 1000;
/** A test stepping every few milliseconds must not grow the window without bound. */
const maxSteps = 3600;

export interface StatsBody {
  step_seconds: number;
  times: number[];
  totals: Record<keyof Step['totals'], number[]>;
  by_model: Record<string, Record<keyof GroupCounts, number[]>>;
  by_key: Record<string, Record<keyof GroupCounts, number[]>>;
  by_deployment: Record<string, Record<keyof DeploymentCounts, number[]>>;
  latency: Record<keyof Step['latency'], Array<number | null>>;
  now: { in_flight: number; waiting_first_token: number };
}

export interface SamplerOptions {
  stepMs: number;
  now?: () => number;
}

/** The step from SWITCHYARD_STATS_STEP_MS (meant for tests), else 10 s. */
export function stepFromEnv(value = process.env.SWITCHYARD_STATS_STEP_MS): number {
  if (value === undefined || value === '') return defaultStepMs;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 10) throw new Error(`SWITCHYARD_STATS_STEP_MS must be an integer number of milliseconds >= 10, got '${value}'`);
  return n;
}

export class StatsSampler {
  private readonly steps: Step[] = [];
  private readonly capacity: number;
  private readonly now: () => number;
  private last: Snapshot | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> | undefined;

  constructor(
    /** The merged metrics of every thread; undefined when no feature provides them. */
    private readonly source: () => Promise<MetricJson[]> | undefined,
    readonly options: SamplerOptions,
  ) {
    this.capacity = Math.min(maxSteps, Math.ceil(retentionMs / options.stepMs));
    this.now = options.now ?? Date.now;
  }

  /** Takes the first sample (the baseline the first step is measured from), then one every step. */
  async start(): Promise<void> {
    await this.sample();
    this.timer = setInterval(() => void this.sample(), this.options.stepMs);
    this.timer.unref();
  }

  /** Stops sampling. A sample still waiting on the threads is not awaited (at shutdown they may be gone). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One sample; a tick while the previous one still waits on the threads is skipped. */
  sample(): Promise<void> {
    this.sampling ??= this.takeSample().finally(() => (this.sampling = undefined));
    return this.sampling;
  }

  /** Samples the source and records the step since the last one (the first only sets the baseline). */
  private async takeSample(): Promise<void> {
    let metrics: MetricJson[] | undefined;
    try {
      metrics = await this.source();
    } catch (err) {
      // The next sample measures from the last good one, so nothing is lost but the step boundary.
      log.warn('admin stats: metrics sample failed', { error: (err as Error)?.message });
      return;
    }
    if (metrics === undefined) return;
    this.record(snapshotOf(metrics), this.now());
  }

  /** Adds a snapshot taken at `timeMs` (also for tests feeding snapshots by hand). */
  record(snapshot: Snapshot, timeMs: number): void {
    if (this.last !== undefined) {
      // Whole seconds at the normal step; a test's sub-second steps keep their milliseconds.
      const time = this.options.stepMs >= 1000 ? Math.round(timeMs / 1000) : timeMs / 1000;
      this.steps.push(stepBetween(this.last, snapshot, time));
      if (this.steps.length > this.capacity) this.steps.splice(0, this.steps.length - this.capacity);
    }
    this.last = snapshot;
  }

  get available(): boolean {
    return this.last !== undefined;
  }

  /** The steps of the last `minutes` (those recorded so far), oldest first. */
  render(minutes: number): StatsBody {
    const count = Math.max(1, Math.ceil((minutes * 60_000) / this.options.stepMs));
    const steps = this.steps.slice(-count);
    const n = steps.length;
    const zeros = () => new Array<number>(n).fill(0);
    const body: StatsBody = {
      step_seconds: this.options.stepMs / 1000,
      times: steps.map((s) => s.time),
      totals: {
        requests: steps.map((s) => s.totals.requests),
        errors: steps.map((s) => s.totals.errors),
        prompt_tokens: steps.map((s) => s.totals.prompt_tokens),
        completion_tokens: steps.map((s) => s.totals.completion_tokens),
        cost_usd: steps.map((s) => s.totals.cost_usd),
        rate_limited: steps.map((s) => s.totals.rate_limited),
        guard_actions: steps.map((s) => s.totals.guard_actions),
      },
      by_model: {},
      by_key: {},
      by_deployment: {},
      latency: {
        ttft_ms_p50: steps.map((s) => s.latency.ttft_ms_p50),
        ttft_ms_p99: steps.map((s) => s.latency.ttft_ms_p99),
        duration_ms_p50: steps.map((s) => s.latency.duration_ms_p50),
        duration_ms_p99: steps.map((s) => s.latency.duration_ms_p99),
      },
      now: {
        in_flight: this.last?.gauges.get(families.inFlight) ?? 0,
        waiting_first_token: this.last?.gauges.get(families.waiting) ?? 0,
      },
    };
    const groupFields = ['requests', 'errors', 'tokens', 'cost_usd'] as const;
    const deploymentFields = ['requests', 'errors'] as const;
    steps.forEach((step, i) => {
      spread(body.by_model, step.byModel, groupFields, i, zeros);
      spread(body.by_key, step.byKey, groupFields, i, zeros);
      spread(body.by_deployment, step.byDeployment, deploymentFields, i, zeros);
    });
    return body;
  }
}

function spread<F extends string>(
  out: Record<string, Record<F, number[]>>,
  groups: Map<string, Record<F, number>>,
  fields: readonly F[],
  index: number,
  zeros: () => number[],
): void {
  for (const [name, counts] of groups) {
    let series = out[name];
    if (series === undefined) {
      series = Object.fromEntries(fields.map((f) => [f, zeros()])) as Record<F, number[]>;
      out[name] = series;
    }
    for (const f of fields) series[f][index] = counts[f];
  }
}

export function parseMinutes(raw: string | null): number {
  if (raw === null || raw === '') return 15;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 60) throw errors.invalidParam('minutes', `'minutes' must be an integer from 1 to 60, got '${raw}'.`);
  return n;
}

export function statsRoute(sampler: StatsSampler, metricsEnabled: () => boolean): AdminRoute {
  return {
    method: 'GET',
    path: '/admin/stats',
    handle(req) {
      const minutes = parseMinutes(req.query.get('minutes'));
      if (!metricsEnabled()) {
        throw new GatewayError(503, 'Dashboard stats are computed from the metrics, and metrics.enabled is false.', { type: 'api_error', code: 'metrics_disabled' });
      }
      if (!sampler.available) {
        throw new GatewayError(503, 'No metrics sample yet: the metrics service is not available.', { type: 'api_error', code: 'stats_unavailable' });
      }
      return { status: 200, body: sampler.render(minutes) };
    },
  };
}
