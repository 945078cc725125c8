// Active health checks (main thread): a tiny real POST per deployment state key on a jittered interval,
// its result turned into the key's health in the shared table (which every server thread routes by)
// through the failure and success thresholds. One loop per key, one check in flight per loop.
import { Agent } from 'undici';
import type { SwitchyardConfig } from '../config/types.js';
import { providerSecrets, SecretRedactor } from '../pipeline/secret-redaction.js';
import { log } from '../shared/log.js';
import { deploymentsOf } from './compile-groups.js';
import type { HealthCheckConfig } from './config.js';
import { Health, healthNames, I, T, type DeploymentStateTable } from './deployment-state.js';
import type { ModelGroup } from './group.js';
import { buildProbe, sendProbe, type CheckResult, type Probe, type ProbeResult } from './health-probe.js';
import type { LiveDeployment } from './live-deployment.js';
import type { RoutingMetrics } from './metrics.js';

/** The last check of one deployment, for GET /admin/deployments. */
export interface CheckDetail {
  at: string;
  result: CheckResult;
  status: number | null;
  message: string | null;
  duration_ms: number;
}

export interface HealthChecks {
  detail(stateKey: string): CheckDetail | undefined;
  stop(): Promise<void>;
}

export interface HealthCheckOptions {
  config: SwitchyardConfig;
  groups: ReadonlyMap<string, ModelGroup>;
  table: DeploymentStateTable;
  metrics: RoutingMetrics;
  /** The schedule's random numbers in [0, 1); Math.random unless a test pins them. */
  random?: () => number;
}

/** setTimeout fires at once for a longer delay. */
const longestTimer = 2 ** 31 - 1;

/** The first check of a key: anywhere in the first interval, so a restart does not check everything at once. */
export function firstCheckDelay(intervalMs: number, random: () => number): number {
  return Math.floor(random() * intervalMs);
}

/** The wait after a check: the interval (or the quota interval after insufficient_quota) spread by ±jitter. */
export function nextCheckDelay(checks: Pick<HealthCheckConfig, 'interval_ms' | 'quota_interval_ms' | 'jitter'>, result: CheckResult, random: () => number): number {
  const base = result === 'quota_exhausted' ? checks.quota_interval_ms : checks.interval_ms;
  const spread = checks.jitter * (2 * random() - 1);
  return Math.min(longestTimer, Math.max(0, Math.round(base * (1 + spread))));
}

/**
 * One deployment per state key to check. A key (shared by groups naming the same provider and model) is
 * checked unless every deployment using it says `health_check: false`; the one-provider form always is.
 */
export function checkedDeployments(config: SwitchyardConfig, groups: ReadonlyMap<string, ModelGroup>): LiveDeployment[] {
  const byKey = new Map<string, { member: LiveDeployment; on: boolean }>();
  for (const model of config.models) {
    const group = groups.get(model.name);
    if (group === undefined) continue;
    // compile-groups.ts builds a group's members in the order its deployments are declared.
    const declared = deploymentsOf(model);
    group.members.forEach((member, i) => {
      const on = declared[i]?.health_check !== false;
      const key = member.deployment.stateKey;
      const seen = byKey.get(key);
      if (seen === undefined || (on && !seen.on)) byKey.set(key, { member, on });
    });
  }
  return [...byKey.values()].filter((entry) => entry.on).map((entry) => entry.member);
}

export interface Thresholds {
  unhealthy_after: number;
  healthy_after: number;
  /** Longest Retry-After honoured as a cooldown. */
  max_cooldown_ms: number;
}

/**
 * Writes one check's result to the key's slot and returns the health before and after. A failed check
 * (no answer, 5xx, a refusing 4xx) counts toward `unhealthy_after`, a good one toward `healthy_after`;
 * insufficient_quota takes the key out at once; a plain 429 marks it rate limited, which keeps it in
 * rotation (it answers; the passive cooldown handles the saturation) but honours the Retry-After given.
 */
