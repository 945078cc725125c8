// Plays an answer onto a Reply with the request's timing, backpressure, client aborts and faults.
import type { HeaderList, Reply } from '../server/http.js';
import type { RequestPlan } from './options.js';

/** A streamed answer as SSE text: head, content events (one per chunk of tokens), tail. */
export interface EventStream {
  readonly headers: HeaderList;
  /** Events before the first content event (e.g. the role chunk, message_start). */
  readonly head: string;
  readonly contentCount: number;
  content(index: number): string;
  /** Everything after the last content event, ending with the terminator. */
  readonly tail: string;
  /** An event a conforming client cannot parse, written first by the malformed fault. */
  readonly malformed: string;
}

/** A whole answer sent at once, after the time its tokens would take to generate. */
export interface WholeAnswer {
  readonly status: number;
  readonly headers: HeaderList;
  readonly body: string;
  readonly tokens: number;
  /** What the malformed fault sends instead of the body. */
  readonly malformed: string;
}

export type Outcome = 'completed' | 'aborted';

/** Untimed streams are written in batches this big, so a fast stream is not one syscall per token. */
const batchBytes = 16 * 1024;

/** Cancels a delivery (simulator closing): timers stop and the request counts as aborted. */
export type CancelDelivery = () => void;

export function deliverWhole(reply: Reply, answer: WholeAnswer, plan: RequestPlan, onEnd: (outcome: Outcome) => void): CancelDelivery {
  const ended = once(onEnd);
  const fault = plan.fault;
  let timer: NodeJS.Timeout | undefined;
  const cancel = (): void => {
    clearTimeout(timer);
    ended('aborted');
  };
  reply.onAbort(cancel);
  // Faults that never answer leave the request open until the client goes away.
  if (fault?.kind === 'stall-headers' || fault?.kind === 'stall-after') return cancel;
  const respond = (): void => {
    if (fault?.kind === 'reset-after') reply.destroy();
    else reply.send(answer.status, answer.headers, fault?.kind === 'malformed' ? answer.malformed : answer.body);
    ended('completed');
  };
  const delay = plan.ttft_ms + (plan.tokens_per_second > 0 ? (answer.tokens * 1000) / plan.tokens_per_second : 0);
  if (delay > 0) timer = setTimeout(respond, delay);
  else respond();
  return cancel;
}

export function deliverStream(reply: Reply, stream: EventStream, plan: RequestPlan, onEnd: (outcome: Outcome) => void): CancelDelivery {
  const player = new StreamPlayer(reply, stream, plan, once(onEnd));
  player.start();
  return () => player.cancel();
}

class StreamPlayer {
  private next = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Content index at which a reset/stall fault cuts the stream. */
  private readonly cutAt: number;
  private readonly intervalMs: number;

  constructor(
    private readonly reply: Reply,
    private readonly stream: EventStream,
    private readonly plan: RequestPlan,
    private readonly ended: (outcome: Outcome) => void,
  ) {
    const fault = plan.fault;
    this.cutAt = fault?.kind === 'reset-after' || fault?.kind === 'stall-after' ? Math.min(fault.chunks, stream.contentCount) : -1;
    this.intervalMs = plan.tokens_per_second > 0 ? (plan.chunk_tokens * 1000) / plan.tokens_per_second : 0;
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.ended('aborted');
  }

  start(): void {
    this.reply.onAbort(() => this.cancel());
    if (this.plan.fault?.kind === 'stall-headers') return;
    if (this.plan.ttft_ms > 0) this.timer = setTimeout(() => this.begin(), this.plan.ttft_ms);
    else this.begin();
  }

  private begin(): void {
    this.reply.start(200, this.stream.headers);
    const head = this.plan.fault?.kind === 'malformed' ? this.stream.head + this.stream.malformed : this.stream.head;
    this.pump(head);
  }

  /** Writes events until the stream ends, a fault cuts it, the socket is full or the next token is not due. */
  private pump(pending: string): void {
    let batch = pending;
    const reply = this.reply;
    while (!reply.done) {
      if (this.next === this.cutAt) {
        this.cut(batch);
        return;
      }
      if (this.next === this.stream.contentCount) {
        reply.end(batch + this.stream.tail);
        this.ended('completed');
        return;
      }
      batch += this.stream.content(this.next++);
      if (this.intervalMs > 0) {
        const writable = reply.write(batch);
        const due = (): void => {
          this.timer = setTimeout(() => this.pump(''), this.intervalMs);
        };
        if (writable) due();
        else reply.onDrain(due);
        return;
      }
      if (batch.length >= batchBytes) {
        const writable = reply.write(batch);
        batch = '';
        if (!writable) {
          reply.onDrain(() => this.pump(''));
          return;
        }
      }
    }
  }

  private cut(batch: string): void {
    const reply = this.reply;
    if (batch !== '') reply.write(batch);
    if (this.plan.fault?.kind === 'reset-after') {
      // Let the written chunks leave before the connection drops, so the client sees them, then a reset.
      setImmediate(() => {
        reply.destroy();
        this.ended('completed');
      });
    }
    // stall-after: write nothing more; the abort handler ends the request when the client goes away.
  }
}

function once(onEnd: (outcome: Outcome) => void): (outcome: Outcome) => void {
  let called = false;
  return (outcome) => {
    if (called) return;
    called = true;
    onEnd(outcome);
  };
}
