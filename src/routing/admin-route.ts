// GET /admin/deployments: every model group and its deployments as the router sees them now.
import type { AdminRoute } from '../pipeline/stage.js';
import { breakerNames, failureKindName, healthNames, I, T } from './deployment-state.js';
import type { ModelGroup } from './group.js';
import type { HealthChecks } from './health-check.js';

export function deploymentsRoute(groups: ReadonlyMap<string, ModelGroup>, checks: () => HealthChecks | undefined): AdminRoute {
  return {
    method: 'GET',
    path: '/admin/deployments',
    handle() {
      const now = Date.now();
      const models = [...groups.values()].map((g) => ({
        model: g.name,
        strategy: g.policy.strategy,
        fallbacks: g.policy.fallbacks,
        max_attempts: g.policy.maxAttempts,
        deployments: g.members.map((m) => {
          const t = m.table;
          const s = m.slot;
          const d = m.deployment;
          const used = m.capacity.used(now);
          const window = m.breaker.windowCounts(now);
          const lastErrorAt = t.time(s, T.lastErrorAt);
          const cooldownUntil = t.time(s, T.cooldownUntil);
          const breakerUntil = t.time(s, T.breakerUntil);
          const breaker = breakerNames[t.int(s, I.breaker)] ?? 'closed';
          return {
            id: d.id,
            state_key: d.stateKey,
            provider: d.provider.name,
            provider_type: d.provider.type,
            upstream_model: d.upstreamModel,
            priority: m.priority,
            weight: m.weight,
            in_rotation: m.outOfRotation(now) === undefined,
            out_of_rotation: m.outOfRotation(now) ?? null,
            health: healthNames[t.int(s, I.health)] ?? 'unknown',
            last_check: checks()?.detail(d.stateKey) ?? null,
            breaker: { state: breaker, until: breaker === 'open' && breakerUntil > 0 ? new Date(breakerUntil).toISOString() : null, consecutive_failures: t.int(s, I.consecutiveFailures), window_ok: window.ok, window_failed: window.failed },
            cooldown_until: cooldownUntil > now ? new Date(cooldownUntil).toISOString() : null,
            in_flight: m.inFlight(),
            max_in_flight: m.maxInFlight ?? null,
            latency_ewma_ms: { duration: m.latencyUs(false) / 1000, ttft: m.latencyUs(true) / 1000 },
            capacity: {
              rpm: m.capacity.limits.rpm ?? null,
              tpm: m.capacity.limits.tpm ?? null,
              used_requests: Math.round(used.requests),
              used_tokens: Math.round(used.tokensUsed),
              remaining_share: m.capacity.limited ? Math.max(0, m.capacity.remaining(now, 0)) : null,
            },
            context_window: m.contextWindow ?? null,
            last_error:
              lastErrorAt > 0 ? { at: new Date(lastErrorAt).toISOString(), status: t.int(s, I.lastErrorStatus), kind: failureKindName(t.int(s, I.lastErrorKind)) } : null,
          };
        }),
      }));
      return { status: 200, body: { models } };
    },
  };
}
