// Relays the upstream response to the client: SSE event by event with backpressure, or a whole body;
// meters TTFT and usage on the way, runs response filters, and reports how it ended exactly once.
// What an upstream sends is checked once on the way: an encoded body, a non-streamed body or an event
// whose data is not a JSON object, or a stream that stops before [DONE] or a finish_reason becomes an
// error for the client, never something that only looks like an answer.
import { performance } from 'node:perf_hooks';
import type { Reply } from '../server/http.js';
import { SseParser, type SseEvent } from '../sse/parser.js';
import { dataEvent, errorEvent } from '../sse/writer.js';
import { errors, GatewayError, normaliseUpstreamError } from '../shared/errors.js';
import { isJsonObject } from '../shared/json-validate.js';
import type { RequestContext, RequestResult } from './context.js';
import type { ChunkEvent, ResponseFilter, Stage } from './stage.js';
import type { UpstreamExchange, UpstreamHead, UpstreamSink } from './upstream.js';
import { BufferBudget, HeldBytes, shortfallError, type Shortfall } from './buffer-budget.js';
import { carriesContent, finishReasonFromBody, modelFromBody, modelFromText, usageFromBody, usageFromJson, withoutUsageNull } from './usage.js';

const finishReasonField = /"finish_reason"\s*:\s*"([a-z_]+)"/;
/**
 * A finish_reason with a value, a usage object or an error: only the last chunks of a stream have one.
 * One regex pass per event; four String#includes cost five times as much (0.8 µs an event here).
 */