export function recordCheck(table: DeploymentStateTable, slot: number, outcome: ProbeResult, limits: Thresholds, now: number): { before: Health; after: Health } {
  const before = table.int(slot, I.health) as Health;
  let after = before;
  table.setTime(slot, T.checkedAt, now);
  switch (outcome.result) {
    case 'healthy': {
      table.setInt(slot, I.checkFailures, 0);
      const successes = table.addInt(slot, I.checkSuccesses, 1);
      if (before === Health.Unknown || successes >= limits.healthy_after) after = Health.Healthy;
      break;
    }
    case 'down': {
      table.setInt(slot, I.checkSuccesses, 0);
      const failures = table.addInt(slot, I.checkFailures, 1);
      if (failures >= limits.unhealthy_after) after = Health.Down;
      break;
    }
    case 'quota_exhausted':
      table.setInt(slot, I.checkFailures, 0);
      table.setInt(slot, I.checkSuccesses, 0);
      after = Health.QuotaExhausted;
      break;
    case 'rate_limited': {
      table.setInt(slot, I.checkFailures, 0);
      table.setInt(slot, I.checkSuccesses, 0);
      after = Health.RateLimited;
      const wait = Math.min(outcome.retryAfterMs ?? 0, limits.max_cooldown_ms);
      if (wait > 0) table.setTime(slot, T.cooldownUntil, Math.max(table.time(slot, T.cooldownUntil), now + wait));
      break;
    }
  }
  if (after !== before) table.setInt(slot, I.health, after);
  return { before, after };
}

function logTransition(key: string, before: Health, after: Health, outcome: ProbeResult, nextMs: number): void {
  if (before === after) return;
  const fields = { deployment: key, was: healthNames[before], status: outcome.status, message: outcome.message, next_check_ms: nextMs };
  if (after === Health.Down) log.warn('deployment down: its health checks failed; out of rotation until they pass', fields);
  else if (after === Health.QuotaExhausted) log.warn('deployment out of credit (insufficient_quota): out of rotation until a check passes', fields);
  else if (after === Health.RateLimited) log.info('deployment rate limited by its provider: it stays in rotation', fields);
  else if (before !== Health.Unknown) log.info('deployment healthy again: back in rotation', { deployment: key, was: healthNames[before] });
}

interface CheckLoop {
  readonly key: string;
  readonly slot: number;
  readonly probe: Probe;
  timer: NodeJS.Timeout | undefined;
  /** The check in flight. */
  running: Promise<void> | undefined;
}

export function startHealthChecks(options: HealthCheckOptions): HealthChecks {
  const { config, groups, table, metrics } = options;
  const checks = config.routing.health_checks;
  const random = options.random ?? Math.random;
  const limits: Thresholds = { ...checks, max_cooldown_ms: config.routing.max_cooldown_ms };
  const redactor = new SecretRedactor(providerSecrets(config.providers));
  // Its own connections: the checks neither wait behind nor warm the gateway's upstream pools.
  const dispatcher = new Agent({ connect: { timeout: checks.timeout_ms } });
  const stopping = new AbortController();
  const details = new Map<string, CheckDetail>();
  const loops: CheckLoop[] = [];

  for (const member of checkedDeployments(config, groups)) {
    const key = member.deployment.stateKey;
    try {
      loops.push({ key, slot: member.slot, probe: buildProbe(member.deployment, checks.body), timer: undefined, running: undefined });
    } catch (err) {
      log.error('health checks: the check body cannot be sent to this deployment; it is not checked', { deployment: key, error: (err as Error).message });
    }
  }

  const schedule = (loop: CheckLoop, delayMs: number): void => {
    if (stopping.signal.aborted) return;
    loop.timer = setTimeout(() => {
      loop.timer = undefined;
      loop.running = run(loop).finally(() => {
        loop.running = undefined;
      });
    }, delayMs);
    loop.timer.unref();
  };

  const run = async (loop: CheckLoop): Promise<void> => {
    let outcome: ProbeResult | undefined;
    try {
      outcome = await sendProbe(loop.probe, { timeoutMs: checks.timeout_ms, dispatcher, stop: stopping.signal, redactor });
    } catch (err) {
      outcome = { result: 'down', status: null, message: `the check failed: ${redactor.redact((err as Error).message)}`, retryAfterMs: undefined, durationMs: 0 };
    }
    if (outcome === undefined || stopping.signal.aborted) return;
    const now = Date.now();
    const { before, after } = recordCheck(table, loop.slot, outcome, limits, now);
    details.set(loop.key, { at: new Date(now).toISOString(), result: outcome.result, status: outcome.status, message: outcome.message, duration_ms: outcome.durationMs });
    metrics.healthCheck(loop.key, outcome.result);
    const nextMs = nextCheckDelay(checks, outcome.result, random);
    logTransition(loop.key, before, after, outcome, nextMs);
    schedule(loop, nextMs);
  };

  for (const loop of loops) schedule(loop, firstCheckDelay(checks.interval_ms, random));

  let stopped: Promise<void> | undefined;
  return {
    detail: (stateKey) => details.get(stateKey),
    stop: () =>
      (stopped ??= (async () => {
        stopping.abort();
        for (const loop of loops) clearTimeout(loop.timer);
        await Promise.all(loops.map((loop) => loop.running));
        await dispatcher.destroy();
      })()),
  };
}
