// The simulator's HTTP front: routes, per-request plan, error answers, stats, start/close.
import type { HeaderList, IncomingHead, Reply, RequestHandler } from '../server/http.js';
import { listen } from '../server/uws.js';
import { errors, GatewayError } from '../shared/errors.js';
import { anthropicErrorBody, answerMessages } from './anthropic.js';
import { deliverStream, deliverWhole, type CancelDelivery, type Outcome } from './delivery.js';
import { answerEmbeddings, modelBody, modelListBody } from './embeddings.js';
import { answerChat, answerCompletion, jsonHeaders, type Answer, type AnswerContext } from './openai.js';
import { planRequest, resolveOptions, type RequestPlan, type SimulatorOptions } from './options.js';
import { isObject, type JsonObject } from './request.js';
import { StatsRecorder, type SimulatorStats } from './stats.js';
import type { SimRoute } from './routes.js';
import { azureRoutes } from './azure.js';
import { bedrockRoutes } from './bedrock.js';
import { geminiRoutes } from './gemini.js';
import { responsesRoutes } from './responses.js';

export type { SimulatorOptions } from './options.js';
export type { SimulatorStats, RecordedRequest } from './stats.js';

export interface RunningSimulator {
  port: number;
  stats(): SimulatorStats;
  reset(): void;
  /** Stops accepting and closes every connection; in-flight requests count as aborted. */
  close(): Promise<void>;
}

/** Whose error shape an endpoint answers in: a built-in family or a route's own. */
type Family = 'openai' | 'anthropic' | Pick<SimRoute, 'errorBody'>;

interface Endpoint {
  method: 'GET' | 'POST';
  family: Family;
  checkHead?(head: IncomingHead, rawBody: Buffer): GatewayError | undefined;
  answer(body: JsonObject, plan: RequestPlan, ctx: AnswerContext, options: SimulatorOptions, path: string, head: IncomingHead): Answer;
}

const whole = (body: string): Answer => ({
  kind: 'whole',
  answer: { status: 200, headers: jsonHeaders, body, tokens: 0, malformed: body.slice(0, body.length >> 1) },
});

const endpoints: Readonly<Record<string, Endpoint>> = {
  '/v1/chat/completions': { method: 'POST', family: 'openai', answer: answerChat },
  '/v1/completions': { method: 'POST', family: 'openai', answer: answerCompletion },
  '/v1/embeddings': { method: 'POST', family: 'openai', answer: (body, _p, _c, options) => answerEmbeddings(body, options.embedding_dims) },
  '/v1/messages': { method: 'POST', family: 'anthropic', answer: answerMessages },
  '/v1/messages/count_tokens': { method: 'POST', family: 'anthropic', answer: answerMessages },
  '/v1/models': { method: 'GET', family: 'openai', answer: () => whole(modelListBody) },
};

const modelPathPrefix = '/v1/models/';
const modelEndpoint: Endpoint = {
  method: 'GET',
  family: 'openai',
  answer: (_body, _plan, _ctx, _options, path) => whole(modelBody(decodeURIComponent(path.slice(modelPathPrefix.length)))),
};

const patternRoutes: readonly SimRoute[] = [...responsesRoutes, ...azureRoutes, ...geminiRoutes, ...bedrockRoutes];

/** An exact path first, then the routes with parameters (whose errors are in their own family's shape). */
function endpointFor(path: string): Endpoint | undefined {
  const exact = endpoints[path] ?? (path.startsWith(modelPathPrefix) && path.length > modelPathPrefix.length ? modelEndpoint : undefined);
  if (exact !== undefined) return exact;
  for (const route of patternRoutes) {
    const params = route.match(path);
    if (params !== undefined) {
      return {
        method: route.method,
        family: route,
        checkHead: route.checkHead?.bind(route),
        answer: (body, plan, ctx, options, _path, head) => route.answer(body, plan, ctx, options, params, head),
      };
    }
  }
  return undefined;
}

function sendError(reply: Reply, family: Family, error: GatewayError): void {
  const headers: HeaderList = error.headers ? [...jsonHeaders, ...Object.entries(error.headers)] : jsonHeaders;
  const body = family === 'anthropic' ? anthropicErrorBody(error) : family === 'openai' ? error.toJSON() : family.errorBody(error);
  reply.send(error.status, headers, body);
}

