// The limits feature: virtual keys, rate/token limits, budgets and cost, wired into the gateway's Feature contract.
import type { Redis } from 'ioredis';
import type { SwitchyardConfig } from '../config/types.js';
import type { Feature, MainHost, Stage, ThreadHost } from '../pipeline/stage.js';
import { log } from '../shared/log.js';
import { limitsAdminRoutes } from './admin-routes.js';
import { FileKeyStore, LimitsFileStore } from './file-store.js';
import { KeyRegistry, subjectIds, type KeyStore } from './key-registry.js';
import type { KeyEntry } from './keys.js';
import { MemoryLimiter, type Limiter, type Subject } from './limiter.js';
import { PriceTable } from './prices.js';
import { connectRedis, RedisLimiter } from './redis-limiter.js';
import { RedisKeyStore } from './redis-store.js';
import { SharedCounterTable } from './shared-table.js';
import { createAdmissionStage, createAuthStage, FEATURE, KeyLookup } from './stages.js';

/** What initMain hands to every server thread. The buffer is shared; the rest is cloned. */
export interface SharedLimits {
  table: SharedArrayBuffer;
  keys: KeyEntry[];
  /** Model → row of its all-keys limits. */
  modelRows: Record<string, number>;
}

export const KEYS_MESSAGE = 'limits.keys';

function isSharedLimits(v: unknown): v is SharedLimits {
  const s = v as SharedLimits | undefined;
  return !!s && s.table instanceof SharedArrayBuffer && Array.isArray(s.keys) && typeof s.modelRows === 'object';
}

/** Waits until the client is connected, or gives up after `ms` (the caller then runs degraded). */
export function redisReady(redis: Redis, ms: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(false), ms);
    const onReady = () => done(true);
    function done(ok: boolean): void {
      clearTimeout(timer);
      redis.off('ready', onReady);
      resolve(ok);
    }
    redis.once('ready', onReady);
  });
}

export interface LimitsMain {
  shared: SharedLimits;
  registry: KeyRegistry;
  close(): Promise<void>;
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

  const publish = async (): Promise<void> => {
    await host.gather(KEYS_MESSAGE, registry.snapshot());
  };
  const timers: NodeJS.Timeout[] = [];
  if (redisLimiter) {
    let version = '';
    const refresh = async () => {
      try {
        const v = await store.keysVersion!();
        if (v === version) return;
        version = v;
        if (await registry.reloadKeys()) await publish();
      } catch (err) {
        log.warn('limits: key refresh from redis failed', { error: (err as Error).message });
      }
    };
    timers.push(setInterval(() => void refresh(), cfg.redis.key_refresh_ms));
  } else {
    const flush = () => {
      registry.persistUsage().catch((err: Error) => log.error('limits: persisting usage failed', { error: err.message }));
    };
    timers.push(setInterval(flush, cfg.persist_interval_ms));
  }
  for (const t of timers) t.unref();

  const limiter = redisLimiter;
  for (const route of limitsAdminRoutes({
    registry,
    publish,
    usage: async (id) => (limiter ? limiter.usage(id) : registry.usageOf(id)),
    status: () => ({
      backend: cfg.backend,
      auth: config.auth,
      keys: registry.list().length,
      redis: table.redisFailures(),
    }),
  })) {
    host.addAdminRoute(route);
  }

  return {
    shared: { table: table.buffer, keys: registry.snapshot(), modelRows: registry.modelRows() },
    registry,
    async close() {
      for (const t of timers) clearInterval(t);
      if (!limiter) await registry.persistUsage();
      redis?.disconnect();
    },
  };
}

/** Thread-side setup: the stages plus what closeThread must release. */
export function startLimitsThread(
  config: SwitchyardConfig,
  shared: SharedLimits,
  host: ThreadHost | undefined,
): { stages: Stage[]; limiter: Limiter; ready: Promise<boolean> } {
  const cfg = config.limits;
  const table = new SharedCounterTable(shared.table);
  const keys = new KeyLookup(shared.keys);
  host?.on(KEYS_MESSAGE, (snapshot) => {
    keys.replace(snapshot as KeyEntry[]);
    return true;
  });
  let limiter: Limiter = new MemoryLimiter(table);
  let ready = Promise.resolve(true);
  if (cfg.backend === 'redis') {
    const redis = connectRedis(cfg.redis, 'thread');
    // Commands fail fast while disconnected, so the thread waits (bounded) for its connection before serving.
    ready = redisReady(redis, Math.max(2000, cfg.redis.timeout_ms * 10));
    limiter = new RedisLimiter(redis, cfg.redis, table);
  }
  const modelSubjects = new Map<string, Subject>();
  for (const [model, row] of Object.entries(shared.modelRows)) {
    modelSubjects.set(model, { row, id: subjectIds.model(model), label: `model '${model}'`, isKey: false });
  }
  const stages: Stage[] = [];
  if (config.auth === 'keys') stages.push(createAuthStage(keys, table));
  stages.push(
    createAdmissionStage({
      limiter,
      prices: new PriceTable(config.prices),
      modelSubjects,
      defaultMaxOutputTokens: cfg.default_max_output_tokens,
    }),
  );
  return { stages, limiter, ready };
}

export function createLimitsFeature(): Feature {
  const mains: LimitsMain[] = [];
  const limiters: Limiter[] = [];
  return {
    name: FEATURE,
    async initMain(config, host) {
      const main = await startLimitsMain(config, host);
      mains.push(main);
      return main.shared;
    },
    sharedForNewThread() {
      const main = mains.at(-1);
      return main && { ...main.shared, keys: main.registry.snapshot() };
    },
    async initThread(config, shared, host) {
      if (!isSharedLimits(shared)) throw new Error('limits: initThread got no shared table from initMain');
      const { stages, limiter, ready } = startLimitsThread(config, shared, host);
      limiters.push(limiter);
      if (!(await ready)) log.error('limits: redis not reachable from a server thread; serving with limits.redis.on_down', {});
      return stages;
    },
    async closeThread() {
      await Promise.all(limiters.splice(0).map((l) => l.close?.()));
    },
    async closeMain() {
      await Promise.all(mains.splice(0).map((m) => m.close()));
    },
  };
}

export const limitsFeature: Feature = createLimitsFeature();
