// Sits between the upstream and the relay when the provider does not speak the canonical form: turns the
// provider's answer (a body, an SSE or AWS event stream, an error) into canonical bytes, so the relay,
// its metering and every response filter see OpenAI chunks whatever the provider. When the client speaks
// the provider's own dialect, `tap` also receives the provider's bytes as they came (see PassThroughReply).
import { errors, GatewayError } from '../shared/errors.js';
import { SseParser } from '../sse/parser.js';
import { doneEvent } from '../sse/writer.js';
import type { ChatChunk, CanonicalError, JsonObject } from '../translate/canonical.js';
import type { ProviderAdapter, ProviderTarget, StreamDecoder, StreamFramer, UpstreamEvent } from '../translate/provider.js';
import { BufferBudget, HeldBytes, shortfallError, type Shortfall } from './buffer-budget.js';
import type { UpstreamExchange, UpstreamHead, UpstreamSink } from './upstream.js';

/** How one response is decoded: the provider's chat translator, or a pass-through family's decoder. */
export interface ResponseDecoding {
  response(body: JsonObject, target: ProviderTarget): unknown;
  stream(target: ProviderTarget): StreamDecoder;
}

/** Receives the provider's own bytes, for a client that speaks the provider's dialect. */
export interface RawTap {
  push(chunk: Buffer): void;
}

class SseFramer implements StreamFramer {
  private readonly parser = new SseParser();
  get pendingBytes(): number {
    return this.parser.pendingBytes;
  }
  push(chunk: Buffer): UpstreamEvent[] {
    return this.parser.push(chunk).map((e) => ({ event: e.event, data: e.data }));
  }
}

const unbounded = new BufferBudget(Number.MAX_SAFE_INTEGER);
const jsonType = 'application/json';

/** 'relayed': the relay took the response as it came (an encoded body, which it refuses), nothing more to do here. */
type Mode = 'pending' | 'stream' | 'body' | 'error' | 'relayed';

export class TranslatingSink implements UpstreamSink {
  private mode: Mode = 'pending';
  private head: UpstreamHead | undefined;
  private held: HeldBytes | undefined;
  private framer: StreamFramer | undefined;
  private decoder: StreamDecoder | undefined;
  private doneSent = false;
  private failed = false;

  constructor(
    private readonly relay: UpstreamSink,
    private readonly adapter: ProviderAdapter,
    private readonly decoding: ResponseDecoding,
    private readonly target: ProviderTarget,
    private readonly exchange: () => UpstreamExchange | undefined,
    private readonly tap?: RawTap,
  ) {}

  onHeaders(head: UpstreamHead): void {
    this.head = head;
    if (head.contentEncoding !== undefined && head.contentEncoding !== 'identity') {
      this.mode = 'relayed';
      this.relay.onHeaders(head);
      return;
    }
    this.held = new HeldBytes(this.exchange()?.buffers ?? unbounded);
    if (head.status >= 400) {
      // The relay learns the status once the body says which error it is (e.g. Anthropic 529 → 503).
      this.mode = 'error';
      return;
    }
    const streamed = this.target.stream && head.status < 300 && isStreamType(head.contentType, this.adapter.framing);
    if (streamed) {
      this.framer = this.adapter.framer?.() ?? new SseFramer();
      this.decoder = this.decoding.stream(this.target);
      this.mode = 'stream';
      this.relay.onHeaders({ ...head, contentType: 'text/event-stream', contentLength: undefined });
      return;
    }
    this.mode = 'body';
    this.relay.onHeaders({ ...head, contentType: jsonType, contentLength: undefined });
  }

  onData(chunk: Buffer): void {
    if (this.failed || this.mode === 'relayed') return;
    if (this.mode === 'stream') {
      this.tap?.push(chunk);
      this.translate(() => (this.framer as StreamFramer).push(chunk).flatMap((e) => (this.decoder as StreamDecoder).push(e)));
      return;
    }
    this.refuseIf(this.held?.append(chunk));
  }

  onEnd(): void {
    if (this.failed || this.mode === 'relayed') return;
    if (this.mode === 'stream') {
      this.translate(() => (this.decoder as StreamDecoder).end());
      if (!this.failed) this.relay.onEnd();
      return;
    }
    const body = this.held?.body() ?? Buffer.alloc(0);
    this.held?.release();
    if (this.mode === 'error') {
      const head = this.head as UpstreamHead;
      const mapped = this.adapter.error(head.status, body.toString('utf8'));
      const retryHeaders = head.retryHeaders ?? mapped.retryHeaders;
      this.relay.onHeaders({ ...head, status: mapped.status, contentType: jsonType, contentLength: undefined, retryHeaders });
      this.tap?.push(body);
      this.relay.onData(Buffer.from(JSON.stringify(mapped.body)));
      this.relay.onEnd();
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      parsed = undefined;
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      this.failWith(errors.upstreamInvalidResponse(this.provider, `the body is not a valid JSON object (${body.length} bytes).`));
      return;
    }
    let canonical: unknown;
    try {
      canonical = this.decoding.response(parsed as JsonObject, this.target);
    } catch (err) {
      this.failWith(asGatewayError(err, this.provider));
      return;
    }
    this.tap?.push(body);
    this.relay.onData(Buffer.from(JSON.stringify(canonical)));
    this.relay.onEnd();
  }

  onError(error: GatewayError): void {
    this.held?.release();
    if (this.failed) return;
    this.failed = true;
    this.relay.onError(error);
  }

  private get provider(): string {
    return this.target.provider.name;
  }

  /** Decodes, then hands the relay canonical SSE: the chunks, and [DONE] once the provider's stream is complete. */
  private translate(decode: () => Array<ChatChunk | CanonicalError>): void {
    let chunks: Array<ChatChunk | CanonicalError>;
    try {
      chunks = decode();
    } catch (err) {
      this.failWith(asGatewayError(err, this.provider));
      return;
    }
    let text = '';
    for (const chunk of chunks) text += `data: ${JSON.stringify(chunk)}\n\n`;
    if (!this.doneSent && this.decoder?.complete) {
      this.doneSent = true;
      text += doneEvent;
    }
    if (this.refuseIf(this.held?.holdExactly(this.framer?.pendingBytes ?? 0))) return;
    if (text !== '') this.relay.onData(Buffer.from(text));
  }

  /** Bytes that would not fit the thread's budget end the response, as the relay ends its own (shortfallError). */
  private refuseIf(shortfall: Shortfall | undefined): boolean {
    if (shortfall === undefined) return false;
    this.failWith(shortfallError(shortfall, this.provider, this.exchange()?.buffers.limit ?? unbounded.limit));
    return true;
  }

  private failWith(error: GatewayError): void {
    this.held?.release();
    this.failed = true;
    this.exchange()?.abort();
    this.relay.onError(error);
  }
}

function isStreamType(contentType: string | undefined, framing: ProviderAdapter['framing']): boolean {
  if (contentType === undefined) return false;
  return framing === 'sse' ? contentType.startsWith('text/event-stream') : contentType.startsWith('application/vnd.amazon.eventstream');
}

function asGatewayError(err: unknown, provider: string): GatewayError {
  if (err instanceof GatewayError) return err;
  return errors.upstreamInvalidResponse(provider, (err as Error)?.message ?? String(err));
}
