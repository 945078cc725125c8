// The request handler: runs the stages in order and hands the request to the upstream relay.
// Stages that return no promise run synchronously, so a request with only sync stages never yields.
import { performance } from 'node:perf_hooks';
import type { HeadRefusal, IncomingHead, Reply, RequestHandler } from '../server/http.js';
import { errors, GatewayError } from '../shared/errors.js';
import { editTopLevel } from '../shared/json-body.js';
import { log } from '../shared/log.js';
import type { CompiledRoutes, Deployment } from '../config/compile.js';
import { createContext, estimatePromptTokens, requestIdOf, type Operation, type RequestContext } from './context.js';
import { matchEndpoint, type Endpoint } from './endpoints.js';
import { parseRequest } from './parse.js';
import { Relay, type Outcome } from './relay.js';
import type { ResponseFilter, Stage } from './stage.js';
import { upstreamHeaders } from './forward-headers.js';
import type { UpstreamClients } from './upstream.js';
import type { EncodeContext } from '../translate/dialect.js';
import { anthropicModelList, errorInDialectOf } from '../dialects/answers.js';
import { checkPresetParams } from './preset-params.js';
import { openAiOperationOf } from '../providers/openai/index.js';
import { AttemptRouter, type AttemptChoice } from '../routing/attempts.js';
import { AttemptSink } from '../routing/attempt-sink.js';
import { observationsOf } from './observations.js';
import type { UpstreamSink } from './upstream.js';

type Translation = typeof import('./translation.js');

/**
 * What one config gives a server thread. A reload builds a new one and a new handler over it
 * (src/server/thread.ts); every closure of a handler holds its own, so a request finishes (retries,
 * onComplete included) on the config it arrived under.
 */
export interface Runtime {
  readonly routes: CompiledRoutes;
  /** Every stage in order; onComplete runs on all of them. */
  readonly stages: readonly Stage[];
  readonly upstream: UpstreamClients;
  /** Set while the thread drains at shutdown: new requests get 503. */
  draining: boolean;
  /** Set once every listener of the gateway is up; /readyz answers 503 before. */
  serving: boolean;
  /** Counts the requests using this runtime, so a reload can tell when a replaced one is free to close. */
  readonly use?: RuntimeUse;
}

export interface RuntimeUse {
  /** API requests taken in and not yet complete. */
  active: number;
  /** Set when a reload replaced the runtime: called when its last request completes. */
  onIdle: (() => void) | undefined;
}

type ProxyEndpoint = Extract<Endpoint, { kind: 'proxy' }>;
type CountEndpoint = Extract<Endpoint, { kind: 'count' }>;

const jsonType: [string, string] = ['content-type', 'application/json'];
const usageOperations = new Set<Operation>(['chat.completions', 'completions']);

// Loaded once per thread, on first need; a handler built by a reload finds it loaded.
let translation: Translation | undefined;
let loading: Promise<Translation> | undefined;
const loadTranslation = (): Promise<Translation> => (loading ??= import('./translation.js').then((t) => (translation = t)));

