// The counter table every server thread shares: one SharedArrayBuffer, the only place its layout is defined.
//
// Layout (all slots are 8 bytes, addressed as Float64 except the Int32 words named below):
//
//   row 0 — header
//     i32[0]  mutex word: 0 free, 1 held, 2 held with waiters (see lock())
//     i32[2]  Redis fail-open admissions (Atomics.add from any thread)
//     i32[3]  Redis fail-closed refusals
//     i32[4]  the limits generation whose config values (model, config-key and their key×model limits)
//             the rows hold; a reload's values are written by the first request that generation admits
//             (applyConfigLimits), so a reload refused before its threads switched never reaches the table
//   row r ≥ 1 — one subject: a key, a model, or a key on one model. ROW_SLOTS Float64 slots from
//   f64[r * ROW_SLOTS]; slot numbers are the `Slot` constants. Slot 0's first Int32
//   (i32[r * ROW_SLOTS * 2]) is the row status, read without the lock (Atomics.load) so a revoked key is
//   refused by every thread the moment the main thread stores REVOKED.
//
// Every slot other than the Int32 words above is read and written only while holding the mutex, so
// plain Float64 access is race-free (Atomics on the mutex order them) and counts stay exact up to 2^53.
// Limits of -1 mean "no limit".

export const ROW_SLOTS = 32;
const ROW_BYTES = ROW_SLOTS * 8;

export const Slot = {
  status: 0,
  rpm: 1,
  rpd: 2,
  tpm: 3,
  tpd: 4,
  maxConcurrent: 5,
  budgetTotal: 6,
  budgetDaily: 7,
  budgetMonthly: 8,
  /** Index of the UTC minute the minute counters belong to (floor(ms / 60000)). */
  minute: 9,
  minuteRequests: 10,
  minuteTokens: 11,
  /** Index of the UTC day (floor(ms / 86400000)) the day counters and daily spend belong to. */
  day: 12,
  dayRequests: 13,
  dayTokens: 14,
  concurrent: 15,
  spendTotal: 16,
  spendDay: 17,
  /** UTC month as year * 12 + month. */
  month: 18,
  spendMonth: 19,
  totalRequests: 20,
  totalPromptTokens: 21,
  totalCompletionTokens: 22,
} as const;
export type SlotName = keyof typeof Slot;

export const RowStatus = { free: 0, active: 1, revoked: 2 } as const;

/** Slots that are usage (persisted, restored), as opposed to limits (re-derived from key records). */
export const usageSlots: readonly SlotName[] = [
  'minute', 'minuteRequests', 'minuteTokens', 'day', 'dayRequests', 'dayTokens', 'spendTotal', 'spendDay',
  'month', 'spendMonth', 'totalRequests', 'totalPromptTokens', 'totalCompletionTokens',
];
export const limitSlots: readonly SlotName[] = [
  'rpm', 'rpd', 'tpm', 'tpd', 'maxConcurrent', 'budgetTotal', 'budgetDaily', 'budgetMonthly',
];

const SPIN_TRIES = 64;
const CONFIG_GENERATION = 4;

/**
 * One row's limit values as a reload plans them: CONFIG_LIMIT_WIDTH numbers per row in a flat
 * Float64Array — the row, then the `limitSlots` values in their order (-1 = no limit).
 */
export const CONFIG_LIMIT_WIDTH = 1 + limitSlots.length;
const limitSlotIndexes = limitSlots.map((s) => Slot[s]);

export class SharedCounterTable {
  readonly buffer: SharedArrayBuffer;
  readonly rows: number;
  readonly f64: Float64Array;
  readonly i32: Int32Array;

  constructor(bufferOrRows: SharedArrayBuffer | number) {
    this.buffer =
      typeof bufferOrRows === 'number' ? new SharedArrayBuffer((bufferOrRows + 1) * ROW_BYTES) : bufferOrRows;
    this.rows = this.buffer.byteLength / ROW_BYTES - 1;
    this.f64 = new Float64Array(this.buffer);
    this.i32 = new Int32Array(this.buffer);
  }

