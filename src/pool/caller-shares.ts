// How many bytes of request bodies each caller has in one lane of this server thread's guard pool
// (queued or running), so that one caller cannot fill the lane's queue with work that makes
// everyone else's tasks wait past their deadline. Per server thread, like the pool it protects (see
// "Pool share per caller" in docs/guardrails.md).

export class CallerShares {
  private readonly held = new Map<string, number>();

  /** maxBytes: what one caller may hold at once; 0 = no bound (nothing is recorded). */
  constructor(readonly maxBytes: number) {}

  /**
   * Takes `bytes` of the caller's share and returns true, or returns false (taking nothing) when the
   * caller already holds some and this would take it past the share. A caller holding nothing is
   * always admitted, so a body larger than the share is still guarded, one at a time.
   */
  tryTake(caller: string, bytes: number): boolean {
    if (this.maxBytes <= 0) return true;
    const held = this.held.get(caller) ?? 0;
    if (held > 0 && held + bytes > this.maxBytes) return false;
    this.held.set(caller, held + bytes);
    return true;
  }

  /** Gives back what tryTake took, once the task has settled (answered, failed or timed out). */
  giveBack(caller: string, bytes: number): void {
    const left = (this.held.get(caller) ?? 0) - bytes;
    if (left > 0) this.held.set(caller, left);
    else this.held.delete(caller);
  }

  heldBy(caller: string): number {
    return this.held.get(caller) ?? 0;
  }

  /** Callers holding something (the map never keeps a caller at zero). */
  get callers(): number {
    return this.held.size;
  }
}
