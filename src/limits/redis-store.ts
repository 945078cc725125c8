// Keys shared by several gateways: one Redis hash of key records plus a version counter the others poll.
// Usage and spend need no store here: with the Redis backend they live in Redis's own counters.
import { Redis } from 'ioredis';
import type { KeyRecord } from './keys.js';
import type { KeyStore } from './key-registry.js';
import type { UsageDump } from './file-store.js';

export class RedisKeyStore implements KeyStore {
  private readonly hash: string;
  private readonly version: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.hash = `${prefix}:keys`;
    this.version = `${prefix}:keys:version`;
  }

  async loadKeys(): Promise<KeyRecord[]> {
    const all = await this.redis.hgetall(this.hash);
    return Object.values(all).map((json) => JSON.parse(json) as KeyRecord);
  }

  async putKey(record: KeyRecord): Promise<void> {
    await this.redis.multi().hset(this.hash, record.id, JSON.stringify(record)).incr(this.version).exec();
  }

  async loadUsage(): Promise<UsageDump> {
    return {};
  }

  async putUsage(): Promise<void> {}

  async keysVersion(): Promise<string> {
    return (await this.redis.get(this.version)) ?? '0';
  }
}

/** Deletes every key under `prefix:` (a test or bench run's own namespace) with SCAN, never KEYS. */
export async function deleteRedisPrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
