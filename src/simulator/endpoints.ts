// The simulator's endpoints: exact paths first, then the routes with parameters; each knows its wire family.
import type { IncomingHead } from '../server/http.js';
import type { GatewayError } from '../shared/errors.js';
import { anthropicErrorBody, answerMessages } from './anthropic.js';
import { azureRoutes } from './azure.js';
import { bedrockRoutes } from './bedrock.js';
import { answerEmbeddings, modelBody, modelListBody } from './embeddings.js';
import { geminiRoutes } from './gemini.js';
import { answerChat, answerCompletion, jsonHeaders, type Answer, type AnswerContext } from './openai.js';
import type { RequestPlan, SimulatorOptions } from './options.js';
import type { JsonObject } from './request.js';
import { responsesRoutes } from './responses.js';
import type { SimRoute, WireFamily } from './routes.js';

export type { WireFamily } from './routes.js';

type Params = Readonly<Record<string, string>>;

export interface Endpoint {
  readonly method: 'GET' | 'POST';
  readonly family: WireFamily;
  /** The path parameter that names the model (Gemini, Bedrock, Azure deployments); else the body's "model". */
  readonly modelParam?: string;
  errorBody(error: GatewayError): string;
  checkHead?(head: IncomingHead, rawBody: Buffer): GatewayError | undefined;
  answer(body: JsonObject, plan: RequestPlan, ctx: AnswerContext, options: SimulatorOptions, path: string, head: IncomingHead, params: Params): Answer;
}

export interface EndpointMatch {
  readonly endpoint: Endpoint;
  readonly params: Params;
}

const openaiErrorBody = (error: GatewayError): string => error.toJSON();

const whole = (body: string): Answer => ({
  kind: 'whole',
  answer: { status: 200, headers: jsonHeaders, body, tokens: 0, malformed: body.slice(0, body.length >> 1) },
});

const openai = (answer: Endpoint['answer'], method: 'GET' | 'POST' = 'POST'): Endpoint => ({ method, family: 'openai', errorBody: openaiErrorBody, answer });
const anthropic: Endpoint = { method: 'POST', family: 'anthropic', errorBody: (error) => anthropicErrorBody(error), answer: answerMessages };

const exact: Readonly<Record<string, Endpoint>> = {
  '/v1/chat/completions': openai(answerChat),
  '/v1/completions': openai(answerCompletion),
  '/v1/embeddings': openai((body, _p, _c, options) => answerEmbeddings(body, options.embedding_dims)),
  '/v1/messages': anthropic,
  '/v1/messages/count_tokens': anthropic,
  '/v1/models': openai(() => whole(modelListBody), 'GET'),
};

const modelPathPrefix = '/v1/models/';
const modelEndpoint = openai((_body, _plan, _ctx, _options, path) => whole(modelBody(decodeURIComponent(path.slice(modelPathPrefix.length)))), 'GET');

function fromRoute(route: SimRoute): Endpoint {
  return {
    method: route.method,
    family: route.family,
    modelParam: route.modelParam,
    errorBody: (error) => route.errorBody(error),
    checkHead: route.checkHead?.bind(route),
    answer: (body, plan, ctx, options, _path, head, params) => route.answer(body, plan, ctx, options, params, head),
  };
}

const patternRoutes: ReadonlyArray<{ route: SimRoute; endpoint: Endpoint }> = [...responsesRoutes, ...azureRoutes, ...geminiRoutes, ...bedrockRoutes].map(
  (route) => ({ route, endpoint: fromRoute(route) }),
);
const noParams: Params = Object.freeze({});

/** An exact path first, then the routes with parameters (whose errors are in their own family's shape). */
export function endpointFor(path: string): EndpointMatch | undefined {
  const found = exact[path] ?? (path.startsWith(modelPathPrefix) && path.length > modelPathPrefix.length ? modelEndpoint : undefined);
  if (found !== undefined) return { endpoint: found, params: noParams };
  for (const { route, endpoint } of patternRoutes) {
    const params = route.match(path);
    if (params !== undefined) return { endpoint, params };
  }
  return undefined;
}

/** The model a request is for: the path's (Gemini, Bedrock, Azure deployments) or the body's "model". */
export function requestModel(match: EndpointMatch, body: JsonObject | undefined): string | undefined {
  const param = match.endpoint.modelParam;
  if (param !== undefined) return match.params[param];
  const model = body?.model;
  return typeof model === 'string' ? model : undefined;
}
