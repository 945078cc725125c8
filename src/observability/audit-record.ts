// The audit record of one request: what was asked, by whom, what happened, and (unless disabled) the
// bodies. Built in the server thread at onComplete; plain JSON so it structured-clones to the main thread.
// Headers are never copied wholesale: Authorization and provider keys cannot end up here.
import { randomUUID } from 'node:crypto';
import type { RequestContext } from '../pipeline/context.js';
import type { AuditConfig } from './config.js';
import { peekObservations, type GuardVerdict } from '../pipeline/observations.js';
import type { ReassembledResponse } from './stream-reassembly.js';

export interface AuditRecord {
  /** Schema version of this record. */
  v: 1;
  /** Unique per record (the request id may come from the client and repeat). */
  record_id: string;
  /** ISO time the request arrived. */
  time: string;
  request_id: string;
  key: { id: string; name: string } | null;
  client_ip: string;
  user_agent: string | null;
  method: string;
  path: string;
  operation: string;
  /** Model as the client asked for it. */
  model: string;
  deployment: { name: string; provider: string; upstream_model: string } | null;
  response_model: string | null;
  stream: boolean;
  attempts: number;
  status: number;
  outcome: string;
  error: { type: string; code: string | null; message: string } | null;
  ttft_ms: number | null;
  duration_ms: number | null;
  upstream_ms: number | null;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number; cached_tokens: number } | null;
  cost_usd: number | null;
  guard_verdicts: GuardVerdict[];
  /** False when bodies were not recorded (disabled globally, for this key or for this model). */
  bodies: boolean;
  /** The request body as forwarded (after any redaction a guard applied). */
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

const orNull = (text: string | undefined): string => (text === undefined ? 'null' : JSON.stringify(text));
/** Finite numbers as JSON; anything else (undefined, NaN) as null. */
const numberOrNull = (n: number | undefined): string => (n !== undefined && Number.isFinite(n) ? String(n) : 'null');

let cachedSecond = -1;
let cachedPrefix = '';
/** Date#toISOString for epoch ms, with the part up to the second computed once per second. */
export function isoTime(epochMs: number): string {
  const second = Math.floor(epochMs / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedPrefix = new Date(second * 1000).toISOString().slice(0, 19);
  }
  const ms = Math.floor(epochMs - second * 1000);
  return `${cachedPrefix}.${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`;
}

/** JSON text of a body for embedding in a JSONL line: valid JSON, never a raw newline. */
function oneLine(jsonText: string): string {
  // Inside JSON strings newlines are always escaped, so any raw CR/LF is whitespace between tokens.
  return jsonText.includes('\n') || jsonText.includes('\r') ? jsonText.replace(/[\r\n]/g, ' ') : jsonText;
}

/** A JSON body as JSON text: kept as sent when it parses, else recorded as a string. */
function bodyText(body: Buffer | string | undefined): string {
  if (body === undefined || body.length === 0) return 'null';
  const text = typeof body === 'string' ? body : body.toString('utf8');
  try {
    JSON.parse(text);
    return oneLine(text);
  } catch {
    return JSON.stringify(text);
  }
}

function requestBodyText(ctx: RequestContext): string {
  // The raw body parsed into ctx.json, so it is valid JSON; re-serialise only when a stage changed it (e.g. redaction).
  if (!ctx.bodyChanged && ctx.rawBody.length > 0 && Object.keys(ctx.json).length > 0) return oneLine(ctx.rawBody.toString('utf8'));
  return JSON.stringify(ctx.json ?? null);
}

function responseBodyText(ctx: RequestContext, streamed: ReassembledResponse | undefined): string {
  // A stage answered by itself (e.g. a guard's refusal): that answer is what the client got.
  if (ctx.syntheticResponse) return bodyText(ctx.syntheticResponse.body);
  if (ctx.stream) return streamed ? JSON.stringify(streamed) : 'null';
  return bodyText(ctx.result.responseBody);
}

/**
 * The audit record of a finished request as one JSON line (no trailing newline). Serialised here, in
 * the server thread, so the main thread only moves strings; bodies are embedded as the JSON text they
 * already are instead of being parsed and re-serialised.
 */
export function serializeAuditRecord(ctx: RequestContext, withBodies: boolean, streamed: ReassembledResponse | undefined): string {
  const r = ctx.result;
  const d = ctx.deployment;
  const observed = peekObservations(ctx);
  const q = JSON.stringify;
  const usage = r.usage;
  // Written out by hand: JSON.stringify of the equivalent object costs twice as much, and this runs per request.
  // Field order and types are those of AuditRecord; test/unit/observability-stages.test.ts parses it back.
  const head =
    `{"v":1,"record_id":"${randomUUID()}","time":"${isoTime(ctx.receivedAtEpochMs)}","request_id":${q(ctx.id)},` +
    `"key":${ctx.key ? `{"id":${q(ctx.key.id)},"name":${q(ctx.key.name)}}` : 'null'},` +
    `"client_ip":${q(ctx.head.remoteAddress)},"user_agent":${orNull(ctx.head.headers['user-agent'])},` +
    `"method":${q(ctx.head.method)},"path":${q(ctx.head.path)},"operation":${q(ctx.operation)},"model":${q(ctx.model)},` +
    `"deployment":${d ? `{"name":${q(d.name)},"provider":${q(d.provider.name)},"upstream_model":${q(d.upstreamModel)}}` : 'null'},` +
    `"response_model":${orNull(r.responseModel)},"stream":${ctx.stream},"attempts":${r.attempts},"status":${r.status},` +
    `"outcome":${q(r.outcome)},"error":${r.error ? q({ type: r.error.type, code: r.error.code, message: r.error.message }) : 'null'},` +
    `"ttft_ms":${numberOrNull(r.ttftMs)},"duration_ms":${numberOrNull(r.durationMs)},"upstream_ms":${numberOrNull(r.upstreamMs)},` +
    `"usage":${
      usage
        ? `{"prompt_tokens":${usage.promptTokens},"completion_tokens":${usage.completionTokens},"total_tokens":${usage.totalTokens},"cached_tokens":${usage.cachedTokens}}`
        : 'null'
    },` +
    `"cost_usd":${numberOrNull(observed?.costUsd)},"guard_verdicts":${observed && observed.guardVerdicts.length > 0 ? q(observed.guardVerdicts) : '[]'},` +
    `"bodies":${withBodies}`;
  const request = withBodies ? requestBodyText(ctx) : 'null';
  const response = withBodies ? responseBodyText(ctx, streamed) : 'null';
  return `${head},"request_body":${request},"response_body":${response}}`;
}
