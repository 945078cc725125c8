// The audit record of one request: what was asked, by whom, what happened, and (unless disabled) the
// bodies. Built in the server thread at onComplete; plain JSON so it structured-clones to the main thread.
// Headers are never copied wholesale: Authorization and provider keys cannot end up here.
import { randomUUID } from 'node:crypto';
import type { RequestContext } from '../pipeline/context.js';
import type { AuditConfig } from './config.js';
import { peekObservations, type GuardVerdict } from '../pipeline/observations.js';
import type { ReassembledResponse } from './stream-reassembly.js';
import { isJson } from '../shared/json-validate.js';
import type { AuditBatchWriter } from './audit-batch-writer.js';
import { RepeatedFields } from './audit-repeated-fields.js';
import { traceIdOf } from './trace-id.js';

export interface AuditRecord {
  /** Schema version of this record. */
  v: 1;
  /** Unique per record (the request id may come from the client and repeat). */
  record_id: string;
  /** ISO time the request arrived. */
  time: string;
  request_id: string;
  /** The W3C trace id: the gateway's span (tracing on) or the client's traceparent; absent in MCP records. */
  trace_id?: string | null;
  key: { id: string; name: string } | null;
  client_ip: string;
  user_agent: string | null;
  method: string;
  path: string;
  operation: string;
  /** Model as the client asked for it. */
  model: string;
  deployment: { name: string; id?: string; provider: string; upstream_model: string } | null;
  response_model: string | null;
  stream: boolean;
  attempts: number;
  status: number;
  outcome: string;
  error: { type: string; code: string | null; message: string } | null;
  ttft_ms: number | null;
  duration_ms: number | null;
  upstream_ms: number | null;
  usage: {
    prompt_tokens: number;
    completion_tokens: number;
    total_tokens: number;
    cached_tokens: number;
    cache_write_tokens: number;
    reasoning_tokens: number;
  } | null;
  cost_usd: number | null;
  /** What the client spoke (openai-chat, anthropic-messages, openai-responses). */
  client_dialect: string;
  /** The provider's type (openai, azure, anthropic, gemini, bedrock, a preset); null when no provider was chosen. */
  provider_type: string | null;
  /** Every attempt of the request, in order (null when it never reached routing). */
  attempt_log: Array<{ deployment: string; model: string; status: number; outcome: string; error: string | null; started_at: string; duration_ms: number }> | null;
  guard_verdicts: GuardVerdict[];
  /** False when bodies were not recorded (disabled globally, for this key or for this model). */
  bodies: boolean;
  /**
   * The request body as the client sent it, in its dialect; when a guard changed it (redaction), the body
   * as forwarded, in the canonical form (OpenAI chat).
   */
  request_body: Record<string, unknown> | null;
  /** Non-streamed: the body sent to the client. Streamed: the answer reassembled from the chunks. */
  response_body: Record<string, unknown> | ReassembledResponse | string | null;
}

/** Decides once per request whether bodies are recorded. */
export class BodyPolicy {
  private readonly offModels: ReadonlySet<string>;
  private readonly offKeys: ReadonlySet<string>;

  constructor(private readonly config: AuditConfig) {
    this.offModels = new Set(config.bodies_off_models);
    this.offKeys = new Set(config.bodies_off_keys);
  }

  recordsBodies(ctx: RequestContext): boolean {
    if (!this.config.bodies) return false;
    if (this.offModels.has(ctx.model) || (ctx.deployment && this.offModels.has(ctx.deployment.name))) return false;
    if (ctx.key && (this.offKeys.has(ctx.key.id) || this.offKeys.has(ctx.key.name))) return false;
    return true;
  }
}

/** Finite numbers as JSON; anything else (undefined, NaN) as null. */
const numberOrNull = (n: number | undefined): string => (n !== undefined && Number.isFinite(n) ? String(n) : 'null');

/** 0–999 as three digits. */
const pad3 = (n: number): string => `${n < 10 ? '00' : n < 100 ? '0' : ''}${n}`;

let cachedSecond = -1;
let cachedPrefix = '';
let cachedMs = -1;
let cachedTime = '';
/**
 * Date#toISOString for epoch ms: the part up to the second is computed once per second, and the whole
 * text once per millisecond (a server thread records several requests in most milliseconds under load).
 */
export function isoTime(epochMs: number): string {
  const ms = Math.floor(epochMs);
  if (ms === cachedMs) return cachedTime;
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedPrefix = new Date(second * 1000).toISOString().slice(0, 19);
  }
  cachedMs = ms;
  cachedTime = `${cachedPrefix}.${pad3(ms - second * 1000)}Z`;
  return cachedTime;
}

const repeatedFields = new RepeatedFields();

