// Azure OpenAI paths: /openai/deployments/{deployment}/{operation}?api-version=… (the deployment names the
// model) and the newer /openai/v1/{operation} (model in the body), with the api-key header, and Azure's
// content-filter refusal on request (header x-sim-azure-content-filter: prompt).
import type { IncomingHead } from '../server/http.js';
import { GatewayError } from '../shared/errors.js';
import { answerEmbeddings } from './embeddings.js';
import { answerChat, answerCompletion, type Answer, type AnswerContext } from './openai.js';
import type { RequestPlan, SimulatorOptions } from './options.js';
import type { JsonObject } from './request.js';
import type { SimRoute } from './routes.js';

type Operation = 'chat/completions' | 'completions' | 'embeddings';
const deploymentPath = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|completions|embeddings)$/;
const v1Path = /^\/openai\/v1\/(chat\/completions|completions|embeddings)$/;

function answer(operation: Operation, body: JsonObject, plan: RequestPlan, ctx: AnswerContext, options: SimulatorOptions): Answer {
  if (operation === 'chat/completions') return answerChat(body, plan, ctx);
  if (operation === 'completions') return answerCompletion(body, plan, ctx);
  return answerEmbeddings(body, options.embedding_dims);
}

function azureError(status: number, code: string, message: string, extra: Record<string, unknown> = {}): GatewayError {
  const error = new GatewayError(status, message, { code, type: 'azure' });
  (error as GatewayError & { azure?: Record<string, unknown> }).azure = extra;
  return error;
}

/** The key, and for deployment paths the api-version; a filtered prompt as Azure refuses it. */
function checkHead(head: IncomingHead, needsVersion: boolean): GatewayError | undefined {
  if (!head.headers['api-key'] && !head.headers.authorization) {
    return azureError(401, '401', 'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.');
  }
  if (needsVersion && !new URLSearchParams(head.query).get('api-version')) {
    return azureError(404, '404', 'Resource not found');
  }
  if (head.headers['x-sim-azure-content-filter'] === 'prompt') {
    return azureError(400, 'content_filter', "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry.", {
      param: 'prompt',
      status: 400,
      innererror: { code: 'ResponsibleAIPolicyViolation', content_filter_result: { hate: { filtered: true, severity: 'high' }, self_harm: { filtered: false, severity: 'safe' }, sexual: { filtered: false, severity: 'safe' }, violence: { filtered: false, severity: 'safe' } } },
    });
  }
  return undefined;
}

const operationNames: Readonly<Record<string, string>> = {
  'chat/completions': 'ChatCompletions_Create',
  completions: 'Completions_Create',
  embeddings: 'Embeddings_Create',
};

/** Azure's own 429 body ({"error":{"code":"429","message"}}), naming the operation and api-version as Azure does. */
export function azureRateLimitBody(path: string, query: string, retryAfterS: number): string {
  const operation = operationNames[/(chat\/completions|completions|embeddings)$/.exec(path)?.[1] ?? 'chat/completions'];
  const version = new URLSearchParams(query).get('api-version') ?? 'v1';
  const message =
    `Requests to the ${operation} Operation under Azure OpenAI API version ${version} have exceeded token rate limit of your current OpenAI S0 pricing tier. ` +
    `Please retry after ${retryAfterS} second${retryAfterS === 1 ? '' : 's'}. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit.`;
  return JSON.stringify({ error: { code: '429', message } });
}

function errorBody(error: GatewayError): string {
  const extra = (error as GatewayError & { azure?: Record<string, unknown> }).azure;
  if (extra === undefined) return error.toJSON();
  return JSON.stringify({ error: { message: error.message, type: null, param: null, code: error.code, ...extra } });
}

export const azureRoutes: readonly SimRoute[] = [
  {
    method: 'POST',
    family: 'azure',
    modelParam: 'deployment',
    match(path) {
      const m = deploymentPath.exec(path);
      return m ? { deployment: decodeURIComponent(m[1]), operation: m[2] } : undefined;
    },
    checkHead: (head) => checkHead(head, true),
    // The deployment names the model; Azure ignores a model in the body.
    answer: (body, plan, ctx, options, params) => answer(params.operation as Operation, { ...body, model: params.deployment }, plan, ctx, options),
    errorBody,
  },
  {
    method: 'POST',
    family: 'azure',
    match(path) {
      const m = v1Path.exec(path);
      return m ? { operation: m[1] } : undefined;
    },
    checkHead: (head) => checkHead(head, false),
    answer: (body, plan, ctx, options, params) => answer(params.operation as Operation, body, plan, ctx, options),
    errorBody,
  },
];
