// The bytes of upstream responses one server thread holds in memory at once: non-streamed bodies (and
// error bodies) until they are complete, and the incomplete event of a stream. Bounded by
// server.max_buffered_upstream_bytes, so a few huge bodies cannot take the process's memory: a response
// that does not fit is refused instead.
import { errors, type GatewayError } from '../shared/errors.js';

export class BufferBudget {
  private used = 0;

  constructor(readonly limit: number) {}

  /** Bytes taken and not yet given back. */
  get inUse(): number {
    return this.used;
  }

  /** Takes `bytes` if they fit under the limit; false, taking nothing, if not. */
  take(bytes: number): boolean {
    if (this.used + bytes > this.limit) return false;
    this.used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.used -= bytes;
  }
}

/** Why bytes were not held: one response larger than the whole budget (retrying cannot help), or no room now. */
export type Shortfall = 'too_large' | 'full';

/** The error a response that does not fit ends with: for good (502) or for now (503, retry). */
export function shortfallError(shortfall: Shortfall, provider: string, limit: number): GatewayError {
  return shortfall === 'too_large' ? errors.upstreamTooLarge(provider, limit) : errors.upstreamBufferFull(limit);
}

/** What one relay holds, within the thread's budget; release() gives it all back. */
export class HeldBytes {
  private taken = 0;
  private chunks: Buffer[] = [];
  /** With an announced size: the body's one buffer, filled as chunks come, so it is never joined (a second copy). */
  private whole: Buffer | undefined;
  private length = 0;

  constructor(private readonly budget: BufferBudget) {}

  /** Makes what is held count as `bytes` (a stream's incomplete event), taking or giving back the difference. */
  holdExactly(bytes: number): Shortfall | undefined {
    if (bytes <= this.taken) {
      this.budget.give(this.taken - bytes);
      this.taken = bytes;
      return undefined;
    }
    if (bytes > this.budget.limit) return 'too_large';
    if (!this.budget.take(bytes - this.taken)) return 'full';
    this.taken = bytes;
    return undefined;
  }

  /** A body's announced size (content-length): taken at once, before its first byte is read. */
  expect(bytes: number): Shortfall | undefined {
    const shortfall = this.holdExactly(bytes);
    if (shortfall === undefined) this.whole = Buffer.allocUnsafe(bytes);
    return shortfall;
  }

  append(chunk: Buffer): Shortfall | undefined {
    const whole = this.whole;
    if (whole !== undefined && this.length + chunk.length <= whole.length) {
      chunk.copy(whole, this.length);
    } else {
      const shortfall = this.holdExactly(this.length + chunk.length);
      if (shortfall !== undefined) return shortfall;
      if (whole !== undefined) {
        // More than announced (undici refuses that; kept correct anyway).
        this.chunks.push(whole.subarray(0, this.length));
        this.whole = undefined;
      }
      this.chunks.push(chunk);
    }
    this.length += chunk.length;
    return undefined;
  }

  /** The body held so far, as one buffer; the bytes stay counted until release(). */
  body(): Buffer {
    if (this.whole !== undefined) return this.whole.subarray(0, this.length);
    return this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.length);
  }

  release(): void {
    this.holdExactly(0);
    this.chunks = [];
    this.whole = undefined;
    this.length = 0;
  }
}
