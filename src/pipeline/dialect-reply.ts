// The client's side of translation: the relay and the handler write canonical answers (OpenAI bodies,
// chunks, errors) to this Reply, and the client receives them in its own dialect.
import type { HeaderList, Reply } from '../server/http.js';
import { DelegatingReply } from './delegating-reply.js';
import { SseParser } from '../sse/parser.js';
import type { CanonicalError, ChatChunk, ChatCompletion } from '../translate/canonical.js';
import type { ClientDialect, EncodeContext, StreamEncoder } from '../translate/dialect.js';
import type { RequestResult } from './context.js';

export function isCanonicalError(value: unknown): value is CanonicalError {
  const error = (value as { error?: unknown } | null)?.error;
  return error !== null && typeof error === 'object';
}

/** A canonical error body as the relay or handler wrote it; anything unreadable becomes a plain api_error. */
export function readCanonicalError(text: string): CanonicalError {
  try {
    const parsed: unknown = JSON.parse(text);
    if (isCanonicalError(parsed)) return parsed;
  } catch {
    // fall through
  }
  return { error: { message: text.slice(0, 500), type: 'api_error', param: null, code: null } };
}

function text(body: string | Uint8Array): string {
  return typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
}

/**
 * A canonical error answer (what the relay or handler sends with a status ≥ 400, always JSON) sent as
 * the dialect says it, with the dialect's status, which is then the request's.
 */
export function sendInDialect(inner: Reply, dialect: ClientDialect, result: RequestResult, status: number, headers: HeaderList, body: string | Uint8Array): void {
  const answer = dialect.error(status, readCanonicalError(text(body)));
  result.status = answer.status;
  inner.send(answer.status, headers, answer.body);
}

export class DialectReply extends DelegatingReply {
  private encoder: StreamEncoder | undefined;
  private readonly parser = new SseParser();
  private ended = false;
  private failed = false;

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
    const completion = JSON.parse(text(body)) as ChatCompletion;
    const out = JSON.stringify(this.dialect.fromCompletion(completion, this.encode));
    if (this.result.responseBody !== undefined) this.result.responseBody = Buffer.from(out);
    this.inner.send(status, headers, out);
  }

  start(status: number, headers: HeaderList): void {
    this.encoder = this.dialect.streamEncoder(this.encode);
    this.inner.start(status, headers);
  }

  write(chunk: string | Uint8Array): boolean {
    const out = this.translate(chunk);
    return out === '' ? true : this.inner.write(out);
  }

  end(chunk?: string | Uint8Array): void {
    let out = chunk === undefined ? '' : this.translate(chunk);
    if (!this.ended && !this.failed && this.encoder) {
      this.ended = true;
      out += this.encoder.end();
    }
    this.inner.end(out === '' ? undefined : out);
  }

  /** Canonical SSE bytes → the dialect's events; after an error event nothing more is said. */
  private translate(chunk: string | Uint8Array): string {
    const encoder = this.encoder;
    if (encoder === undefined) return '';
    let out = '';
    for (const event of this.parser.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))) {
      if (this.failed || this.ended || event.data === '') continue;
      if (event.data === '[DONE]') {
        this.ended = true;
        out += encoder.end();
        continue;
      }
      const parsed = JSON.parse(event.data) as ChatChunk | CanonicalError;
      if (isCanonicalError(parsed)) {
        this.failed = true;
        out += encoder.error(parsed, statusOfType(parsed.error.type));
      } else out += encoder.push(parsed);
    }
    return out;
  }
}

/** The status an error event stands for, for dialects whose events carry one. */
export function statusOfType(type: string): number {
  switch (type) {
    case 'invalid_request_error':
      return 400;
    case 'authentication_error':
      return 401;
    case 'permission_error':
      return 403;
    case 'not_found_error':
      return 404;
    case 'rate_limit_error':
      return 429;
    case 'overloaded_error':
      return 503;
    case 'timeout_error':
      return 504;
    default:
      return 500;
  }
}
