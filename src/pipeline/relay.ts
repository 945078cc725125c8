// Relays the upstream response to the client: SSE event by event with backpressure, or a whole body;
// meters TTFT and usage on the way, runs response filters, and reports how it ended exactly once.
import { performance } from 'node:perf_hooks';
import type { Reply } from '../server/http.js';
import { SseParser, type SseEvent } from '../sse/parser.js';
import { dataEvent, errorEvent } from '../sse/writer.js';
import { GatewayError, normaliseUpstreamError } from '../shared/errors.js';
import type { RequestContext, RequestResult } from './context.js';
import type { ChunkEvent, ResponseFilter, Stage } from './stage.js';
import type { UpstreamExchange, UpstreamHead, UpstreamSink } from './upstream.js';
import { carriesContent, finishReasonFromBody, modelFromBody, modelFromText, usageFromBody, usageFromJson } from './usage.js';

const finishReasonField = /"finish_reason"\s*:\s*"([a-z_]+)"/;
/**
 * A finish_reason with a value or a usage object: only the last chunks of a stream have one. One
 * regex pass per event; four String#includes cost five times as much (0.8 µs an event here).
 */
const finishOrUsage = /"(?:finish_reason"\s*:\s*"|usage"\s*:\s*\{)/;
const usageObjectField = /"usage"\s*:\s*\{/;

/** Upstream bodies larger than this are refused rather than buffered. */
const maxUpstreamBody = 256 * 1024 * 1024;

type Mode = 'pending' | 'stream' | 'body' | 'error';

export type Outcome = RequestResult['outcome'];

export class Relay implements UpstreamSink {
  exchange: UpstreamExchange | undefined;
  private mode: Mode = 'pending';
  private status = 0;
  private contentType = 'application/json';
  private readonly parser = new SseParser();
  private chunks: Buffer[] = [];
  private bodyBytes = 0;
  private paused = false;
  /** Upstream headers worth relaying with an error status (retry-after, retry-after-ms, x-should-retry). */
  private errorHeaders: Array<[string, string]> = [];
  private ended = false;
  private firstTokenSeen = false;
  private filtersFlushed = false;
  private readonly sentAt = performance.now();
  private readonly mutating: ResponseFilter[];
  private readonly observers: ResponseFilter[];

  constructor(
    private readonly ctx: RequestContext,
    private readonly reply: Reply,
    private readonly stages: readonly Stage[],
    filters: ResponseFilter[],
    private readonly onDone: (outcome: Outcome) => void,
  ) {
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
    if (status >= 400) {
      this.mode = 'error';
      if (head.retryHeaders !== undefined) this.errorHeaders = head.retryHeaders;
    }
    else if (this.ctx.stream && this.contentType.startsWith('text/event-stream')) {
      this.mode = 'stream';
      this.reply.start(200, [
        ['content-type', 'text/event-stream; charset=utf-8'],
        ['cache-control', 'no-cache'],
        ['x-request-id', this.ctx.id],
        ...this.ctx.responseHeaders,
      ]);
    } else this.mode = 'body';
  }

  onData(chunk: Buffer): void {
    if (this.ended) return;
    if (this.mode === 'stream') {
      this.relayEvents(this.parser.push(chunk));
      return;
    }
    this.bodyBytes += chunk.length;
    if (this.bodyBytes > maxUpstreamBody) {
      this.exchange?.abort();
      this.fail(new GatewayError(502, `Provider response exceeds ${maxUpstreamBody} bytes.`, { code: 'upstream_too_large' }));
      return;
    }
    this.chunks.push(chunk);
  }

  onEnd(): void {
    if (this.ended) return;
    this.ctx.result.upstreamMs = performance.now() - this.sentAt;
    if (this.mode === 'stream') {
      const rest = this.parser.rest();
      if (rest) this.write(rest);
      this.flushFilters();
      this.reply.end();
      this.finish('ok');
      return;
    }
    const body = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.bodyBytes);
    this.chunks = [];
    if (this.mode === 'error') {
      const normalised = normaliseUpstreamError(this.status, body.toString('utf8'), this.ctx.deployment?.provider.name ?? 'upstream');
      this.ctx.result.error = { type: normalised.error.type, code: normalised.error.code, message: normalised.error.message };
      this.sendWhole(this.status, JSON.stringify(normalised), 'application/json', this.errorHeaders);
      this.finish(this.status >= 500 || this.status === 429 ? 'upstream_error' : 'client_error');
      return;
    }
    this.sendBody(body);
  }

  onError(error: GatewayError, afterHeaders: boolean): void {
    if (this.ended) return;
    this.ctx.result.upstreamMs = performance.now() - this.sentAt;
    if (afterHeaders && this.mode === 'stream') {
      this.ctx.result.error = { type: String(error.type), code: error.code, message: error.message };
      this.flushFilters();
      this.reply.end(errorEvent(error.toBody()));
      this.finish('upstream_error');
      return;
    }
    this.fail(error);
  }

  private fail(error: GatewayError): void {
    this.ctx.result.error = { type: String(error.type), code: error.code, message: error.message };
    this.sendWhole(error.status, error.toJSON(), 'application/json');
    this.finish('upstream_error');
  }

  private sendBody(raw: Buffer): void {
    const result = this.ctx.result;
    let body: Buffer | string = raw;
    const withBody = this.mutating.filter((f) => f.onBody);
    const observing = this.observers.filter((f) => f.onBody);
    if (withBody.length > 0 || observing.length > 0) {
      let json = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
      for (const f of observing) f.onBody?.(json);
      for (const f of withBody) json = f.onBody?.(json) ?? json;
      if (withBody.length > 0) body = JSON.stringify(json);
      result.usage = usageFromJson(json.usage);
      result.responseModel = typeof json.model === 'string' ? json.model : undefined;
      const first = Array.isArray(json.choices) ? (json.choices[0] as { finish_reason?: unknown } | undefined) : undefined;
      result.finishReason = typeof first?.finish_reason === 'string' ? first.finish_reason : undefined;
    } else {
      result.usage = usageFromBody(raw);
      result.responseModel = modelFromBody(raw);
      result.finishReason = finishReasonFromBody(raw);
    }
    this.markFirstToken();
    if (this.ctx.keepResponseBody) result.responseBody = typeof body === 'string' ? Buffer.from(body) : body;
    this.sendWhole(this.status, body, this.contentType);
    this.finish('ok');
  }

  private sendWhole(status: number, body: string | Buffer, contentType: string, extra: Array<[string, string]> = []): void {
    this.ctx.result.status = status;
    this.reply.send(status, [['content-type', contentType], ['x-request-id', this.ctx.id], ...this.ctx.responseHeaders, ...extra], body);
  }

  private relayEvents(events: SseEvent[]): void {
    if (events.length === 0) return;
    if (this.mutating.length > 0) {
      for (const event of events) this.relayThroughFilters(event);
      return;
    }
    let dropped = false;
    const kept: Buffer[] = [];
    for (const event of events) {
      if (this.meter(event)) kept.push(event.raw);
      else dropped = true;
    }
    if (!dropped) {
      const first = events[0].raw;
      const last = events[events.length - 1].raw;
      this.write(Buffer.from(first.buffer, first.byteOffset, last.byteOffset + last.length - first.byteOffset));
    } else if (kept.length > 0) {
      this.write(Buffer.concat(kept));
    }
  }

  private relayThroughFilters(event: SseEvent): void {
    if (!this.meter(event)) return;
    if (event.data === '[DONE]') {
      this.flushFilters();
      this.write(event.raw);
      return;
    }
    const out = runFilters(this.mutating, [{ data: event.data, json: parseData(event.data) }]);
    for (const e of out) this.write(e.data === event.data ? event.raw : serialise(e));
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

  /** Meters one event and tells whether the client gets it (false only for a usage chunk it did not ask for). */
  private meter(event: SseEvent): boolean {
    const data = event.data;
    const result = this.ctx.result;
    if (data === '' || data === '[DONE]') return true;
    result.chunks++;
    if (!this.firstTokenSeen && carriesContent(data)) this.markFirstToken();
    let json: Record<string, unknown> | undefined;
    if (this.observers.length > 0) {
      json = parseData(data);
      const view: ChunkEvent = { data, json };
      for (const o of this.observers) o.onEvent?.(view);
    }
    if (result.responseModel === undefined) result.responseModel = modelFromText(data);
    // Most chunks carry "finish_reason":null and (usage being asked for) "usage":null: skip those cheaply.
    if (!finishOrUsage.test(data)) return true;
    const finish = finishReasonField.exec(data);
    if (finish) result.finishReason = finish[1];
    if (usageObjectField.test(data)) {
      json ??= parseData(data);
      if (json) {
        result.usage = usageFromJson(json.usage);
        const choices = json.choices;
        if (Array.isArray(choices) && choices.length === 0 && !this.ctx.clientWantsUsage) return false;
      }
    }
    return true;
  }

  private markFirstToken(): void {
    if (this.firstTokenSeen) return;
    this.firstTokenSeen = true;
    this.ctx.result.ttftMs = performance.now() - this.ctx.receivedAt;
    for (const stage of this.stages) stage.onFirstToken?.(this.ctx);
  }

  private write(chunk: string | Buffer): void {
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

function parseData(data: string): Record<string, unknown> | undefined {
  if (data === '[DONE]') return undefined;
  try {
    const parsed: unknown = JSON.parse(data);
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function serialise(event: ChunkEvent): string {
  return event.json ? dataEvent(event.json) : `data: ${event.data}\n\n`;
}
