// Routing metrics on the main thread, read from the shared state table at scrape time (so every
// server thread's updates count once): breaker state and transitions, in flight, latency EWMAs,
// health, and the active health checks' results. Labelled by deployment state key (`provider/model`),
// as the request metrics are.
import { Counter, Gauge, Registry } from 'prom-client';
import { I } from './deployment-state.js';
import type { ModelGroup } from './group.js';
import type { LiveDeployment } from './live-deployment.js';

export interface RoutingMetrics {
  readonly registry: Registry;
  /** An active health check ended: healthy, down, rate_limited, quota_exhausted. */
  healthCheck(deployment: string, result: string): void;
}

export function routingMetrics(groups: ReadonlyMap<string, ModelGroup>): RoutingMetrics {
  const registry = new Registry();
  const byKey = new Map<string, LiveDeployment>();
  for (const g of groups.values()) for (const m of g.members) if (!byKey.has(m.deployment.stateKey)) byKey.set(m.deployment.stateKey, m);
  const members = [...byKey.values()];
  const read = (field: number) => members.map((m) => ({ deployment: m.deployment.stateKey, value: m.table.int(m.slot, field) }));

  new Gauge({
    name: 'switchyard_deployment_in_flight',
    help: 'Attempts in flight to the deployment, across server threads.',
    labelNames: ['deployment'],
    registers: [registry],
    collect() {
      for (const { deployment, value } of read(I.inFlight)) this.set({ deployment }, value);
    },
  });
  new Gauge({
    name: 'switchyard_deployment_breaker_state',
    help: 'Circuit breaker: 0 closed, 1 open, 2 half-open.',
    labelNames: ['deployment'],
    registers: [registry],
    collect() {
      for (const { deployment, value } of read(I.breaker)) this.set({ deployment }, value);
    },
  });
  new Gauge({
    name: 'switchyard_deployment_health',
    help: 'Active health: 0 unknown, 1 healthy, 2 down, 3 quota exhausted, 4 rate limited.',
    labelNames: ['deployment'],
    registers: [registry],
    collect() {
      for (const { deployment, value } of read(I.health)) this.set({ deployment }, value);
    },
  });
  new Gauge({
    name: 'switchyard_deployment_latency_ewma_seconds',
    help: 'Latency EWMA the least_latency strategy ranks by: duration (non-streamed) or time to first token (streams).',
    labelNames: ['deployment', 'kind'],
    registers: [registry],
    collect() {
      for (const m of members) {
        const deployment = m.deployment.stateKey;
        this.set({ deployment, kind: 'duration' }, m.latencyUs(false) / 1e6);
        this.set({ deployment, kind: 'ttft' }, m.latencyUs(true) / 1e6);
      }
    },
  });
  new Counter({
    name: 'switchyard_breaker_transitions_total',
    help: 'Circuit breaker transitions, by the state entered.',
    labelNames: ['deployment', 'to'],
    registers: [registry],
    collect() {
      this.reset();
      for (const m of members) {
        const deployment = m.deployment.stateKey;
        this.inc({ deployment, to: 'open' }, m.table.int(m.slot, I.toOpen));
        this.inc({ deployment, to: 'half_open' }, m.table.int(m.slot, I.toHalfOpen));
        this.inc({ deployment, to: 'closed' }, m.table.int(m.slot, I.toClosed));
      }
    },
  });
  const checks = new Counter({
    name: 'switchyard_health_checks_total',
    help: 'Active health checks, by result.',
    labelNames: ['deployment', 'result'],
    registers: [registry],
  });
  return { registry, healthCheck: (deployment, result) => checks.inc({ deployment, result }) };
}
