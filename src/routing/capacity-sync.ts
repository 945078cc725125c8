// Deployment capacity (rpm/tpm) across gateway nodes: with the Redis limits backend, the main thread
// adds this node's new requests and tokens for the current minute to per-deployment Redis counters
// every `intervalMs`, reads the totals back, and writes the other nodes' share into the state table,
// where the router adds it to its own counts. Routing never waits for Redis: a node's view of the
// others is at most one interval old, and when Redis is down each node goes on with its own counts.
import type { Redis } from 'ioredis';
import { log } from '../shared/log.js';
import { DeploymentStateTable, I } from './deployment-state.js';
import type { LiveDeployment } from './live-deployment.js';

interface Synced {
  minute: number;
  requests: number;
  tokens: number;
}

export class CapacitySync {
  private readonly synced = new Map<number, Synced>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private lastError = 0;

  constructor(
    private readonly redis: Redis,
    private readonly table: DeploymentStateTable,
    private readonly members: readonly LiveDeployment[],
    private readonly prefix: string,
    private readonly intervalMs = 500,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.syncOnce().finally(() => (this.running = undefined));
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** One round: push this node's increments, pull the totals. */
  async syncOnce(now = Date.now()): Promise<void> {
    const minute = Math.floor(now / 60000);
    const t = this.table;
    const batch = this.redis.multi();
    const order: Array<{ slot: number; requests: number; tokens: number }> = [];
    for (const m of this.members) {
      const s = m.slot;
      // Only this minute's counts are pushed: the counters roll on the first request of a minute.
      const requests = t.int(s, I.minute) === minute ? t.int(s, I.minuteRequests) : 0;
      const tokens = t.int(s, I.minute) === minute ? t.int(s, I.minuteTokens) : 0;
      const last = this.synced.get(s);
      const base = last !== undefined && last.minute === minute ? last : { minute, requests: 0, tokens: 0 };
      const key = `${this.prefix}:capacity:${m.deployment.stateKey}:${minute}`;
      batch.hincrby(key, 'r', requests - base.requests);
      batch.hincrby(key, 't', tokens - base.tokens);
      batch.pexpire(key, 120_000);
      order.push({ slot: s, requests, tokens });
    }
    if (order.length === 0) return;
    try {
      const results = (await batch.exec()) ?? [];
      order.forEach((o, i) => {
        const totalRequests = Number(results[i * 3]?.[1] ?? 0);
        const totalTokens = Number(results[i * 3 + 1]?.[1] ?? 0);
        this.synced.set(o.slot, { minute, requests: o.requests, tokens: o.tokens });
        t.setInt(o.slot, I.clusterRequests, Math.max(0, totalRequests - o.requests));
        t.setInt(o.slot, I.clusterTokens, Math.max(0, totalTokens - o.tokens));
        t.setInt(o.slot, I.clusterMinute, minute);
      });
    } catch (err) {
      if (now - this.lastError > 10_000) {
        this.lastError = now;
        log.warn('routing: capacity sync with redis failed; deployments are limited by this node\'s counts', { error: (err as Error).message });
      }
    }
  }
}

/** The deployments with rpm or tpm, one per state key. */
export function cappedMembers(groups: Iterable<{ members: readonly LiveDeployment[] }>): LiveDeployment[] {
  const byKey = new Map<string, LiveDeployment>();
  for (const g of groups) for (const m of g.members) if (m.capacity.limited && !byKey.has(m.deployment.stateKey)) byKey.set(m.deployment.stateKey, m);
  return [...byKey.values()];
}
