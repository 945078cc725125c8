// The limits feature on the main thread: the shared table, the key registry and its store, the admin
// routes, and what a config reload changes (src/limits/reload.ts): prepared in reload(), undone by abort().
import type { Redis } from 'ioredis';
import type { SwitchyardConfig } from '../config/types.js';
import type { MainHost, PlaygroundKeyView } from '../pipeline/stage.js';
import { log } from '../shared/log.js';
import { limitsAdminRoutes } from './admin-routes.js';
import type { LimitsSection } from './config.js';
import { FileKeyStore, LimitsFileStore } from './file-store.js';
import { KeyRegistry, RowsExhaustedError, type ConfigPlan, type ConfigState, type KeyStore } from './key-registry.js';
import { connectRedis, RedisLimiter, redisReady } from './redis-limiter.js';
import { RedisKeyStore } from './redis-store.js';
import { limitsRestartProblems, sameLimitsInputs } from './reload.js';
import { KEYS_MESSAGE, type SharedLimits } from './shared-limits.js';
import { SharedCounterTable } from './shared-table.js';

export interface LimitsMain {
  /** The generation the server threads serve (or are being given by a reload in progress). */
  readonly shared: SharedLimits;
  readonly registry: KeyRegistry;
  /** The value for a server thread started now: the generation serving, with the keys created since. */
  sharedForNewThread(): SharedLimits;
  /**
   * Adopts `config` and returns the generation for the threads (the serving one when the limits sections
   * did not change). Throws, changing nothing, when it needs a restart or does not fit the table.
   */
  reload(config: SwitchyardConfig): SharedLimits;
  /** The reload last asked for did not go ahead: back to exactly the state before it. */
  abort(): void;
  keyView(id: string): PlaygroundKeyView | undefined;
  close(): Promise<void>;
}

/** A setInterval whose period a reload may change. */
class Repeating {
  private timer: NodeJS.Timeout | undefined;
  private ms = 0;

  constructor(private readonly run: () => void) {}

  every(ms: number): void {
    if (this.timer !== undefined && ms === this.ms) return;
    this.stop();
    this.ms = ms;
    this.timer = setInterval(this.run, ms);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** How often the main thread refreshes keys from Redis, or writes usage to the file store. */
const periodOf = (cfg: LimitsSection) => (cfg.backend === 'redis' ? cfg.redis.key_refresh_ms : cfg.persist_interval_ms);

/** What a reload replaced, until it is known whether it went ahead. */
interface Undo {
  readonly config: SwitchyardConfig;
  readonly shared: SharedLimits;
  readonly state: ConfigState;
}

/** Main-thread setup; exported on its own so tests and the bench can drive it with their own host. */
export async function startLimitsMain(config: SwitchyardConfig, host: MainHost): Promise<LimitsMain> {
  const cfg = config.limits;
  const table = new SharedCounterTable(cfg.max_rows);
  let redis: Redis | undefined;
  let redisLimiter: RedisLimiter | undefined;
  let store: KeyStore;
  if (cfg.backend === 'redis') {
    redis = connectRedis(cfg.redis, 'main');
    if (!(await redisReady(redis, Math.max(2000, cfg.redis.timeout_ms * 10)))) {
      log.error('limits: redis not reachable at startup; keys from the config file only until it is', {});
    }
    store = new RedisKeyStore(redis, cfg.redis.key_prefix);
    redisLimiter = new RedisLimiter(redis, cfg.redis, table);
  } else {
    store = new FileKeyStore(new LimitsFileStore(host.dataDir));
  }
  const registry = new KeyRegistry(table, config, store);
  try {
    await registry.init();
  } catch (err) {
    if (cfg.backend !== 'redis') throw err;
    await registry.initWithoutStore();
  }

  let current = config;
  let shared: SharedLimits = {
    table: table.buffer,
    generation: 0,
    configKeys: registry.configSnapshot(),
    adminKeys: registry.adminSnapshot(),
    modelRows: registry.modelRows(),
    playgroundToken: host.playgroundToken,
  };
  /** Never goes down, so a generation a refused reload prepared is never reused. */
  let lastGeneration = 0;
  let undo: Undo | undefined;

  const publish = async (): Promise<void> => {
    await host.gather(KEYS_MESSAGE, registry.adminSnapshot());
  };
  let repeating: Repeating;
  if (redisLimiter) {
    let version = '';
    repeating = new Repeating(() => {
      void (async () => {
        try {
          const v = await store.keysVersion!();
          if (v === version) return;
          version = v;
          if (await registry.reloadKeys()) await publish();
        } catch (err) {
          log.warn('limits: key refresh from redis failed', { error: (err as Error).message });
        }
      })();
    });
  } else {
    repeating = new Repeating(() => {
      registry.persistUsage().catch((err: Error) => log.error('limits: persisting usage failed', { error: err.message }));
    });
  }
  repeating.every(periodOf(cfg));

  const limiter = redisLimiter;
  for (const route of limitsAdminRoutes({
    registry,
    publish,
    usage: async (id) => (limiter ? limiter.usage(id) : registry.usageOf(id)),
    status: () => ({
      backend: current.limits.backend,
      auth: current.auth,
      keys: registry.list().length,
      redis: table.redisFailures(),
    }),
  })) {
    host.addAdminRoute(route);
  }

  const keyView = (id: string): PlaygroundKeyView | undefined => {
    const r = registry.get(id);
    return r && { id: r.id, name: r.name, models: r.models, revoked: r.revoked_at !== null };
  };
  (host.services ??= {}).keyView = keyView;

  return {
    get shared() {
      return shared;
    },
    registry,
    sharedForNewThread: () => ({ ...shared, adminKeys: registry.adminSnapshot() }),
    reload(next) {
      undo = undefined;
      const problems = limitsRestartProblems(current, next);
      if (problems.length > 0) throw new Error(problems.join('; '));
      if (sameLimitsInputs(current, next)) return shared;
      let plan: ConfigPlan;
      try {
        plan = registry.planConfig(next);
      } catch (err) {
        if (err instanceof RowsExhaustedError) throw new Error(`keys, limits.models: ${err.message}, which needs a restart`);
        throw err;
      }
      undo = { config: current, shared, state: registry.configState() };
      registry.adoptConfig(plan);
      current = next;
      shared = {
        table: table.buffer,
        generation: ++lastGeneration,
        configKeys: registry.configSnapshot(),
        adminKeys: registry.adminSnapshot(),
        modelRows: registry.modelRows(),
        limitValues: plan.limitValues,
        playgroundToken: host.playgroundToken,
      };
      repeating.every(periodOf(next.limits));
      return shared;
    },
    abort() {
      const back = undo;
      undo = undefined;
      if (back === undefined) return;
      registry.adoptConfig(back.state);
      current = back.config;
      shared = back.shared;
      repeating.every(periodOf(current.limits));
    },
    keyView,
    async close() {
      repeating.stop();
      if (!limiter) await registry.persistUsage();
      redis?.disconnect();
    },
  };
}
