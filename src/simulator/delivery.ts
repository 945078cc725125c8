// Plays an answer onto a Reply with the request's timing, backpressure, client aborts and faults.
import { gzipSync } from 'node:zlib';
import type { HeaderList, Reply } from '../server/http.js';
import { GatewayError } from '../shared/errors.js';
import { errorEvent } from '../sse/writer.js';
import type { Fault, RequestPlan } from './options.js';

/** Part of a streamed answer: SSE text, or binary frames (AWS event stream). */
export type StreamPiece = string | Uint8Array;

/** A streamed answer: head, content events (one per chunk of tokens), tail. */
export interface EventStream {
  readonly headers: HeaderList;
  /** Events before the first content event (e.g. the role chunk, message_start). */
  readonly head: StreamPiece;
  readonly contentCount: number;
  content(index: number): StreamPiece;
  /** Everything after the last content event, ending with the terminator. */
  readonly tail: StreamPiece;
  /** An event a conforming client cannot parse, written first by the malformed fault. */
  readonly malformed: StreamPiece;
}

/** Text stays text (the SSE families' path is unchanged); any binary piece makes the result bytes. */
function join(a: StreamPiece, b: StreamPiece): StreamPiece {
  if (typeof a === 'string' && typeof b === 'string') return a + b;
  return Buffer.concat([typeof a === 'string' ? Buffer.from(a) : a, typeof b === 'string' ? Buffer.from(b) : b]);
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
  if (fault?.kind === 'key-echo') {
    sendKeyEcho(reply, fault.key);
    ended('completed');
    return cancel;
  }
  const respond = (): void => {
    if (fault?.kind === 'reset-after') reply.destroy();
    else if (fault?.kind === 'invalid-json') reply.send(200, htmlHeaders, htmlPage);
    else if (fault?.kind === 'gzip') reply.send(answer.status, gzipHeaders(answer.headers), gzipSync(answer.body));
    else reply.send(answer.status, answer.headers, wholeBody(answer, fault));
    ended('completed');
  };
  const delay = plan.ttft_ms + (plan.tokens_per_second > 0 ? (answer.tokens * 1000) / plan.tokens_per_second : 0);
  if (delay > 0) timer = setTimeout(respond, delay);
  else respond();
  return cancel;
}

/** What a proxy in front of a provider answers when the provider is down, whatever was asked. */
const htmlPage = '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>';
const htmlHeaders: HeaderList = [['content-type', 'text/html']];

function gzipHeaders(headers: HeaderList): HeaderList {
  return [...headers, ['content-encoding', 'gzip']];
}

function wholeBody(answer: WholeAnswer, fault: Fault | undefined): string {
  if (fault?.kind === 'malformed') return answer.malformed;
  // A valid JSON prefix, cut where a connection closed early by a proxy would leave it.
  if (fault?.kind === 'truncated' || fault?.kind === 'end-after') return answer.body.slice(0, answer.body.length >> 1);
  return answer.body;
}

/** OpenAI's answer to a wrong key, quoting it unmasked as some providers do. */
function keyEchoError(key: string): GatewayError {
  return new GatewayError(401, `Incorrect API key provided: ${key}. You can find your API key at https://platform.openai.com/account/api-keys.`, {
    type: 'invalid_request_error',
    code: 'invalid_api_key',
  });
}

function sendKeyEcho(reply: Reply, key: string): void {
  reply.send(401, [['content-type', 'application/json']], keyEchoError(key).toJSON());
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
    this.cutAt =
      fault?.kind === 'reset-after' || fault?.kind === 'stall-after' || fault?.kind === 'end-after'
        ? Math.min(fault.chunks, stream.contentCount)
        : fault?.kind === 'truncated'
          ? 0
          : -1;
    this.intervalMs = plan.tokens_per_second > 0 ? (plan.chunk_tokens * 1000) / plan.tokens_per_second : 0;
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.ended('aborted');
  }

  start(): void {
    this.reply.onAbort(() => this.cancel());
    const fault = this.plan.fault;
    if (fault?.kind === 'stall-headers') return;
    if (fault?.kind === 'key-echo' && !fault.inStream) {
      sendKeyEcho(this.reply, fault.key);
      this.ended('completed');
      return;
    }
    if (this.plan.ttft_ms > 0) this.timer = setTimeout(() => this.begin(), this.plan.ttft_ms);
    else this.begin();
  }

  private begin(): void {
    const fault = this.plan.fault;
    if (fault?.kind === 'invalid-json' || fault?.kind === 'gzip') {
      if (fault.kind === 'invalid-json') this.reply.send(200, htmlHeaders, htmlPage);
      else this.reply.send(200, gzipHeaders(this.stream.headers), gzipSync(this.wholeText()));
      this.ended('completed');
      return;
    }
    this.reply.start(200, this.stream.headers);
    if (fault?.kind === 'key-echo') {
      // A provider failing after the stream started: an error event, then the end.
      this.reply.end(join(this.stream.head, errorEvent(keyEchoError(fault.key).toBody())));
      this.ended('completed');
      return;
    }
    const head = fault?.kind === 'malformed' ? join(this.stream.head, this.stream.malformed) : this.stream.head;
    this.pump(head);
  }

  private wholeText(): StreamPiece {
    let text = this.stream.head;
    for (let i = 0; i < this.stream.contentCount; i++) text = join(text, this.stream.content(i));
    return join(text, this.stream.tail);
  }

  /** Writes events until the stream ends, a fault cuts it, the socket is full or the next token is not due. */
  private pump(pending: StreamPiece): void {
    let batch = pending;
    const reply = this.reply;
    while (!reply.done) {
      if (this.next === this.cutAt) {
        this.cut(batch);
        return;
      }
      if (this.next === this.stream.contentCount) {
        reply.end(join(batch, this.stream.tail));
        this.ended('completed');
        return;
      }
      batch = join(batch, this.stream.content(this.next++));
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

  private cut(batch: StreamPiece): void {
    const reply = this.reply;
    const fault = this.plan.fault;
    if (fault?.kind === 'end-after' || fault?.kind === 'truncated') {
      // A clean end (the chunked terminator) where the stream should have gone on: no finish_reason, no [DONE].
      const next = this.next < this.stream.contentCount ? this.stream.content(this.next) : this.stream.tail;
      reply.end(fault.kind === 'truncated' ? join(batch, next.slice(0, next.length >> 1)) : batch);
      this.ended('completed');
      return;
    }
    if (batch.length > 0) reply.write(batch);
    if (fault?.kind === 'reset-after') {
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
