// Every deployment's live state — in flight, latency EWMA, breaker, cooldown, health, capacity windows —
// in one SharedArrayBuffer that the main thread creates and every server thread maps. Writers use
// Atomics; readers load without locks (a value may be a moment old, never torn).
//
// Layout (one slot per deployment state key, `provider/upstream model`, so groups naming the same
// upstream share what is learnt about it):
//   Int32 region, `intStride` per slot, fields at the I offsets below.
//   BigInt64 region, `timeStride` per slot: epoch milliseconds at the T offsets below.
//   Int32 region of `groupCounters` round-robin counters, one per model group.
// Slots are assigned by the main thread (`SlotAssignment`); a config reload keeps the slots of keys
// that still exist, so health and breaker state survive it.
import { failureKinds, type FailureKind } from './config.js';

/** Int32 field offsets within a slot. */
export const I = {
  inFlight: 0,
  /** BreakerState. */
  breaker: 1,
  /** Trial requests still allowed while half-open. */
  halfOpenPermits: 2,
  /** Trial requests that succeeded since half-open. */
  halfOpenSuccesses: 3,
  consecutiveFailures: 4,
  /** Health. */
  health: 5,
  /** Latency EWMAs in µs, 0 before the first sample: whole duration of non-streamed requests, TTFT of streams. */
  ewmaUs: 6,
  ewmaTtftUs: 7,
  lastErrorStatus: 8,
  /** FailureKind index + 1; 0 = none. */
  lastErrorKind: 9,
  /** Breaker transitions, counted for metrics: to open, to half-open, to closed. */
  toOpen: 10,
  toHalfOpen: 11,
  toClosed: 12,
  /** Capacity: this node's requests and tokens in the current and previous minute. */
  minute: 13,
  minuteRequests: 14,
  minuteTokens: 15,
  previousRequests: 16,
  previousTokens: 17,
  /** What the other nodes spent this minute (capacity sync through Redis), with its minute. */
  clusterMinute: 18,
  clusterRequests: 19,
  clusterTokens: 20,
  /** Consecutive health-check failures and successes (written by the main thread only). */
  checkFailures: 21,
  checkSuccesses: 22,
  /** Sliding failure window: `windowBuckets` buckets of [second, ok, failed]. */
  window: 23,
} as const;

export const windowBuckets = 10;
const intStride = I.window + windowBuckets * 3;

/** BigInt64 field offsets within a slot. */
export const T = {
  breakerUntil: 0,
  cooldownUntil: 1,
  lastErrorAt: 2,
  checkedAt: 3,
} as const;
const timeStride = 4;

export const enum BreakerState {
  Closed = 0,
  Open = 1,
  HalfOpen = 2,
}

export const enum Health {
  /** Not checked (active checks off, or not yet): treated as healthy. */
  Unknown = 0,
  Healthy = 1,
  /** Failed its checks (connect errors, timeouts, 5xx). */
  Down = 2,
  /** The provider answered insufficient_quota: out of credit until someone pays. */
  QuotaExhausted = 3,
  /** The checks were rate limited: it answers, but is saturated. */
  RateLimited = 4,
}

export const healthNames = ['unknown', 'healthy', 'down', 'quota_exhausted', 'rate_limited'] as const;
export const breakerNames = ['closed', 'open', 'half_open'] as const;

/** The failure kind stored as its index + 1 (0 = none). */
export function failureKindName(code: number): FailureKind | null {
  return failureKinds[code - 1] ?? null;
}

/** What crosses to the server threads: the memory, its shape and which slot each key has. */
export interface DeploymentStateMemory {
  ints: SharedArrayBuffer;
  times: SharedArrayBuffer;
  counters: SharedArrayBuffer;
  capacity: number;
  slots: Record<string, number>;
  groups: Record<string, number>;
}

export class DeploymentStateTable {
  readonly ints: Int32Array;
  readonly times: BigInt64Array;
  readonly counters: Int32Array;

  constructor(readonly memory: DeploymentStateMemory) {
    this.ints = new Int32Array(memory.ints);
    this.times = new BigInt64Array(memory.times);
    this.counters = new Int32Array(memory.counters);
  }

