// Routing on the main thread: the shared deployment state (created before any server thread starts,
// handed to each), the active health checks, the capacity sync, breaker and health metrics, and
// GET /admin/deployments. A config reload keeps the state slots of deployments that still exist (so
// their breaker, health and latency carry over) and restarts the checks, the metrics and the capacity
// sync on the new groups.
import { isDeepStrictEqual } from 'node:util';
import type { Counter, Registry } from 'prom-client';
import type { SwitchyardConfig } from '../config/types.js';
import type { Feature, MainHost } from '../pipeline/stage.js';
import { compileRoutes } from '../config/compile.js';
import { loadAdapters } from '../providers/registry.js';
import { deploymentsRoute } from './admin-route.js';
import { DeploymentStateTable } from './deployment-state.js';
import { stateKeysOf } from './compile-groups.js';
import { startHealthChecks, type CheckDetail, type HealthChecks } from './health-check.js';
import type { ModelGroup } from './group.js';
import { routingMetrics, type RoutingMetrics } from './metrics.js';
import { CapacitySync, cappedMembers } from './capacity-sync.js';
import { connectRedis } from '../limits/redis-limiter.js';
import type { Redis } from 'ioredis';

/** The groups GET /admin/deployments shows: swapped by a reload. */
class CurrentGroups implements ReadonlyMap<string, ModelGroup> {
  constructor(public groups: ReadonlyMap<string, ModelGroup> = new Map()) {}
  get size(): number {
    return this.groups.size;
  }
  get(name: string): ModelGroup | undefined {
    return this.groups.get(name);
  }
  has(name: string): boolean {
    return this.groups.has(name);
  }
  forEach(fn: (group: ModelGroup, name: string, map: ReadonlyMap<string, ModelGroup>) => void): void {
    this.groups.forEach((group, name) => fn(group, name, this));
  }
  entries(): MapIterator<[string, ModelGroup]> {
    return this.groups.entries();
  }
  keys(): MapIterator<string> {
    return this.groups.keys();
  }
  values(): MapIterator<ModelGroup> {
    return this.groups.values();
  }
  [Symbol.iterator](): MapIterator<[string, ModelGroup]> {
    return this.groups.entries();
  }
}

const healthCheckCounter = 'switchyard_health_checks_total';

/** What the groups, checks and capacity sync are built from: a reload that leaves it alone leaves them running. */
const routingInputs = (config: SwitchyardConfig) => [config.providers, config.models, config.routing, config.prices, config.limits.backend, config.limits.redis];

/** Carries the health-check counts of the deployments still configured into the new registry. */
async function carryCounts(from: Registry, to: Registry, keep: ReadonlySet<string>): Promise<void> {
  const before = from.getSingleMetric(healthCheckCounter) as Counter | undefined;
  const after = to.getSingleMetric(healthCheckCounter) as Counter | undefined;
  if (before === undefined || after === undefined) return;
  for (const { labels, value } of (await before.get()).values) if (keep.has(String(labels.deployment))) after.inc(labels, value);
}

/** What the main thread runs routing from: one config's groups over one assignment of state slots. */
interface Applied {
  readonly config: SwitchyardConfig;
  readonly table: DeploymentStateTable;
  readonly groups: ReadonlyMap<string, ModelGroup>;
  readonly metrics: RoutingMetrics;
}

/** The main thread's side of routing; server threads never load this module. */
export function createRoutingMain(): Required<Pick<Feature, 'initMain' | 'reloadMain' | 'abortMain' | 'closeMain'>> {
  let applied: Applied | undefined;
  /** What a reload replaced, until the reload is known to have gone ahead (abortMain puts it back). */
  let undo: Applied | undefined;
  let checks: HealthChecks | undefined;
  /** The last check of each deployment seen by checks a reload stopped, until the new ones have checked it. */
  let carried = new Map<string, CheckDetail>();
  let sync: { capacity: CapacitySync; redis: Redis } | undefined;
  const current = new CurrentGroups();
  const details: HealthChecks = {
    detail: (key) => checks?.detail(key) ?? carried.get(key),
    stop: async () => undefined,
  };

  /** Starts the health checks and capacity sync of `state` (the previous ones stopped) and shows its groups. */
  function start(state: Applied): void {
    const { config, groups, table, metrics } = state;
    applied = state;
    current.groups = groups;
    if (config.routing.health_checks.enabled) checks = startHealthChecks({ config, groups, table, metrics });
    const capped = cappedMembers(groups.values());
    // Health stays per node (each node's own view of its network path); capacity is shared when Redis is.
    if (config.limits.backend === 'redis' && capped.length > 0) {
      const redis = sync?.redis ?? connectRedis(config.limits.redis, 'routing capacity');
      const capacity = new CapacitySync(redis, table, capped, config.limits.redis.key_prefix);
      capacity.start();
      sync = { capacity, redis };
    } else if (sync) {
      sync.redis.disconnect();
      sync = undefined;
    }
  }

  async function stopRunning(): Promise<void> {
    await checks?.stop();
    checks = undefined;
    await sync?.capacity.stop();
  }

  /** Puts `next`'s metrics where `was`'s were among the main thread's registries. */
  function swapRegistry(host: MainHost, was: Registry, next: Registry): void {
    const registries = host.metricRegistries as Registry[] | undefined;
    const at = registries?.indexOf(was) ?? -1;
    if (registries && at >= 0) registries[at] = next;
    else registries?.push(next);
  }

  return {
    async initMain(config: SwitchyardConfig, host: MainHost) {
      const { keys, groups: names } = stateKeysOf(config);
      const table = DeploymentStateTable.create(keys, names);
      await loadAdapters(config.providers.map((p) => p.type));
      const { groups } = compileRoutes(config, table.memory);
      const metrics = routingMetrics(groups);
      host.metricRegistries?.push(metrics.registry);
      start({ config, table, groups, metrics });
      host.addAdminRoute(deploymentsRoute(current, () => details));
      return table.memory;
    },
    async reloadMain(config: SwitchyardConfig, host: MainHost) {
      const was = applied;
      if (was === undefined) throw new Error('routing: reload before start');
      undo = undefined;
      if (isDeepStrictEqual(routingInputs(config), routingInputs(was.config))) return was.table.memory;
      const { keys, groups: names } = stateKeysOf(config);
      // Everything that can fail comes before anything running is touched.
      const memory = was.table.reassign(keys, names);
      await loadAdapters(config.providers.map((p) => p.type));
      const { groups } = compileRoutes(config, memory);
      const metrics = routingMetrics(groups);
      const kept = new Set(keys);
      await carryCounts(was.metrics.registry, metrics.registry, kept);
      const nextCarried = new Map<string, CheckDetail>();
      for (const key of kept) {
        const detail = details.detail(key);
        if (detail !== undefined) nextCarried.set(key, detail);
      }
      await stopRunning();
      swapRegistry(host, was.metrics.registry, metrics.registry);
      carried = nextCarried;
      undo = was;
      start({ config, table: new DeploymentStateTable(memory), groups, metrics });
      return memory;
    },
    async abortMain(host: MainHost) {
      const back = undo;
      undo = undefined;
      if (back === undefined || applied === undefined) return;
      // The server threads never left the slots of `back`: routing goes back to them, state and all.
      await stopRunning();
      swapRegistry(host, applied.metrics.registry, back.metrics.registry);
      start(back);
    },
    async closeMain() {
      await stopRunning();
      sync?.redis.disconnect();
      sync = undefined;
    },
  };
}
