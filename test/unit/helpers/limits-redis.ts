// Shared by the Redis tests and their child process: a limiter on a unique key prefix, and cleanup.
import { deleteRedisPrefix } from '../../../src/limits/redis-store.js';
import { Redis } from 'ioredis';
import { RedisLimiter, connectRedis, } from '../../../src/limits/redis-limiter.js';
import { redisReady } from '../../../src/limits/feature.js';
import { RowStatus, SharedCounterTable, Slot, type SlotName } from '../../../src/limits/shared-table.js';
import type { Subject } from '../../../src/limits/limiter.js';
import type { RedisLimitsConfig } from '../../../src/limits/config.js';

export const REDIS_URL = process.env.SWITCHYARD_TEST_REDIS ?? 'redis://127.0.0.1:6379';

export function redisConfig(prefix: string, overrides: Partial<RedisLimitsConfig> = {}): RedisLimitsConfig {
  return { url: REDIS_URL, key_prefix: prefix, on_down: 'closed', timeout_ms: 500, key_refresh_ms: 200, ...overrides };
}

export async function redisLimiter(cfg: RedisLimitsConfig, limits: Array<Record<string, number>>) {
  const table = new SharedCounterTable(8);
  const subjects: Subject[] = limits.map((l, i) => {
    const row = i + 1;
    table.resetRow(row);
    table.setStatus(row, RowStatus.active);
    for (const [slot, v] of Object.entries(l)) table.set(row, Slot[slot as SlotName], v);
    return { row, id: `s${row}`, label: `subject ${row}`, isKey: i === 0 };
  });
  const redis = connectRedis(cfg, 'test');
  await redisReady(redis, 2000);
  return { limiter: new RedisLimiter(redis, cfg, table), table, subjects, redis };
}

export const dropPrefix = (prefix: string): Promise<void> => deleteRedisPrefix(REDIS_URL, prefix);

/** Waits out the last seconds of a Redis-clock minute so a test's requests fall in one rpm window. */
export async function awayFromMinuteEnd(marginS = 8): Promise<void> {
  const redis = new Redis(REDIS_URL);
  const [s] = await redis.time();
  redis.disconnect();
  const intoMinute = Number(s) % 60;
  if (intoMinute > 60 - marginS) await new Promise((r) => setTimeout(r, (61 - intoMinute) * 1000));
}