  /** Fresh memory for `keys` (deployment state keys) and `groups` (model names), with room to grow on reload. */
  static create(keys: readonly string[], groups: readonly string[], capacity = Math.max(64, keys.length * 2)): DeploymentStateTable {
    const groupCapacity = Math.max(64, groups.length * 2);
    const memory: DeploymentStateMemory = {
      ints: new SharedArrayBuffer(capacity * intStride * 4),
      times: new SharedArrayBuffer(capacity * timeStride * 8),
      counters: new SharedArrayBuffer(groupCapacity * 4),
      capacity,
      slots: assign({}, keys, capacity),
      groups: assign({}, groups, groupCapacity),
    };
    return new DeploymentStateTable(memory);
  }

  /**
   * The assignment for a new config: keys kept keep their slot (and state), new keys get a free slot
   * reset to zero. A slot the new config frees is still held by requests in flight on the current one
   * (they count themselves out of it when they end), so it goes to a new key only when no other slot
   * is free. Throws when the table is full (a restart makes a larger one).
   */
  reassign(keys: readonly string[], groups: readonly string[]): DeploymentStateMemory {
    const kept: Record<string, number> = {};
    for (const key of keys) if (key in this.memory.slots) kept[key] = this.memory.slots[key];
    const held = new Set(Object.values(this.memory.slots));
    const slots = assign(kept, keys, this.memory.capacity, (slot) => this.clear(slot), held);
    const keptGroups: Record<string, number> = {};
    for (const g of groups) if (g in this.memory.groups) keptGroups[g] = this.memory.groups[g];
    const groupSlots = assign(keptGroups, groups, this.counters.length);
    return { ...this.memory, slots, groups: groupSlots };
  }

  slotOf(key: string): number {
    const slot = this.memory.slots[key];
    if (slot === undefined) throw new Error(`no state slot for deployment ${key}`);
    return slot;
  }

  int(slot: number, field: number): number {
    return Atomics.load(this.ints, slot * intStride + field);
  }

  setInt(slot: number, field: number, value: number): void {
    Atomics.store(this.ints, slot * intStride + field, value);
  }

  addInt(slot: number, field: number, delta: number): number {
    return Atomics.add(this.ints, slot * intStride + field, delta) + delta;
  }

  /** Sets the field to `next` if it still holds `expected`; true when this caller won. */
  swapInt(slot: number, field: number, expected: number, next: number): boolean {
    return Atomics.compareExchange(this.ints, slot * intStride + field, expected, next) === expected;
  }

  /** Epoch ms (0 = never). */
  time(slot: number, field: number): number {
    return Number(Atomics.load(this.times, slot * timeStride + field));
  }

  setTime(slot: number, field: number, epochMs: number): void {
    Atomics.store(this.times, slot * timeStride + field, BigInt(Math.floor(epochMs)));
  }

  /** Round-robin: the next number of a group's counter. */
  nextTurn(group: number): number {
    return Atomics.add(this.counters, group, 1) >>> 0;
  }

  groupOf(name: string): number {
    return this.memory.groups[name] ?? 0;
  }

  private clear(slot: number): void {
    this.ints.fill(0, slot * intStride, (slot + 1) * intStride);
    this.times.fill(0n, slot * timeStride, (slot + 1) * timeStride);
  }
}

/** Gives each key not in `into` a free slot: one outside `held` first, then one of `held` (lowest first). */
function assign(
  into: Record<string, number>,
  keys: readonly string[],
  capacity: number,
  onFresh?: (slot: number) => void,
  held: ReadonlySet<number> = new Set(),
): Record<string, number> {
  const used = new Set(Object.values(into));
  const spare = [...held].filter((slot) => !used.has(slot)).sort((a, b) => a - b);
  let next = 0;
  for (const key of keys) {
    if (key in into) continue;
    while (next < capacity && (used.has(next) || held.has(next))) next++;
    const slot = next < capacity ? next : spare.shift();
    if (slot === undefined) throw new Error(`deployment state table is full (${capacity} slots); restart the gateway to grow it`);
    into[key] = slot;
    used.add(slot);
    onFresh?.(slot);
  }
  return into;
}