function faultError(status: number): GatewayError {
  return new GatewayError(status, `Simulated HTTP ${status} (simulator fault status-${status}).`, {
    code: 'simulated_fault',
    // As OpenAI does: the SDKs read retry-after-ms before retry-after, and x-should-retry overrides their own choice.
    headers: status === 429 || status === 503 ? { 'retry-after': '1', 'retry-after-ms': '1000', 'x-should-retry': 'true' } : undefined,
  });
}

function parseBody(raw: Buffer): { body: unknown; error?: string } {
  if (raw.length === 0) return { body: null };
  try {
    return { body: JSON.parse(raw.toString('utf8')) as unknown };
  } catch (err) {
    return { body: null, error: (err as Error).message };
  }
}

export async function startSimulator(partial?: Partial<SimulatorOptions>): Promise<RunningSimulator> {
  const options = resolveOptions(partial);
  const stats = new StatsRecorder();
  const pending = new Set<CancelDelivery>();
  let sequence = 0;

  const control = (head: IncomingHead, reply: Reply): void => {
    if (head.path === '/sim/stats' && head.method === 'GET') {
      reply.send(200, jsonHeaders, JSON.stringify(stats.snapshot()));
    } else if (head.path === '/sim/reset' && head.method === 'POST') {
      stats.reset();
      reply.send(200, jsonHeaders, '{"ok":true}');
    } else {
      sendError(reply, 'openai', errors.notFound(head.method, head.path));
    }
  };

  const handler: RequestHandler = (head, raw, reply) => {
    if (head.path.startsWith('/sim/')) {
      control(head, reply);
      return;
    }
    const parsed = parseBody(raw);
    stats.started({ method: head.method, path: head.path, query: head.query, headers: head.headers, body: parsed.body, at: Date.now() });
    const endpoint = endpointFor(head.path);
    try {
      if (endpoint === undefined) throw errors.notFound(head.method, head.path);
      if (endpoint.method !== head.method) throw errors.methodNotAllowed(head.method, head.path, endpoint.method);
      const refused = endpoint.checkHead?.(head, raw);
      if (refused !== undefined) throw refused;
      if (parsed.error !== undefined) throw errors.badJson(parsed.error);
      const body = isObject(parsed.body) ? parsed.body : {};
      if (endpoint.method === 'POST' && !isObject(parsed.body)) throw errors.badJson('the body must be a JSON object');
      const plan = planRequest(options, head.headers, typeof body.model === 'string' ? body.model : undefined);
      if (plan.fault?.kind === 'status') throw faultError(plan.fault.status);
      const ctx: AnswerContext = { sequence: ++sequence, created: Math.floor(Date.now() / 1000) };
      const answer = endpoint.answer(body, plan, ctx, options, head.path, head);
      let cancel: CancelDelivery | undefined;
      let ended = false;
      const onEnd = (outcome: Outcome): void => {
        ended = true;
        if (cancel) pending.delete(cancel);
        stats.finished(outcome);
      };
      cancel = answer.kind === 'whole' ? deliverWhole(reply, answer.answer, plan, onEnd) : deliverStream(reply, answer.stream, plan, onEnd);
      if (!ended) pending.add(cancel);
    } catch (err) {
      const error = err instanceof GatewayError ? err : errors.internal((err as Error).message);
      sendError(reply, endpoint?.family ?? 'openai', error);
      stats.finished('completed');
    }
  };

  const listener = await listen(
    {
      host: options.host,
      port: options.port,
      clientAddress: false,
      maxBodyBytes: 32 * 1024 * 1024,
      bodyTooLarge: () => {
        const error = errors.bodyTooLarge(32 * 1024 * 1024);
        return { status: error.status, headers: jsonHeaders, body: error.toJSON() };
      },
    },
    handler,
  );

  return {
    port: listener.port,
    stats: () => stats.snapshot(),
    reset: () => stats.reset(),
    close: async () => {
      for (const cancel of [...pending]) cancel();
      listener.closeAll();
    },
  };
}