function attemptLogJson(log: NonNullable<RequestContext['result']['attemptLog']>): string {
  return JSON.stringify(
    log.map((a) => ({
      deployment: a.deployment,
      model: a.model,
      status: a.status,
      outcome: a.outcome,
      error: a.error ?? null,
      started_at: new Date(a.startedAtMs).toISOString(),
      duration_ms: Math.round(a.durationMs * 1000) / 1000,
    })),
  );
}

/** A body that should be JSON: embedded as it is when it is, else recorded as a JSON string. */
function writeBody(out: AuditBatchWriter, body: Buffer | string | undefined): void {
  if (body === undefined || body.length === 0) {
    out.text('null');
    return;
  }
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  if (isJson(bytes)) out.json(bytes);
  else out.text(JSON.stringify(typeof body === 'string' ? body : body.toString('utf8')));
}

function writeRequestBody(out: AuditBatchWriter, ctx: RequestContext): void {
  // ctx.body passed the parse stage (or is a stage's re-serialisation of it), so it is valid JSON;
  // a body the parse stage refused is recorded as the client sent it.
  if (ctx.body && (ctx.body !== ctx.rawBody || ctx.clientBody === ctx.rawBody)) out.json(ctx.body);
  else writeBody(out, ctx.clientBody);
}

function writeResponseBody(out: AuditBatchWriter, ctx: RequestContext, streamed: ReassembledResponse | undefined): void {
  // A stage answered by itself (e.g. a guard's refusal): that answer is what the client got.
  if (ctx.syntheticResponse) writeBody(out, ctx.syntheticResponse.body);
  else if (ctx.stream) out.text(streamed ? JSON.stringify(streamed) : 'null');
  // The relay checked the body before relaying it; checking it again here would be a second pass.
  else if (ctx.result.responseBodyIsJson && ctx.result.responseBody !== undefined) out.json(ctx.result.responseBody);
  else writeBody(out, ctx.result.responseBody);
}

/**
 * Writes the audit record of a finished request as one JSON line. Built here, in the server thread,
 * so the main thread only moves bytes; bodies are embedded as the JSON bytes they already are instead
 * of being parsed and re-serialised.
 */
export function writeAuditRecord(
  out: AuditBatchWriter,
  ctx: RequestContext,
  withBodies: boolean,
  streamed: ReassembledResponse | undefined,
): void {
  const r = ctx.result;
  const observed = peekObservations(ctx);
  const usage = r.usage;
  // Written piece by piece into the batch rather than as one template string, which had to be built,
  // flattened and encoded (callgrind: 99k → 78k instructions per record). Field order and types are
  // those of AuditRecord; test/unit/observability-stages.test.ts parses it back.
  out.text('{"v":1,"record_id":"');
  out.text(randomUUID());
  out.text('","time":"');
  out.text(isoTime(ctx.receivedAtEpochMs));
  out.stringField('","request_id":', ctx.id);
  out.stringField(',"trace_id":', traceIdOf(ctx));
  repeatedFields.write(out, ctx);
  out.millisecondsField(',"ttft_ms":', r.ttftMs);
  out.millisecondsField(',"duration_ms":', r.durationMs);
  out.millisecondsField(',"upstream_ms":', r.upstreamMs);
  if (usage) {
    out.intField(',"usage":{"prompt_tokens":', usage.promptTokens);
    out.intField(',"completion_tokens":', usage.completionTokens);
    out.intField(',"total_tokens":', usage.totalTokens);
    out.intField(',"cached_tokens":', usage.cachedTokens);
    out.intField(',"cache_write_tokens":', usage.cacheWriteTokens);
    out.intField(',"reasoning_tokens":', usage.reasoningTokens);
    out.text('}');
  } else out.text(',"usage":null');
  out.field(',"cost_usd":', numberOrNull(observed?.costUsd));
  out.stringField(',"client_dialect":', ctx.dialect);
  if (ctx.deployment) out.stringField(',"provider_type":', ctx.deployment.provider.type);
  else out.text(',"provider_type":null');
  out.field(',"attempt_log":', r.attemptLog === undefined ? 'null' : attemptLogJson(r.attemptLog));
  out.field(',"guard_verdicts":', observed && observed.guardVerdicts.length > 0 ? JSON.stringify(observed.guardVerdicts) : '[]');
  out.text(withBodies ? ',"bodies":true,"request_body":' : ',"bodies":false,"request_body":');
  if (withBodies) writeRequestBody(out, ctx);
  else out.text('null');
  out.text(',"response_body":');
  if (withBodies) writeResponseBody(out, ctx, streamed);
  else out.text('null');
  out.text('}');
  out.endLine();
}