export function createHandler(rt: Runtime): RequestHandler {
  // A provider that needs translation: load it now rather than on its first request.
  if ([...rt.routes.byModel.values()].some((d) => d.openAi === undefined)) loadTranslation().catch(() => undefined);
  const authStages = rt.stages.filter((s) => s.phase === 'auth' && s.onRequest);
  const requestStages = rt.stages.filter((s) => s.phase !== 'auth' && s.onRequest);
  const filterStages = rt.stages.filter((s) => s.responseFilter);
  const mounted = rt.stages.flatMap((s) => s.routes ?? []);
  const use: RuntimeUse = rt.use ?? { active: 0, onIdle: undefined };

  function complete(ctx: RequestContext, outcome: Outcome): void {
    const result = ctx.result;
    if (result.durationMs !== undefined) return;
    result.outcome = outcome;
    result.durationMs = performance.now() - ctx.receivedAt;
    const router = ctx.router;
    if (router !== undefined) {
      router.close();
      result.attemptLog = router.log;
    }
    for (const stage of rt.stages) {
      try {
        stage.onComplete?.(ctx);
      } catch (err) {
        log.error('stage onComplete failed', { stage: stage.name, error: (err as Error).message, request_id: ctx.id });
      }
    }
    if (--use.active === 0 && use.onIdle !== undefined) use.onIdle();
  }

  function fail(ctx: RequestContext, reply: Reply, err: unknown): void {
    const error = err instanceof GatewayError ? err : errors.internal('unexpected failure');
    if (!(err instanceof GatewayError)) {
      log.error('request failed', { request_id: ctx.id, error: (err as Error)?.stack ?? String(err) });
    }
    const result = ctx.result;
    result.status = error.status;
    result.error = { type: String(error.type), code: error.code, message: error.message };
    const headers: Array<[string, string]> = [jsonType, ['x-request-id', ctx.id], ...ctx.responseHeaders];
    if (error.headers) for (const name in error.headers) headers.push([name, error.headers[name]]);
    reply.send(error.status, headers, error.toJSON());
    complete(ctx, error.status >= 500 ? 'gateway_error' : 'client_error');
  }

  /** Runs stages from index i; continues synchronously until a stage returns a promise. */
  function runStages(ctx: RequestContext, reply: Reply, stages: readonly Stage[], i: number, next: () => void): void {
    for (; i < stages.length; i++) {
      const pending = stages[i].onRequest?.(ctx);
      if (pending) {
        const resume = i + 1;
        pending.then(
          () => {
            if (reply.done) return;
            try {
              runStages(ctx, reply, stages, resume, next);
            } catch (err) {
              fail(ctx, reply, err);
            }
          },
          (err: unknown) => fail(ctx, reply, err),
        );
        return;
      }
    }
    next();
  }

  function responseFilters(ctx: RequestContext): ResponseFilter[] {
    const filters: ResponseFilter[] = [];
    for (const stage of filterStages) {
      const filter = stage.responseFilter?.(ctx);
      if (filter) filters.push(filter);
    }
    return filters;
  }

  /** OpenAI chat client, OpenAI-family provider: the client's bytes go as they are, bar a few top-level edits. */
  function forwardBytes(ctx: RequestContext, reply: Reply, deployment: Deployment, openAi: NonNullable<Deployment['openAi']>, wrap: SinkWrap | undefined, budgetMs: number | undefined): void {
    const addUsage = ctx.stream && !ctx.clientWantsUsage && usageOperations.has(ctx.operation);
    const edits = new Map<string, string>();
    if (deployment.upstreamModel !== ctx.model) edits.set('model', JSON.stringify(deployment.upstreamModel));
    if (addUsage) edits.set('stream_options', JSON.stringify({ ...ctx.streamOptions, include_usage: true }));
    if (openAi.unsupported.length > 0) checkPresetParams(ctx, deployment, openAi.unsupported, edits);
    const body = editTopLevel(ctx.body ?? ctx.rawBody, edits);
    const relay = new Relay(ctx, reply, rt.stages, responseFilters(ctx), (outcome) => complete(ctx, outcome));
    ctx.result.attempts++;
    for (const stage of rt.stages) stage.onUpstreamStart?.(ctx);
    relay.exchange = rt.upstream.send(
      deployment,
      openAi.paths[openAiOperationOf(ctx.operation)],
      upstreamHeaders(ctx.head.headers, deployment.forward, ctx.id, ctx.upstreamHeaders),
      body,
      ctx.stream,
      wrap === undefined ? relay : wrap(relay),
      budgetMs,
    );
  }

  function forward(ctx: RequestContext, reply: Reply, clientReply: Reply, encode: EncodeContext | undefined, router: AttemptRouter, choice: AttemptChoice): void {
    router.begin(choice);
    const deployment = choice.member.deployment;
    ctx.deployment = deployment;
    const attempts = router.attempts;
    setResponseHeader(ctx, 'x-switchyard-deployment', deployment.id);
    setResponseHeader(ctx, 'x-switchyard-attempts', attempts === 1 ? '1' : String(attempts));
    if (choice.group !== router.primary) {
      setResponseHeader(ctx, 'x-switchyard-fallback', choice.group.name);
      // One fallback per request, however many attempts the fallback groups take.
      const observed = observationsOf(ctx);
      if (observed.fallbacks === 0) observed.fallbacks++;
    } else if (attempts > 1) observationsOf(ctx).retries++;
    // A sink that can hold the answer back is needed only when another attempt could replace it.
    const wrap: SinkWrap | undefined = router.mayRetry()
      ? (sink) =>
          new AttemptSink(sink, {
            committed: (status) => router.committed(status),
            failed: (failure) => {
              router.failed(failure);
              const next = router.next(failure);
              if (next === undefined) return false;
              const again = () => {
                if (!reply.done) forward(ctx, reply, clientReply, encode, router, next);
              };
              // Not from inside the failed exchange's callback: undici releases its connection once the callback returns,
              // so the next attempt can reuse it instead of opening another.
              if (next.delayMs > 0) setTimeout(again, next.delayMs);
              else setImmediate(again);
              return true;
            },
          })
      : undefined;
    const budgetMs = router.budgetMs();
    if (ctx.dialect === 'openai-chat' && deployment.openAi !== undefined) return forwardBytes(ctx, reply, deployment, deployment.openAi, wrap, budgetMs);
    withTranslation(ctx, reply, (t) =>
      t.forwardTranslated(ctx, reply, clientReply, encode, {
        stages: rt.stages,
        upstream: rt.upstream,
        filters: responseFilters(ctx),
        complete: (outcome) => complete(ctx, outcome),
        wrap,
        budgetMs,
      }),
    );
  }

  /** Runs `next` with the translation module, loading it first if this is the thread's first need of it. */
  function withTranslation(ctx: RequestContext, reply: Reply, next: (t: Translation) => void): void {
    if (translation !== undefined) return next(translation);
    loadTranslation().then(
      (t) => {
        if (reply.done) return;
        try {
          next(t);
        } catch (err) {
          fail(ctx, reply, err);
        }
      },
      (err: unknown) => fail(ctx, reply, err),
    );
  }

  function answerLocally(ctx: RequestContext, reply: Reply, answer: NonNullable<RequestContext['syntheticResponse']>, translating: boolean): void {
    ctx.result.status = answer.status;
    const headers: Array<[string, string]> = [['content-type', answer.contentType], ['x-request-id', ctx.id], ...ctx.responseHeaders];
    // A translating reply renders a stream event by event.
    if (translating && answer.contentType.startsWith('text/event-stream')) {
      reply.start(answer.status, headers);
      reply.write(answer.body);
      reply.end();
    } else reply.send(answer.status, headers, answer.body);
    complete(ctx, 'ok');
  }

  /** POST /v1/chat/completions/count_tokens: the prompt's tokens as the stages counted them (exact where a tokenizer ran). */
  function answerCount(ctx: RequestContext, reply: Reply): void {
    const counted = ctx.promptTokens ?? { count: estimatePromptTokens(ctx.rawBody), exact: false };
    const inDialect = ctx.dialect === 'openai-chat' ? undefined : translation?.countBodyFor(ctx.dialect);
    const body = inDialect
      ? inDialect(counted.count)
      : JSON.stringify({ object: 'chat.completion.input_tokens', model: ctx.model, input_tokens: counted.count, exact: counted.exact });
    ctx.result.status = 200;
    if (ctx.keepResponseBody) ctx.result.responseBody = Buffer.from(body);
    reply.send(200, [jsonType, ['x-request-id', ctx.id], ...ctx.responseHeaders], body);
    complete(ctx, 'ok');
  }

  function handleProxy(head: IncomingHead, body: Buffer, clientReply: Reply, endpoint: ProxyEndpoint | CountEndpoint, refused: HeadRefusal | undefined): void {
    if (endpoint.dialect !== undefined && translation === undefined) {
      // The first request in another dialect waits for the translators to load (once per thread).
      loadTranslation().then(
        () => handleProxy(head, body, clientReply, endpoint, refused),
        (err: unknown) => fail(createContext(head, body, endpoint.operation), clientReply, err),
      );
      return;
    }
    const ingress = endpoint.dialect === undefined ? undefined : translation?.readIngress(endpoint.dialect, body, endpoint.kind === 'count', refused !== undefined);
    const canonical = ingress?.canonical ?? body;
    const translateError = ingress?.error;
    const dialect = ingress?.dialect;
    const ctx = createContext(head, canonical, endpoint.operation, dialect, body);
    const encode = ingress === undefined ? undefined : translation?.encodeContext(ctx, ingress.client);
    const reply = dialect === undefined || encode === undefined ? clientReply : (translation as Translation).dialectReply(clientReply, dialect, encode, ctx);
    reply.onAbort(() => complete(ctx, 'aborted'));
    if (refused !== undefined) return fail(ctx, reply, refused);
    if (translateError !== undefined) return fail(ctx, reply, translateError);
    try {
      Object.assign(ctx, parseRequest(canonical, endpoint.requiredField));
      // A count is answered as one JSON body whatever the body's "stream" says.
      if (endpoint.kind === 'count') ctx.stream = false;
      // The dialect's encoder needs the usage chunk to say usage its own way.
      if (dialect !== undefined) ctx.clientWantsUsage = true;
      runStages(ctx, reply, authStages, 0, () => {
        const group = rt.routes.groups.get(ctx.model);
        if (!group) throw errors.modelNotFound(ctx.model);
        const router = new AttemptRouter(group, rt.routes.groups, ctx, rt.routes.routing);
        const first = router.first();
        if (first instanceof GatewayError) throw first;
        ctx.deployment = first.member.deployment;
        ctx.router = router;
        runStages(ctx, reply, requestStages, 0, () => {
          // A count answer is already in the client's dialect.
          if (endpoint.kind === 'count') answerCount(ctx, clientReply);
          else if (ctx.syntheticResponse) answerLocally(ctx, reply, ctx.syntheticResponse, reply !== clientReply);
          else forward(ctx, reply, clientReply, encode, router, first);
        });
      });
    } catch (err) {
      fail(ctx, reply, err);
    }
  }

  /** GET /v1/models[/id]: answered by the gateway, after the auth stages. */
  function handleModels(head: IncomingHead, reply: Reply, id: string | undefined, refused: HeadRefusal | undefined): void {
    const ctx = createContext(head, emptyBody, 'models');
    reply.onAbort(() => complete(ctx, 'aborted'));
    if (refused !== undefined) return fail(ctx, reply, refused);
    try {
      runStages(ctx, reply, authStages, 0, () => {
        const allowed = ctx.key?.models;
        let body = allowed ? rt.routes.modelListFor(allowed) : rt.routes.modelList;
        // Anthropic's SDK lists models with its version header, and reads its own shape.
        if (id === undefined && head.headers['anthropic-version'] !== undefined) body = anthropicModelList(body);
        if (id !== undefined) {
          const deployment = rt.routes.byModel.get(id);
          if (!deployment || (allowed && !allowed.has(id))) throw errors.modelNotFound(id);
          body = JSON.stringify({ id, object: 'model', created: 0, owned_by: deployment.provider.name });
        }
        ctx.result.status = 200;
        reply.send(200, [jsonType, ['x-request-id', ctx.id], ...ctx.responseHeaders], body);
        complete(ctx, 'ok');
      });
    } catch (err) {
      fail(ctx, reply, err);
    }
  }

  return (head, body, reply, refused) => {
    // While draining, every answer (health probes and 404s too) closes its connection, so the client
    // reconnects to another thread or instance without an error, and a kept-alive poller cannot hold the drain open.
    if (rt.draining) reply.closeWhenDone();
    if (mounted.length > 0) {
      for (const route of mounted) {
        const path = head.path;
        if (path.startsWith(route.prefix) && (path.length === route.prefix.length || path.charCodeAt(route.prefix.length) === 47)) {
          return route.handle(head, body, reply, refused);
        }
      }
    }
    const match = matchEndpoint(head.method, head.path);
    if (match === undefined || 'wrongMethod' in match) {
      const error = match === undefined ? errors.notFound(head.method, head.path) : errors.methodNotAllowed(head.method, head.path, match.wrongMethod);
      const answer = errorInDialectOf(head.path, error);
      reply.send(answer.status, [jsonType, ['x-request-id', requestIdOf(head)], ...Object.entries(error.headers ?? {})], answer.body);
      return;
    }
    const endpoint = match.endpoint;
    switch (endpoint.kind) {
      case 'health':
        reply.send(200, [jsonType], '{"status":"ok"}');
        return;
      case 'ready':
        if (rt.draining) reply.send(503, [jsonType], '{"status":"draining"}');
        else if (!rt.serving) reply.send(503, [jsonType], '{"status":"starting"}');
        else reply.send(200, [jsonType], '{"status":"ready"}');
        return;
    }
    // Every path below ends in complete(), which counts it back.
    use.active++;
    if (endpoint.kind === 'models') handleModels(head, reply, undefined, refused);
    else if (endpoint.kind === 'model') handleModels(head, reply, endpoint.id, refused);
    else handleProxy(head, body, reply, endpoint, refused);
  };
}

const emptyBody = Buffer.alloc(0);

type SinkWrap = (sink: UpstreamSink) => UpstreamSink;

/** Sets a response header a stage or the router added earlier, or adds it. */
function setResponseHeader(ctx: RequestContext, name: string, value: string): void {
  const headers = ctx.responseHeaders;
  for (let i = 0; i < headers.length; i++) {
    if (headers[i][0] === name) {
      headers[i] = [name, value];
      return;
    }
  }
  headers.push([name, value]);
}
