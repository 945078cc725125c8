// Sits between the upstream exchange and the relay of one attempt, and holds the answer back until it
// is worth relaying: an error status is held (its body read, bounded) so a retry or fallback can
// replace it unseen, and a success is held until its first body bytes, so an upstream that fails
// between its headers and its first byte is retried too. Once anything has gone to the relay, the
// attempt is committed: what follows passes through and a failure is the relay's to report.
import type { GatewayError } from '../shared/errors.js';
import type { UpstreamHead, UpstreamSink } from '../pipeline/upstream.js';
import { failureOfError, failureOfStatus, type AttemptFailure } from './failures.js';

export interface AttemptObserver {
  /** The attempt failed before anything reached the client; true when another attempt takes over. */
  failed(failure: AttemptFailure): boolean;
  /** The answer (success or not) starts going to the client. */
  committed(status: number): void;
}

/** Error bodies longer than this are relayed as they come, not held for a retry decision. */
const heldErrorBytes = 64 * 1024;

export class AttemptSink implements UpstreamSink {
  private head: UpstreamHead | undefined;
  private held: Buffer[] = [];
  private heldBytes = 0;
  private passing = false;
  private dropped = false;

  constructor(
    private readonly relay: UpstreamSink,
    private readonly observer: AttemptObserver,
  ) {}

  onHeaders(head: UpstreamHead): void {
    if (this.dropped) return;
    this.head = head;
  }

  onData(chunk: Buffer): void {
    if (this.dropped) return;
    if (this.passing) return this.relay.onData(chunk);
    const head = this.head as UpstreamHead;
    if (head.status < 400) {
      this.commit();
      this.relay.onData(chunk);
      return;
    }
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    if (this.heldBytes > heldErrorBytes) this.release();
  }

  onEnd(): void {
    if (this.dropped) return;
    if (this.passing) return this.relay.onEnd();
    const head = this.head as UpstreamHead;
    if (head.status >= 400) {
      const body = Buffer.concat(this.held);
      const failure = failureOfStatus(head.status, body.toString('utf8'), head.retryHeaders);
      if (failure !== undefined && this.observer.failed(failure)) {
        this.drop();
        return;
      }
      this.release();
    } else this.commit();
    this.relay.onEnd();
  }

  onError(error: GatewayError): void {
    if (this.dropped) return;
    if (!this.passing) {
      const failure = failureOfError(error);
      if (failure !== undefined && this.observer.failed(failure)) {
        this.drop();
        return;
      }
      // The relay has seen no headers: it reports the error as a whole response.
      this.passing = true;
    }
    this.relay.onError(error);
  }

  /** Hands the held head and body to the relay; from now on everything passes. */
  private release(): void {
    this.commit();
    for (const chunk of this.held) this.relay.onData(chunk);
    this.held = [];
  }

  private commit(): void {
    this.passing = true;
    const head = this.head as UpstreamHead;
    this.observer.committed(head.status);
    this.relay.onHeaders(head);
  }

  private drop(): void {
    this.dropped = true;
    this.held = [];
  }
}