const notableField = /"(?:finish_reason"\s*:\s*"|usage"\s*:\s*\{|error"\s*:)/;
const usageObjectField = /"usage"\s*:\s*\{/;
const errorField = /"error"\s*:/;

/** Until the exchange is known (it always is once the upstream answers). */
const unbounded = new BufferBudget(Number.MAX_SAFE_INTEGER);

type Mode = 'pending' | 'stream' | 'body' | 'error';

export type Outcome = RequestResult['outcome'];

export class Relay implements UpstreamSink {
  exchange: UpstreamExchange | undefined;
  private mode: Mode = 'pending';
  private status = 0;
  private contentType = 'application/json';
  private readonly parser = new SseParser();
  /** A body, or a stream's incomplete event, counted against the thread's budget; released when the relay finishes. */
  private held: HeldBytes | undefined;
  private paused = false;
  /** Upstream headers worth relaying with an error status (retry-after, retry-after-ms, x-should-retry). */
  private errorHeaders: Array<[string, string]> = [];
  private ended = false;
  private firstTokenSeen = false;
  private filtersFlushed = false;
  /** The stream carried [DONE]; with a finish_reason (in ctx.result) this tells a complete stream from a cut one. */
  private doneSeen = false;
  /** The upstream sent an error event: relayed (redacted), and it is how the request ended. */
  private upstreamFailed = false;
  /** Set by meter() on an event that fails the stream; the events before it are still relayed. */
  private failure: GatewayError | undefined;
  private readonly sentAt = performance.now();
  /**
   * The gateway asked for usage on the client's behalf (stream_options.include_usage): every chunk then
   * carries "usage":null, which the client did not ask to see.
   */
  private readonly hideUsageNull: boolean;
  private readonly mutating: ResponseFilter[];
  private readonly observers: ResponseFilter[];

  constructor(
    private readonly ctx: RequestContext,
    private readonly reply: Reply,
    private readonly stages: readonly Stage[],
    filters: ResponseFilter[],
    private readonly onDone: (outcome: Outcome) => void,
  ) {
    this.hideUsageNull = ctx.stream && !ctx.clientWantsUsage;
    this.mutating = filters.filter((f) => f.mutates);
    this.observers = filters.filter((f) => !f.mutates);
    reply.onAbort(() => {
      this.exchange?.abort();
      this.finish('aborted');
    });
  }

  onHeaders(head: UpstreamHead): void {
    this.ctx.result.upstreamHeadersMs = performance.now() - this.ctx.receivedAt;
    const status = head.status;
    this.status = status;
    if (head.contentType !== undefined) this.contentType = head.contentType;
    this.held = new HeldBytes(this.exchange?.buffers ?? unbounded);
    // The request said accept-encoding: identity; compressed bytes relayed as they are would reach the client as garbage.
    if (head.contentEncoding !== undefined && head.contentEncoding !== 'identity') {
      this.fail(errors.upstreamEncoding(this.provider, head.contentEncoding));
      return;
    }
    if (status >= 400) {
      this.mode = 'error';
      if (head.retryHeaders !== undefined) this.errorHeaders = head.retryHeaders;
    } else if (this.ctx.stream && this.contentType.startsWith('text/event-stream')) {
      this.mode = 'stream';
      this.reply.start(200, [
        ['content-type', 'text/event-stream; charset=utf-8'],
        ['cache-control', 'no-cache'],
        ['x-request-id', this.ctx.id],
        ...this.ctx.responseHeaders,
      ]);
      return;
    } else this.mode = 'body';
    // A body announced too large is refused before its first byte is read.
    if (head.contentLength !== undefined) this.refuseIf(this.held.expect(head.contentLength));
  }

  onData(chunk: Buffer): void {
    const held = this.held;
    if (this.ended || held === undefined) return;
    if (this.mode === 'stream') {
      this.relayEvents(this.parser.push(chunk));
      if (!this.ended) this.refuseIf(held.holdExactly(this.parser.pendingBytes));
      return;
    }
    this.refuseIf(held.append(chunk));
  }

  onEnd(): void {
    if (this.ended) return;
    this.ctx.result.upstreamMs = performance.now() - this.sentAt;
    if (this.mode === 'stream') {
      this.endStream();
      return;
    }
    const body = this.held?.body() ?? Buffer.alloc(0);
    if (this.mode === 'error') {
      const normalised = normaliseUpstreamError(this.status, body.toString('utf8'), this.provider, this.redact);
      this.ctx.result.error = { type: normalised.error.type, code: normalised.error.code, message: normalised.error.message };
      this.sendWhole(this.status, JSON.stringify(normalised), 'application/json', this.errorHeaders);
      this.finish(this.status >= 500 || this.status === 429 ? 'upstream_error' : 'client_error');
      return;
    }
    this.sendBody(body);
  }

  onError(error: GatewayError): void {
    if (this.ended) return;
    this.ctx.result.upstreamMs = performance.now() - this.sentAt;
    this.fail(error);
  }

  private get provider(): string {
    return this.ctx.deployment?.provider.name ?? 'upstream';
  }

  /** Credentials out of text the upstream wrote, before the client or the audit record sees it. */
  private readonly redact = (text: string): string => this.exchange?.redactor.redact(text) ?? text;

  /**
   * Ends the request with `error`: a whole error response, or once a stream has started, its last
   * event (the OpenAI SDKs raise it as an APIError). The upstream exchange, if still open, is cut.
   */
  private fail(error: GatewayError, outcome: Outcome = 'upstream_error'): void {
    this.ctx.result.error = { type: String(error.type), code: error.code, message: error.message };
    this.exchange?.abort();
    if (this.mode === 'stream') {
      this.flushFilters();
      this.reply.end(errorEvent(error.toBody()));
    } else {
      this.sendWhole(error.status, error.toJSON(), 'application/json', error.headers ? Object.entries(error.headers) : []);
    }
    this.finish(outcome);
  }

  /** Bytes that would not fit the thread's budget end the request: for good (502) or for now (503). */
  private refuseIf(shortfall: Shortfall | undefined): void {
    if (shortfall === undefined) return;
    const error = shortfallError(shortfall, this.provider, this.exchange?.buffers.limit ?? unbounded.limit);
    this.fail(error, shortfall === 'full' ? 'gateway_error' : 'upstream_error');
  }

  private endStream(): void {
    // An event cut by the end of the stream is no event (clients drop it too), so it is not relayed;
    // without [DONE] or a finish_reason the answer was cut short, which the client must learn.
    if (!this.doneSeen && this.ctx.result.finishReason === undefined && !this.upstreamFailed) {
      this.fail(errors.upstreamIncompleteStream(this.provider));
      return;
    }
    this.flushFilters();
    this.reply.end();
    this.finish(this.upstreamFailed ? 'upstream_error' : 'ok');
  }

  private sendBody(raw: Buffer): void {
    const result = this.ctx.result;
    let body: Buffer | string = raw;
    const withBody = this.mutating.filter((f) => f.onBody);
    const observing = this.observers.filter((f) => f.onBody);
    if (withBody.length > 0 || observing.length > 0) {
      // Parsed once here, for the filters; that is also the validity check.
      let json = parseData(raw.toString('utf8'));
      if (json === undefined) {
        this.fail(this.invalidBody(raw));
        return;
      }
      for (const f of observing) f.onBody?.(json);
      for (const f of withBody) json = f.onBody?.(json) ?? json;
      if (withBody.length > 0) body = JSON.stringify(json);
      result.usage = usageFromJson(json.usage);
      result.responseModel = typeof json.model === 'string' ? json.model : undefined;
      const first = Array.isArray(json.choices) ? (json.choices[0] as { finish_reason?: unknown } | undefined) : undefined;
      result.finishReason = typeof first?.finish_reason === 'string' ? first.finish_reason : undefined;
    } else {
      if (!isJsonObject(raw)) {
        this.fail(this.invalidBody(raw));
        return;
      }
      result.usage = usageFromBody(raw);
      result.responseModel = modelFromBody(raw);
      result.finishReason = finishReasonFromBody(raw);
    }
    this.markFirstToken();
    if (this.ctx.keepResponseBody) {
      result.responseBody = typeof body === 'string' ? Buffer.from(body) : body;
      result.responseBodyIsJson = true;
    }
    this.sendWhole(this.status, body, this.contentType);
    this.finish('ok');
  }

  private invalidBody(raw: Buffer): GatewayError {
    return errors.upstreamInvalidResponse(this.provider, `the body is not a valid JSON object (${raw.length} bytes, content-type '${this.contentType.slice(0, 60)}').`);
  }

  private sendWhole(status: number, body: string | Buffer, contentType: string, extra: Array<[string, string]> = []): void {
    this.ctx.result.status = status;
    this.reply.send(status, [['content-type', contentType], ['x-request-id', this.ctx.id], ...this.ctx.responseHeaders, ...extra], body);
  }

  private relayEvents(events: SseEvent[]): void {
    if (events.length === 0) return;
    if (this.mutating.length > 0) {
      for (const event of events) {
        this.relayThroughFilters(event);
        if (this.failure) break;
      }
    } else this.relayUnfiltered(events);
    if (this.failure) this.fail(this.failure);
  }

  /** Events that pass as they came (nearly always all of them) are written as the one slice they arrived in. */
  private relayUnfiltered(events: SseEvent[]): void {
    let changed: Buffer[] | undefined;
    for (let i = 0; i < events.length; i++) {
      const event = events[i];
      const out = this.meter(event);
      if (out === event && changed === undefined) continue;
      changed ??= events.slice(0, i).map((e) => e.raw);
      if (this.failure) break;
      if (out !== null) changed.push(out.raw);
    }
    if (changed === undefined) {
      const first = events[0].raw;
      const last = events[events.length - 1].raw;
      this.write(Buffer.from(first.buffer, first.byteOffset, last.byteOffset + last.length - first.byteOffset));
    } else if (changed.length > 0) {
      this.write(Buffer.concat(changed));
    }
  }

  private relayThroughFilters(event: SseEvent): void {
    const metered = this.meter(event);
    if (metered === null) return;
    if (metered.data === '[DONE]') {
      this.flushFilters();
      this.write(metered.raw);
      return;
    }
    const out = runFilters(this.mutating, [{ data: metered.data, json: parseData(metered.data) }]);
    for (const e of out) this.write(e.data === metered.data ? metered.raw : serialise(e));
  }

  private flushFilters(): void {
    if (this.filtersFlushed) return;
    this.filtersFlushed = true;
    for (let i = 0; i < this.mutating.length; i++) {
      const held = this.mutating[i].onEnd?.() ?? [];
      // Held-back events still pass through the filters after the one that held them.
      for (const e of runFilters(this.mutating.slice(i + 1), held)) this.write(serialise(e));
    }
    for (const o of this.observers) o.onEnd?.();
  }

  /**
   * Meters one event and returns what the client gets of it: the event itself (nearly always), a copy
   * with credentials redacted (an upstream error event), or null (a usage chunk the client did not ask
   * for, or an event that set `failure`).
   */
  private meter(event: SseEvent): SseEvent | null {
    const result = this.ctx.result;
    if (event.data === '') return event;
    if (event.data === '[DONE]') {
      this.doneSeen = true;
      return event;
    }
    // Observers need each event parsed, and that parse is the validity check too; without them the
    // bytes are checked in place (no copy, no objects) on the path every event takes.
    const observed = this.observers.length > 0;
    let json = observed ? parseData(event.data) : undefined;
    if (observed ? json === undefined : !dataIsObject(event)) {
      this.failure = errors.upstreamInvalidResponse(this.provider, `an SSE event's data is not a valid JSON object (${Buffer.byteLength(event.data)} bytes).`);
      return null;
    }
    // Most chunks carry "finish_reason":null and (usage being asked for) "usage":null: skip those cheaply.
    const notable = notableField.test(event.data);
    let out = event;
    if (notable && errorField.test(event.data)) {
      json ??= parseData(event.data);
      if (json?.error !== undefined && json.error !== null) out = this.upstreamError(event);
      if (out !== event) json = observed ? parseData(out.data) : undefined;
    }
    const data = out.data;
    result.chunks++;
    if (!this.firstTokenSeen && carriesContent(data)) this.markFirstToken();
    if (observed) {
      const view: ChunkEvent = { data, json };
      for (const o of this.observers) o.onEvent?.(view);
    }
    if (result.responseModel === undefined) result.responseModel = modelFromText(data);
    if (!notable) return out;
    const finish = finishReasonField.exec(data);
    if (finish) result.finishReason = finish[1];
    if (usageObjectField.test(data)) {
      json ??= parseData(data);
      if (json) {
        result.usage = usageFromJson(json.usage);
        const choices = json.choices;
        if (Array.isArray(choices) && choices.length === 0 && !this.ctx.clientWantsUsage) return null;
      }
    }
    return out;
  }

  /** An error the upstream sent inside the stream: how the request ended, relayed without the credentials it may quote. */
  private upstreamError(event: SseEvent): SseEvent {
    const normalised = normaliseUpstreamError(this.status, event.data, this.provider, this.redact);
    this.ctx.result.error = { type: normalised.error.type, code: normalised.error.code, message: normalised.error.message };
    this.upstreamFailed = true;
    if (this.redact(event.data) === event.data) return event;
    const raw = Buffer.from(errorEvent(normalised));
    return { raw, event: undefined, data: JSON.stringify(normalised), dataStart: -1, dataEnd: -1 };
  }

  private markFirstToken(): void {
    if (this.firstTokenSeen) return;
    this.firstTokenSeen = true;
    this.ctx.result.ttftMs = performance.now() - this.ctx.receivedAt;
    for (const stage of this.stages) stage.onFirstToken?.(this.ctx);
  }

  private write(chunk: string | Buffer): void {
    if (this.hideUsageNull) chunk = withoutUsageNull(chunk);
    if (this.reply.write(chunk) || this.paused || this.reply.done) return;
    this.paused = true;
    this.exchange?.pause();
    this.reply.onDrain(() => {
      this.paused = false;
      this.exchange?.resume();
    });
  }

  private finish(outcome: Outcome): void {
    if (this.ended) return;
    this.ended = true;
    this.held?.release();
    const result = this.ctx.result;
    if (result.status === 0) result.status = outcome === 'aborted' ? 499 : 200;
    if (outcome === 'ok' && this.status >= 400) outcome = 'client_error';
    this.onDone(outcome);
  }
}

function runFilters(filters: readonly ResponseFilter[], events: ChunkEvent[]): ChunkEvent[] {
  let pending = events;
  for (const filter of filters) {
    if (!filter.onEvent) continue;
    const next: ChunkEvent[] = [];
    for (const e of pending) {
      const out = filter.onEvent(e);
      if (out === null) continue;
      if (Array.isArray(out)) next.push(...out);
      else next.push(out);
    }
    pending = next;
  }
  return pending;
}

/** A JSON object, or undefined for anything else (invalid JSON, an array, a number, null, [DONE]). */
function parseData(data: string): Record<string, unknown> | undefined {
  if (data === '[DONE]') return undefined;
  try {
    const parsed: unknown = JSON.parse(data);
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether an event's data is a JSON object, checked on its bytes where the parser framed them. */
function dataIsObject(event: SseEvent): boolean {
  return event.dataStart >= 0 ? isJsonObject(event.raw, event.dataStart, event.dataEnd) : isJsonObject(Buffer.from(event.data));
}

function serialise(event: ChunkEvent): string {
  return event.json ? dataEvent(event.json) : `data: ${event.data}\n\n`;
}
