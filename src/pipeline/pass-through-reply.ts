// Same dialect on both sides (Anthropic client → Anthropic provider, Responses client → OpenAI): the
// relay still meters and filters the canonical translation, but the client gets the provider's own
// bytes, so nothing is re-serialised (thinking signatures and unknown fields reach it untouched).
// Only used when no response filter changes the answer; errors are still rendered from the canonical
// (redacted) error, in the client's dialect.
import type { HeaderList, Reply } from '../server/http.js';
import { DelegatingReply } from './delegating-reply.js';
import type { ClientDialect, EncodeContext } from '../translate/dialect.js';
import type { RequestResult } from './context.js';
import { readCanonicalError, sendInDialect, statusOfType } from './dialect-reply.js';
import { SseParser } from '../sse/parser.js';
import type { RawTap } from './translating-sink.js';

export class PassThroughReply extends DelegatingReply {
  private pending: Buffer[] = [];
  readonly tap: RawTap = {
    push: (chunk: Buffer) => {
      this.pending.push(chunk);
    },
  };

  constructor(
    inner: Reply,
    private readonly dialect: ClientDialect,
    private readonly encode: EncodeContext,
    private readonly result: RequestResult,
  ) {
    super(inner);
  }

  send(status: number, headers: HeaderList, body: string | Uint8Array): void {
    if (status >= 400) return sendInDialect(this.inner, this.dialect, this.result, status, headers, body);
    const raw = this.take();
    if (this.result.responseBody !== undefined) this.result.responseBody = raw;
    this.inner.send(status, headers, raw);
  }

  start(status: number, headers: HeaderList): void {
    this.inner.start(status, headers);
  }

  /** The relay passed canonical events on: the provider bytes they came from go out instead. */
  write(_chunk: string | Uint8Array): boolean {
    if (this.pending.length === 0) return true;
    return this.inner.write(this.take());
  }

  end(chunk?: string | Uint8Array): void {
    if (chunk === undefined) {
      const rest = this.take();
      this.inner.end(rest.length > 0 ? rest : undefined);
      return;
    }
    // The relay ends a failed stream with a canonical error event: said in the dialect, the provider's
    // unrelayed bytes (the cause of the failure, or a cut event) dropped.
    this.pending = [];
    const events = new SseParser().push(Buffer.from(typeof chunk === 'string' ? chunk : Buffer.from(chunk)));
    const last = events[events.length - 1];
    const error = readCanonicalError(last?.data ?? '');
    this.inner.end(this.dialect.streamEncoder(this.encode).error(error, statusOfType(error.error.type)));
  }

  private take(): Buffer {
    const out = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
    this.pending = [];
    return out;
  }
}
