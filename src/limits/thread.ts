// The limits feature on a server thread: the stages of each limits generation (one per config a reload
// brings), the API-created keys every generation shares, and the thread's one Redis connection.
import type { Redis } from 'ioredis';
import type { SwitchyardConfig } from '../config/types.js';
import type { Stage, ThreadHost } from '../pipeline/stage.js';
import { addThreadKeyCheck, createAuthStage, keyCheckOf, KeyLookup, removeThreadKeyCheck, type KeyCheck } from './auth-stage.js';
import { subjectIds } from './key-registry.js';
import type { KeyEntry } from './keys.js';
import { MemoryLimiter, type Limiter, type Subject } from './limiter.js';
import { PlaygroundCredential } from './playground.js';
import { PriceTable } from './prices.js';
import { connectRedis, RedisLimiter, redisReady } from './redis-limiter.js';
import { KEYS_MESSAGE, type SharedLimits } from './shared-limits.js';
import { SharedCounterTable } from './shared-table.js';
import { ConfigLimits, createAdmissionStage } from './stages.js';

/** What one generation's stages hold beyond themselves: released when a reload retires them. */
interface Generation {
  readonly number: number;
  readonly lookup: KeyLookup | undefined;
  readonly keyCheck: KeyCheck | undefined;
}

export class LimitsThread {
  /** Resolves once the Redis connection is up (true), or gave up waiting (false); true for the memory backend. */
  readonly ready: Promise<boolean>;
  private readonly table: SharedCounterTable;
  private readonly redis: Redis | undefined;
  private readonly playground: PlaygroundCredential | undefined;
  private created: readonly KeyEntry[];
  private readonly lookups = new Set<KeyLookup>();
  private readonly generations = new Map<Stage, Generation>();

  /** `config` and `shared`: those the thread starts with; the backend and its connection stay until the thread ends. */
  constructor(config: SwitchyardConfig, shared: SharedLimits, host: ThreadHost | undefined) {
    this.table = new SharedCounterTable(shared.table);
    this.created = shared.adminKeys;
    this.playground = shared.playgroundToken === undefined ? undefined : new PlaygroundCredential(shared.playgroundToken);
    host?.on(KEYS_MESSAGE, (snapshot) => {
      this.setCreated(snapshot as KeyEntry[]);
      return true;
    });
    if (config.limits.backend === 'redis') {
      this.redis = connectRedis(config.limits.redis, 'thread');
      // Commands fail fast while disconnected, so the thread waits (bounded) for its connection before serving.
      this.ready = redisReady(this.redis, Math.max(2000, config.limits.redis.timeout_ms * 10));
    } else this.ready = Promise.resolve(true);
  }

  /** The stages of the generation `shared` describes, built from `config`. */
  build(config: SwitchyardConfig, shared: SharedLimits): Stage[] {
    const cfg = config.limits;
    const limiter: Limiter = this.redis === undefined ? new MemoryLimiter(this.table) : new RedisLimiter(this.redis, cfg.redis, this.table);
    const modelSubjects = new Map<string, Subject>();
    for (const [model, row] of Object.entries(shared.modelRows)) {
      modelSubjects.set(model, { row, id: subjectIds.model(model), label: `model '${model}'`, isKey: false });
    }
    const stages: Stage[] = [];
    let lookup: KeyLookup | undefined;
    let keyCheck: KeyCheck | undefined;
    if (config.auth === 'keys') {
      lookup = new KeyLookup(shared.configKeys, this.created);
      this.lookups.add(lookup);
      keyCheck = keyCheckOf(lookup, this.table);
      addThreadKeyCheck(keyCheck);
      stages.push(createAuthStage(lookup, this.table, this.playground));
    }
    stages.push(
      createAdmissionStage({
        limiter,
        prices: new PriceTable(config.prices),
        modelSubjects,
        defaultMaxOutputTokens: cfg.default_max_output_tokens,
        configLimits: shared.limitValues === undefined ? undefined : new ConfigLimits(this.table, shared.generation, shared.limitValues),
      }),
    );
    const generation: Generation = { number: shared.generation, lookup, keyCheck };
    for (const stage of stages) this.generations.set(stage, generation);
    return stages;
  }

  /** Whether `current` are the stages of the generation `shared` describes (a reload that left the limits sections alone). */
  serves(current: readonly Stage[], shared: SharedLimits): boolean {
    const first = current[0];
    return first !== undefined && this.generations.get(first)?.number === shared.generation;
  }

  /** Stages a reload replaced (or prepared and dropped), once no request uses them. */
  retire(stages: readonly Stage[]): void {
    for (const stage of stages) {
      const generation = this.generations.get(stage);
      if (generation === undefined) continue;
      this.generations.delete(stage);
      if (generation.lookup !== undefined) this.lookups.delete(generation.lookup);
      if (generation.keyCheck !== undefined) removeThreadKeyCheck(generation.keyCheck);
    }
  }

  async close(): Promise<void> {
    for (const stage of [...this.generations.keys()]) this.retire([stage]);
    this.redis?.disconnect();
  }

  private setCreated(created: readonly KeyEntry[]): void {
    this.created = created;
    for (const lookup of this.lookups) lookup.setCreated(created);
  }
}
