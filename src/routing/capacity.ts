// A deployment's rpm/tpm capacity: requests and tokens this node sent it in the current and previous
// minute (a sliding estimate weights the previous minute by the share of it still in the window),
// plus what the other gateway nodes reported through the capacity sync (src/routing/capacity-sync.ts).
import { DeploymentStateTable, I } from './deployment-state.js';

export interface CapacityLimits {
  rpm: number | undefined;
  tpm: number | undefined;
}

export class Capacity {
  constructor(
    private readonly table: DeploymentStateTable,
    private readonly slot: number,
    readonly limits: CapacityLimits,
  ) {}

  get limited(): boolean {
    return this.limits.rpm !== undefined || this.limits.tpm !== undefined;
  }

  /** Counts a request sent (at attempt start) with the tokens it is expected to use. */
  chargeRequest(now: number, tokens: number): void {
    this.roll(now);
    this.table.addInt(this.slot, I.minuteRequests, 1);
    if (tokens > 0) this.table.addInt(this.slot, I.minuteTokens, tokens);
  }

  /** Corrects the token estimate once usage is known. */
  chargeTokens(now: number, delta: number): void {
    if (delta === 0) return;
    this.roll(now);
    this.table.addInt(this.slot, I.minuteTokens, delta);
  }

  /** Share of rpm and tpm left, the smaller of the two (1 when unlimited); may be below 0. */
  remaining(now: number, tokens: number): number {
    const { requests, tokensUsed } = this.used(now);
    let share = 1;
    if (this.limits.rpm !== undefined) share = Math.min(share, (this.limits.rpm - requests) / this.limits.rpm);
    if (this.limits.tpm !== undefined) share = Math.min(share, (this.limits.tpm - tokensUsed - tokens) / this.limits.tpm);
    return share;
  }

  /** Whether one more request of `tokens` fits. */
  fits(now: number, tokens: number): boolean {
    const { requests, tokensUsed } = this.used(now);
    if (this.limits.rpm !== undefined && requests + 1 > this.limits.rpm) return false;
    if (this.limits.tpm !== undefined && tokensUsed + tokens > this.limits.tpm) return false;
    return true;
  }

  used(now: number): { requests: number; tokensUsed: number } {
    const t = this.table;
    const s = this.slot;
    const minute = Math.floor(now / 60000);
    const stored = t.int(s, I.minute);
    let current = 0;
    let currentTokens = 0;
    let previous = 0;
    let previousTokens = 0;
    if (stored === minute) {
      current = t.int(s, I.minuteRequests);
      currentTokens = t.int(s, I.minuteTokens);
      previous = t.int(s, I.previousRequests);
      previousTokens = t.int(s, I.previousTokens);
    } else if (stored === minute - 1) {
      previous = t.int(s, I.minuteRequests);
      previousTokens = t.int(s, I.minuteTokens);
    }
    const weight = 1 - (now % 60000) / 60000;
    const cluster = t.int(s, I.clusterMinute) === minute;
    return {
      requests: current + previous * weight + (cluster ? t.int(s, I.clusterRequests) : 0),
      tokensUsed: currentTokens + previousTokens * weight + (cluster ? t.int(s, I.clusterTokens) : 0),
    };
  }

  /** Moves the window to this minute; the thread that wins the swap shifts the counts. */
  private roll(now: number): void {
    const t = this.table;
    const s = this.slot;
    const minute = Math.floor(now / 60000);
    const stored = t.int(s, I.minute);
    if (stored === minute || !t.swapInt(s, I.minute, stored, minute)) return;
    const wasPrevious = stored === minute - 1;
    t.setInt(s, I.previousRequests, wasPrevious ? t.int(s, I.minuteRequests) : 0);
    t.setInt(s, I.previousTokens, wasPrevious ? t.int(s, I.minuteTokens) : 0);
    t.setInt(s, I.minuteRequests, 0);
    t.setInt(s, I.minuteTokens, 0);
  }
}
