// Decides how one request goes upstream and how its answer comes back: the client's bytes as they are
// (same dialect on both ends), or the canonical request translated for the provider's family.
import type { Deployment } from '../config/compile.js';
import { errors } from '../shared/errors.js';
import { editTopLevel } from '../shared/json-body.js';
import type { ChatRequest, EmbeddingsRequest, EmbeddingsResponse } from '../translate/canonical.js';
import type { DialectName } from '../translate/dialect.js';
import type { ProviderAdapter, ProviderTarget, WireRequest } from '../translate/provider.js';
import type { RequestContext } from './context.js';
import type { ResponseDecoding } from './translating-sink.js';

export interface UpstreamPlan {
  readonly wire: WireRequest;
  /** How the answer becomes canonical; undefined when it already is (the OpenAI family's chat answers). */
  readonly decoding: ResponseDecoding | undefined;
  /** Whose errors the answer carries. */
  readonly adapter: ProviderAdapter;
  /** The client gets the provider's bytes as they came (same dialect, nothing changes the answer). */
  readonly passThrough: boolean;
  readonly target: ProviderTarget;
}

/** A dialect whose own API some provider families serve: the request then goes as the client sent it. */
export interface PassThroughRoute {
  /** Whether the deployment's provider serves the dialect's own API. */
  serves(deployment: Deployment): boolean;
  path(deployment: Deployment): string;
  /** Reads the provider's answer (in the client's dialect) into the canonical form, for the stages. */
  decoding(deployment: Deployment): ResponseDecoding;
  /** The adapter whose errors the answer carries. */
  adapter(deployment: Deployment): ProviderAdapter;
}

export function targetOf(ctx: RequestContext, deployment: Deployment): ProviderTarget {
  return {
    provider: deployment.provider,
    upstreamModel: deployment.upstreamModel,
    stream: ctx.stream,
    dropUnsupported: deployment.dropUnsupported,
    created: Math.floor(ctx.receivedAtEpochMs / 1000),
    requestId: ctx.id,
  };
}

/** The canonical body as a stages left it: a stage that changed it (PII) replaced ctx.body, and ctx.json is then stale. */
function canonicalJson(ctx: RequestContext): Record<string, unknown> {
  if (ctx.json !== undefined && (ctx.body === undefined || ctx.body === ctx.rawBody)) return ctx.json;
  return JSON.parse((ctx.body ?? ctx.rawBody).toString('utf8')) as Record<string, unknown>;
}

/**
 * `answerChanges`: a response filter rewrites the answer (PII restore, output guard), so the client
 * must get the canonical answer re-rendered rather than the provider's bytes. `passThroughs`: the
 * dialects some providers serve natively (src/dialects/pass-through.ts).
 */
export function planUpstream(
  ctx: RequestContext,
  deployment: Deployment,
  answerChanges: boolean,
  passThroughs: Readonly<Partial<Record<DialectName, PassThroughRoute>>>,
): UpstreamPlan {
  const adapter = deployment.adapter;
  const target = targetOf(ctx, deployment);
  const route = passThroughs[ctx.dialect];
  const bodyUnchanged = ctx.body === undefined || ctx.body === ctx.rawBody;
  if (route !== undefined && route.serves(deployment) && bodyUnchanged && !answerChanges) {
    const edits = new Map<string, string>();
    if (deployment.upstreamModel !== ctx.model) edits.set('model', JSON.stringify(deployment.upstreamModel));
    const body = editTopLevel(ctx.clientBody, edits).toString('utf8');
    return { wire: { path: route.path(deployment), headers: [], body }, decoding: route.decoding(deployment), adapter: route.adapter(deployment), passThrough: true, target };
  }
  if (ctx.operation === 'embeddings') {
    const translator = adapter.embeddings;
    if (translator === undefined) throw errors.invalidParam('model', `Provider '${deployment.provider.name}' (${deployment.provider.type}) has no embeddings API.`);
    const request = canonicalJson(ctx) as unknown as EmbeddingsRequest;
    const wire = translator.request(request, target);
    const base64 = request.encoding_format === 'base64';
    const response = (body: Record<string, unknown>, t: ProviderTarget) => {
      const answer = translator.response(body, t);
      return base64 ? withBase64Vectors(answer) : answer;
    };
    return { wire, decoding: { response, stream: adapter.chat.stream }, adapter, passThrough: false, target };
  }
  if (ctx.operation !== 'chat.completions') {
    throw errors.invalidParam('model', `Provider '${deployment.provider.name}' (${deployment.provider.type}) has no legacy completions API; use chat completions.`);
  }
  const wire = adapter.chat.request(canonicalJson(ctx) as ChatRequest, target);
  // The OpenAI family answers in the canonical form already (compile.ts sets openAi for exactly those).
  return { wire, decoding: deployment.openAi !== undefined ? undefined : adapter.chat, adapter, passThrough: false, target };
}

/** OpenAI's base64 encoding (little-endian float32), which its SDKs ask for by default; providers answer floats. */
function withBase64Vectors(answer: EmbeddingsResponse): unknown {
  return {
    ...answer,
    data: answer.data.map((d) => ({ ...d, embedding: Buffer.from(new Float32Array(d.embedding).buffer).toString('base64') })),
  };
}