  /**
   * A three-state futex mutex (Drepper, "Futexes Are Tricky", mutex 2): uncontended cost is one CAS;
   * a waiter spins briefly, then sleeps in Atomics.wait so a preempted holder does not burn the other cores.
   */
  lock(): void {
    const i32 = this.i32;
    let c = Atomics.compareExchange(i32, 0, 0, 1);
    if (c === 0) return;
    for (let i = 0; i < SPIN_TRIES; i++) {
      if (Atomics.load(i32, 0) === 0) {
        c = Atomics.compareExchange(i32, 0, 0, 1);
        if (c === 0) return;
      }
    }
    if (c !== 2) c = Atomics.exchange(i32, 0, 2);
    while (c !== 0) {
      Atomics.wait(i32, 0, 2, 5);
      c = Atomics.exchange(i32, 0, 2);
    }
  }

  unlock(): void {
    if (Atomics.sub(this.i32, 0, 1) !== 1) {
      Atomics.store(this.i32, 0, 0);
      Atomics.notify(this.i32, 0, 1);
    }
  }

  /** Runs fn under the mutex. fn must be short and must not allocate much: every thread waits on it. */
  locked<T>(fn: () => T): T {
    this.lock();
    try {
      return fn();
    } finally {
      this.unlock();
    }
  }

  base(row: number): number {
    return row * ROW_SLOTS;
  }

  status(row: number): number {
    return Atomics.load(this.i32, row * ROW_SLOTS * 2);
  }

  setStatus(row: number, status: number): void {
    Atomics.store(this.i32, row * ROW_SLOTS * 2, status);
  }

  /** `slot` is a `Slot` constant. Caller holds the lock (or no other thread can see the row yet). */
  get(row: number, slot: number): number {
    return this.f64[row * ROW_SLOTS + slot]!;
  }

  /** `slot` is a `Slot` constant. Caller holds the lock (or no other thread can see the row yet). */
  set(row: number, slot: number, value: number): void {
    this.f64[row * ROW_SLOTS + slot] = value;
  }

  /** Clears counters and sets every limit to "none"; for a row about to be handed out. */
  resetRow(row: number): void {
    const b = row * ROW_SLOTS;
    this.f64.fill(0, b + 1, b + ROW_SLOTS);
    for (const s of limitSlots) this.f64[b + Slot[s]] = -1;
  }

  /** The limits generation whose config values are in the rows (0: those written at start). */
  configGeneration(): number {
    return Atomics.load(this.i32, CONFIG_GENERATION);
  }

  /**
   * Writes a limits generation's config values (rows laid out as CONFIG_LIMIT_WIDTH describes) unless
   * those of this or a newer generation are in already; every server thread may call it, one wins.
   */
  applyConfigLimits(generation: number, values: Float64Array): void {
    this.lock();
    try {
      if (Atomics.load(this.i32, CONFIG_GENERATION) >= generation) return;
      const f64 = this.f64;
      for (let i = 0; i < values.length; i += CONFIG_LIMIT_WIDTH) {
        const base = values[i]! * ROW_SLOTS;
        for (let j = 0; j < limitSlotIndexes.length; j++) f64[base + limitSlotIndexes[j]!] = values[i + 1 + j]!;
      }
      Atomics.store(this.i32, CONFIG_GENERATION, generation);
    } finally {
      this.unlock();
    }
  }

  countRedisFailOpen(): void {
    Atomics.add(this.i32, 2, 1);
  }

  countRedisFailClosed(): void {
    Atomics.add(this.i32, 3, 1);
  }

  redisFailures(): { fail_open: number; fail_closed: number } {
    return { fail_open: Atomics.load(this.i32, 2), fail_closed: Atomics.load(this.i32, 3) };
  }
}
