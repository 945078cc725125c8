// Everything the handler needs for clients and providers that do not speak OpenAI chat completions,
// loaded by the handler on first use (or at start when the config has such providers), so a thread
// serving only the byte path carries none of this code (src/providers/registry.ts says why that matters).
import type { Reply } from '../server/http.js';
import { errors, GatewayError } from '../shared/errors.js';
import type { DialectName, EncodeContext } from '../translate/dialect.js';
import { countBodyFor, dialectNamed } from '../dialects/registry.js';
import { passThroughRoutes } from '../dialects/pass-through.js';
import { estimatePromptTokens, type RequestContext } from './context.js';
import { DialectReply } from './dialect-reply.js';
import { headerPairs, upstreamHeaders } from './forward-headers.js';
import { toCanonicalBody } from './ingress.js';
import { PassThroughReply } from './pass-through-reply.js';
import { Relay, type Outcome } from './relay.js';
import type { ResponseFilter, Stage } from './stage.js';
import { TranslatingSink } from './translating-sink.js';
import type { UpstreamClients, UpstreamSink } from './upstream.js';
import { planUpstream } from './upstream-plan.js';

export { countBodyFor };

/** A dialect request read into the canonical form, or why it could not be. */
export interface Ingress {
  readonly dialect: DialectName;
  readonly canonical: Buffer;
  readonly client: Record<string, unknown>;
  readonly error: unknown;
}

export function readIngress(name: DialectName, body: Buffer, forCount: boolean, refused: boolean): Ingress {
  const dialect = dialectNamed(name);
  if (dialect === undefined) throw errors.internal(`dialect ${name} is not registered`);
  if (refused) return { dialect: name, canonical: body, client: {}, error: undefined };
  try {
    const { canonical, client } = toCanonicalBody(dialect, body, forCount);
    return { dialect: name, canonical, client, error: undefined };
  } catch (err) {
    return { dialect: name, canonical: body, client: {}, error: err };
  }
}

export function encodeContext(ctx: RequestContext, request: Record<string, unknown>): EncodeContext {
  return {
    get model() {
      return ctx.model;
    },
    requestId: ctx.id,
    created: Math.floor(ctx.receivedAtEpochMs / 1000),
    request,
    get promptTokens() {
      return ctx.promptTokens?.count ?? estimatePromptTokens(ctx.rawBody);
    },
  };
}

/** The reply the handler and relay write canonical answers to, rendering them in the client's dialect. */
export function dialectReply(clientReply: Reply, name: DialectName, encode: EncodeContext, ctx: RequestContext): Reply {
  return new DialectReply(clientReply, dialectNamed(name) as NonNullable<ReturnType<typeof dialectNamed>>, encode, ctx.result);
}

export interface ForwardHost {
  readonly stages: readonly Stage[];
  readonly upstream: UpstreamClients;
  readonly filters: ResponseFilter[];
  complete(outcome: Outcome): void;
  /** Wraps the attempt's sink (the router's hold-back for retries). */
  readonly wrap?: (sink: UpstreamSink) => UpstreamSink;
  /** What the request's deadline leaves for this attempt (see UpstreamClients.send). */
  readonly budgetMs?: number;
}

/**
 * The canonical request translated for the provider (or, same dialect on both ends, the client's bytes),
 * the answer made canonical for the relay and rendered in the client's dialect.
 */
export function forwardTranslated(ctx: RequestContext, reply: Reply, clientReply: Reply, encode: EncodeContext | undefined, host: ForwardHost): void {
  const deployment = ctx.deployment as NonNullable<RequestContext['deployment']>;
  const filters = host.filters;
  const plan = planUpstream(ctx, deployment, filters.some((f) => f.mutates), passThroughRoutes);
  const dialect = dialectNamed(ctx.dialect);
  const passThrough = plan.passThrough && dialect !== undefined && encode !== undefined ? new PassThroughReply(clientReply, dialect, encode, ctx.result) : undefined;
  const relay = new Relay(ctx, passThrough ?? reply, host.stages, filters, host.complete);
  const decoded = plan.decoding ? new TranslatingSink(relay, plan.adapter, plan.decoding, plan.target, () => relay.exchange, passThrough?.tap) : relay;
  const sink = host.wrap === undefined ? decoded : host.wrap(decoded);
  const headers = upstreamHeaders(ctx.head.headers, deployment.forward, ctx.id, ctx.upstreamHeaders);
  for (const [name, value] of plan.wire.headers) headers.push(name, value);
  const body = Buffer.from(plan.wire.body);
  ctx.result.attempts++;
  for (const stage of host.stages) stage.onUpstreamStart?.(ctx);
  const send = () => {
    relay.exchange = host.upstream.send(deployment, plan.wire.path, headers, body, ctx.stream, sink, host.budgetMs);
  };
  const sign = deployment.adapter.sign;
  if (sign === undefined) return send();
  const url = new URL(deployment.origin + deployment.basePath + plan.wire.path);
  sign(deployment.provider, 'POST', url, headerPairs(headers), plan.wire.body).then(
    (signed) => {
      if (reply.done) return;
      for (const [name, value] of signed) headers.push(name, value);
      send();
    },
    (err: unknown) => relay.onError(err instanceof GatewayError ? err : errors.internal(`signing the request failed: ${(err as Error)?.message}`)),
  );
}
