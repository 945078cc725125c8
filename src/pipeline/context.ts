// RequestContext: the one object a request carries through every stage. Stages read what earlier
// stages set and fill in their own part; nothing else is shared between stages.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { IncomingHead } from '../server/http.js';
import type { Deployment } from '../config/compile.js';
import type { DialectName } from '../translate/dialect.js';
import type { AttemptRecord, AttemptRouter } from '../routing/attempts.js';

/** chat.count_tokens: a chat completion body whose prompt is counted and answered by the gateway, never sent. */
export type Operation = 'chat.completions' | 'chat.count_tokens' | 'completions' | 'embeddings' | 'models';

/** Who is calling; set by the auth stage (undefined when auth is off). */
export interface KeyIdentity {
  readonly id: string;
  readonly name: string;
  /** Client-facing models this key may use; undefined = all. */
  readonly models?: ReadonlySet<string>;
}

/** Normalised usage: promptTokens counts every input token, cached reads and cache writes included. */
export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** Input tokens read from the provider's prompt cache. */
  cachedTokens: number;
  /** Input tokens written to the provider's prompt cache (Anthropic, Bedrock); 0 elsewhere. */
  cacheWriteTokens: number;
  /** Output tokens spent on reasoning (included in completionTokens). */
  reasoningTokens: number;
}

/** How the request ended; filled in as it goes, read by accounting, metrics and audit. */
export interface RequestResult {
  /** HTTP status the client got (0 while unknown). */
  status: number;
  outcome: 'ok' | 'client_error' | 'upstream_error' | 'gateway_error' | 'aborted';
  error: { type: string; code: string | null; message: string } | undefined;
  /** Upstream-reported usage, or undefined when the upstream did not report it. */
  usage: TokenUsage | undefined;
  /** Model name the upstream said it used. */
  responseModel: string | undefined;
  /** ms from request received to upstream response headers. */
  upstreamHeadersMs: number | undefined;
  /** ms from request received to the first content token (streams) or the full body (non-stream). */
  ttftMs: number | undefined;
  /** ms from request received to the end of the response. */
  durationMs: number | undefined;
  /** ms the request spent waiting on the upstream; durationMs - upstreamMs is gateway overhead. */
  upstreamMs: number | undefined;
  /** Completion chunks relayed (streams). */
  chunks: number;
  attempts: number;
  /** Every attempt of a routed request: deployment, status, error, duration (src/routing/attempts.ts). */
  attemptLog: AttemptRecord[] | undefined;
  finishReason: string | undefined;
  /** Non-stream response body as sent to the client (kept only when a stage asked for it). */
  responseBody: Buffer | undefined;
  /** Set when responseBody is known to be one JSON text (checked or serialised by the relay). */
  responseBodyIsJson: boolean;
}

export interface RequestContext {
  readonly id: string;
  /** performance.now() at arrival. */
  readonly receivedAt: number;
  /** Date.now() at arrival. */
  readonly receivedAtEpochMs: number;
  readonly head: IncomingHead;
  operation: Operation;
  /** What the client speaks; stages see the canonical form (OpenAI chat) whatever it is. */
  readonly dialect: DialectName;
  /** The body as the client sent it, in its dialect (the same Buffer as rawBody for OpenAI clients). */
  readonly clientBody: Buffer;
  /** The client body in the canonical form: the client's own bytes for OpenAI clients, else its translation. */
  readonly rawBody: Buffer;
  /** Parsed body, kept for small bodies only (see keptJsonMaxBytes); a large one is handled as bytes. */
  json: Record<string, unknown> | undefined;
  /**
   * The body as it is forwarded and audited: set by the parse stage once it is known to be a JSON
   * object, replaced by a stage that changes it (PII redaction).
   */
  body: Buffer | undefined;
  /** stream_options as the client sent it. */
  streamOptions: Record<string, unknown> | undefined;
  /** Model as the client asked for it. */
  model: string;
  stream: boolean;
  /** The client asked for the usage chunk (stream_options.include_usage). */
  clientWantsUsage: boolean;
  /** max_tokens / max_completion_tokens if given (the larger when both are). */
  maxOutputTokens: number | undefined;
  /** Completions generated for the request: the larger of n and best_of, 1 when neither is given. */
  choices: number;
  key: KeyIdentity | undefined;
  /**
   * Prompt size in tokens: an estimate from whoever needs it first, replaced by an exact count
   * when the tokenizer ran (guards feature).
   */
  promptTokens: { count: number; exact: boolean } | undefined;
  /** Set by the route stage: the deployment of the current attempt. */
  deployment: Deployment | undefined;
  /** The attempts of this request, once it is routed. */
  router: AttemptRouter | undefined;
  /** Set when a stage wants the non-stream response body kept in result.responseBody. */
  keepResponseBody: boolean;
  /**
   * Set by a stage that answers the request itself (e.g. a guard's refusal completion): it is sent
   * instead of going upstream, and the request still completes normally.
   */
  syntheticResponse: { status: number; contentType: string; body: string } | undefined;
  /** Headers stages add to (or replace in) the upstream request, e.g. a traceparent naming the gateway's span. */
  readonly upstreamHeaders: Array<[string, string]>;
  /** Extra response headers added by stages (e.g. x-ratelimit-*). */
  readonly responseHeaders: Array<[string, string]>;
  /** Per-feature scratch space, keyed by feature name. */
  readonly state: Map<string, unknown>;
  readonly result: RequestResult;
}

/** Prompt tokens guessed from the body's size (~4 bytes a token for JSON-wrapped English) where no exact count exists. */
export function estimatePromptTokens(body: Buffer): number {
  return Math.ceil(body.length / 4);
}

export function newResult(): RequestResult {
  return {
    status: 0,
    outcome: 'ok',
    error: undefined,
    usage: undefined,
    responseModel: undefined,
    upstreamHeadersMs: undefined,
    ttftMs: undefined,
    durationMs: undefined,
    upstreamMs: undefined,
    chunks: 0,
    attempts: 0,
    attemptLog: undefined,
    finishReason: undefined,
    responseBody: undefined,
    responseBodyIsJson: false,
  };
}

const validRequestId = /^[\w.:-]{1,128}$/;

/** The request id: the client's x-request-id when it is sane, else a new one. */
export function requestIdOf(head: IncomingHead): string {
  const given = head.headers['x-request-id'];
  return given !== undefined && validRequestId.test(given) ? given : randomUUID();
}

/** A fresh context for a request. */
export function createContext(
  head: IncomingHead,
  body: Buffer,
  operation: Operation,
  dialect: DialectName = 'openai-chat',
  clientBody: Buffer = body,
): RequestContext {
  return {
    id: requestIdOf(head),
    receivedAt: performance.now(),
    receivedAtEpochMs: Date.now(),
    head,
    operation,
    dialect,
    clientBody,
    rawBody: body,
    json: undefined,
    body: undefined,
    streamOptions: undefined,
    model: '',
    stream: false,
    clientWantsUsage: false,
    maxOutputTokens: undefined,
    choices: 1,
    key: undefined,
    promptTokens: undefined,
    deployment: undefined,
    router: undefined,
    keepResponseBody: false,
    syntheticResponse: undefined,
    upstreamHeaders: [],
    responseHeaders: [],
    state: new Map(),
    result: newResult(),
  };
}
