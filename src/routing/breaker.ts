// The circuit breaker of one deployment, over its slot in the shared state table: closed → open
// (consecutive failures, or the failure rate over a sliding window) → half-open after the cooldown
// (a few trial requests) → closed when they all succeed, open again when one fails. Any server thread
// may move it; compare-and-swap makes exactly one of them win each transition.
import type { BreakerConfig } from './config.js';
import { BreakerState, DeploymentStateTable, I, T, windowBuckets } from './deployment-state.js';

export class Breaker {
  private readonly bucketSeconds: number;

  constructor(
    private readonly table: DeploymentStateTable,
    private readonly slot: number,
    private readonly config: BreakerConfig,
  ) {
    this.bucketSeconds = Math.max(1, Math.ceil(config.window_s / windowBuckets));
  }

  state(): BreakerState {
    return this.table.int(this.slot, I.breaker) as BreakerState;
  }

  /** Whether a request may go now; an open breaker past its cooldown turns half-open here. */
  allows(now: number): boolean {
    const state = this.state();
    if (state === BreakerState.Closed) return true;
    if (state === BreakerState.Open) return now >= this.table.time(this.slot, T.breakerUntil);
    return this.table.int(this.slot, I.halfOpenPermits) > 0;
  }

  /** Called as an attempt starts: takes a trial permit when half-open (or turns an expired open breaker half-open). */
  enter(now: number): void {
    const t = this.table;
    const s = this.slot;
    if (t.int(s, I.breaker) === BreakerState.Open && now >= t.time(s, T.breakerUntil)) {
      if (t.swapInt(s, I.breaker, BreakerState.Open, BreakerState.HalfOpen)) {
        t.setInt(s, I.halfOpenPermits, this.config.half_open_requests);
        t.setInt(s, I.halfOpenSuccesses, 0);
        t.addInt(s, I.toHalfOpen, 1);
      }
    }
    if (t.int(s, I.breaker) === BreakerState.HalfOpen) t.addInt(s, I.halfOpenPermits, -1);
  }

  success(now: number): void {
    const t = this.table;
    const s = this.slot;
    this.count(now, 1);
    if (t.int(s, I.consecutiveFailures) !== 0) t.setInt(s, I.consecutiveFailures, 0);
    if (t.int(s, I.breaker) === BreakerState.HalfOpen) {
      const ok = t.addInt(s, I.halfOpenSuccesses, 1);
      if (ok >= this.config.half_open_requests && t.swapInt(s, I.breaker, BreakerState.HalfOpen, BreakerState.Closed)) {
        this.clearWindow();
        t.addInt(s, I.toClosed, 1);
      }
    }
  }

  failure(now: number): void {
    const t = this.table;
    const s = this.slot;
    this.count(now, 2);
    const streak = t.addInt(s, I.consecutiveFailures, 1);
    const state = t.int(s, I.breaker);
    if (state === BreakerState.HalfOpen) {
      this.open(now, BreakerState.HalfOpen);
      return;
    }
    if (state !== BreakerState.Closed) return;
    if (streak >= this.config.consecutive_failures || this.rateExceeded(now)) this.open(now, BreakerState.Closed);
  }

  /** Failures and requests in the window, for the admin API. */
  windowCounts(now: number): { ok: number; failed: number } {
    const t = this.table;
    const second = Math.floor(now / 1000 / this.bucketSeconds);
    let ok = 0;
    let failed = 0;
    for (let b = 0; b < windowBuckets; b++) {
      const at = I.window + b * 3;
      if (second - t.int(this.slot, at) >= windowBuckets) continue;
      ok += t.int(this.slot, at + 1);
      failed += t.int(this.slot, at + 2);
    }
    return { ok, failed };
  }

  private open(now: number, from: BreakerState): void {
    const t = this.table;
    if (!t.swapInt(this.slot, I.breaker, from, BreakerState.Open)) return;
    t.setTime(this.slot, T.breakerUntil, now + this.config.cooldown_ms);
    t.addInt(this.slot, I.toOpen, 1);
  }

  private rateExceeded(now: number): boolean {
    const { ok, failed } = this.windowCounts(now);
    const total = ok + failed;
    return total >= this.config.min_requests && failed / total >= this.config.failure_rate;
  }

  /** Adds one outcome (field 1 = ok, 2 = failed) to the current bucket, resetting a bucket left from an older turn of the ring. */
  private count(now: number, field: 1 | 2): void {
    const t = this.table;
    const s = this.slot;
    const second = Math.floor(now / 1000 / this.bucketSeconds);
    const at = I.window + (second % windowBuckets) * 3;
    const seen = t.int(s, at);
    // The thread that moves the bucket to this turn clears it; a count racing the reset may be lost, which a rate tolerates.
    if (seen !== second && t.swapInt(s, at, seen, second)) {
      t.setInt(s, at + 1, 0);
      t.setInt(s, at + 2, 0);
    }
    t.addInt(s, at + field, 1);
  }

  private clearWindow(): void {
    for (let b = 0; b < windowBuckets; b++) this.table.setInt(this.slot, I.window + b * 3, 0);
  }
}
