// Routing as a feature: the main thread owns the shared deployment state (created before any server
// thread starts, handed to each), runs the active health checks, exports breaker and health metrics,
// and serves GET /admin/deployments. Server threads route in the request handler (src/pipeline/handler.ts).
import type { Feature } from '../pipeline/stage.js';
import { compileRoutes } from '../config/compile.js';
import { loadAdapters } from '../providers/registry.js';
import { deploymentsRoute } from './admin-route.js';
import { DeploymentStateTable } from './deployment-state.js';
import { stateKeysOf } from './compile-groups.js';
import { startHealthChecks, type HealthChecks } from './health-check.js';
import { routingMetrics } from './metrics.js';
import { CapacitySync, cappedMembers } from './capacity-sync.js';
import { connectRedis } from '../limits/redis-limiter.js';
import type { Redis } from 'ioredis';

export function createRoutingFeature(): Feature {
  let checks: HealthChecks | undefined;
  let sync: { capacity: CapacitySync; redis: Redis } | undefined;
  return {
    name: 'routing',
    async initMain(config, host) {
      const { keys, groups: names } = stateKeysOf(config);
      const table = DeploymentStateTable.create(keys, names);
      await loadAdapters(config.providers.map((p) => p.type));
      const { groups } = compileRoutes(config, table.memory);
      const registry = routingMetrics(groups);
      host.metricRegistries?.push(registry.registry);
      if (config.routing.health_checks.enabled) checks = startHealthChecks({ config, groups, table, metrics: registry });
      host.addAdminRoute(deploymentsRoute(groups, () => checks));
      const capped = cappedMembers(groups.values());
      // Health stays per node (each node's own view of its network path); capacity is shared when Redis is.
      if (config.limits.backend === 'redis' && capped.length > 0) {
        const redis = connectRedis(config.limits.redis, 'routing capacity');
        const capacity = new CapacitySync(redis, table, capped, config.limits.redis.key_prefix);
        capacity.start();
        sync = { capacity, redis };
      }
      return table.memory;
    },
    async closeMain() {
      await checks?.stop();
      checks = undefined;
      if (sync) {
        await sync.capacity.stop();
        sync.redis.disconnect();
        sync = undefined;
      }
    },
  };
}
