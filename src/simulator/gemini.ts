// Gemini API routes (/v1beta/models/{model}:{method}): generateContent, streamGenerateContent,
// embedContent, batchEmbedContents, countTokens; Google's key check and error shape.
import type { IncomingHead } from '../server/http.js';
import { errors, GatewayError } from '../shared/errors.js';
import { embeddingOf, maxDimensions } from './embeddings.js';
import { answerGenerate, promptCharacters } from './gemini-generate.js';
import { jsonHeaders, type Answer, type AnswerContext } from './openai.js';
import { planRequest, type RequestPlan, type SimulatorOptions } from './options.js';
import { isObject, type JsonObject } from './request.js';
import type { SimRoute } from './routes.js';
import { estimateTokens } from './text.js';

const modelPath = /^\/v1beta\/models\/([^/:]+):([A-Za-z]+)$/;

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The key as Google takes it: the x-goog-api-key header, or `key` in the query. */
function presentedKey(head: IncomingHead): string | undefined {
  const header = head.headers['x-goog-api-key'];
  if (header !== undefined && header !== '') return header;
  const query = new URLSearchParams(head.query).get('key');
  return query === null || query === '' ? undefined : query;
}

/** google.rpc.Code names Google puts in `error.status`, by HTTP status. */
const statusNames: Readonly<Record<number, string>> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  429: 'RESOURCE_EXHAUSTED',
  499: 'CANCELLED',
  500: 'INTERNAL',
  501: 'NOT_IMPLEMENTED',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/** `details` replaces the default ones (a RetryInfo of 1s on a 429, none otherwise). */
export function geminiErrorBody(error: GatewayError, details?: readonly unknown[]): string {
  const status = statusNames[error.status] ?? (error.status >= 500 ? 'INTERNAL' : 'INVALID_ARGUMENT');
  const detailsJson =
    details !== undefined ? JSON.stringify(details) : error.status === 429 ? '[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1s"}]' : undefined;
  return `{"error":{"code":${error.status},"message":${JSON.stringify(error.message)},"status":"${status}"${detailsJson === undefined ? '' : `,"details":${detailsJson}`}}}`;
}

const whole = (body: string): Answer => ({
  kind: 'whole',
  answer: { status: 200, headers: jsonHeaders, body, tokens: 0, malformed: body.slice(0, body.length >> 1) },
});

function floats(vector: Float32Array): string {
  let json = '[';
  for (let i = 0; i < vector.length; i++) json += i === 0 ? `${vector[i]}` : `,${vector[i]}`;
  return `${json}]`;
}

function embedding(request: JsonObject, dimsDefault: number, at: string): string {
  const content = request.content;
  if (!isObject(content) || !Array.isArray(content.parts)) throw errors.invalidParam(`${at}content`, `'${at}content' must be a Content with parts.`);
  const text = content.parts.map((p) => (isObject(p) && typeof p.text === 'string' ? p.text : '')).join('');
  const dims = request.outputDimensionality ?? dimsDefault;
  if (typeof dims !== 'number' || !Number.isInteger(dims) || dims < 1 || dims > maxDimensions) {
    throw errors.invalidParam(`${at}outputDimensionality`, `'outputDimensionality' must be an integer from 1 to ${maxDimensions}.`);
  }
  return `{"values":${floats(embeddingOf(text, dims))}}`;
}

function answerBatchEmbed(body: JsonObject, model: string, dims: number): Answer {
  const requests = body.requests;
  if (!Array.isArray(requests) || requests.length === 0) throw errors.invalidParam('requests', "'requests' must be a non-empty array.");
  const list = requests.map((request, i) => {
    if (!isObject(request)) throw errors.invalidParam(`requests[${i}]`, 'Each request must be an object.');
    // Google refuses a batch whose requests name another model than the path.
    if (request.model !== undefined && request.model !== `models/${model}`) {
      throw errors.invalidParam(`requests[${i}].model`, `Model '${String(request.model)}' of requests[${i}] does not match the batch model 'models/${model}'.`);
    }
    return embedding(request, dims, `requests[${i}].`);
  });
  return whole(`{"embeddings":[${list.join(',')}]}`);
}

function answerCountTokens(body: JsonObject): Answer {
  const inner = isObject(body.generateContentRequest) ? body.generateContentRequest : body;
  const tokens = estimateTokens(promptCharacters(inner.contents, inner.systemInstruction));
  return whole(`{"totalTokens":${tokens},"promptTokensDetails":[{"modality":"TEXT","tokenCount":${tokens}}]}`);
}

/** The fault answer server.ts gives when the model name in the body asks for one; Gemini's model is in the path. */
function simulatedFault(status: number): GatewayError {
  return new GatewayError(status, `Simulated HTTP ${status} (simulator fault status-${status}).`, {
    code: 'simulated_fault',
    headers: status === 429 || status === 503 ? { 'retry-after': '1' } : undefined,
  });
}

function answer(body: JsonObject, plan: RequestPlan, ctx: AnswerContext, options: SimulatorOptions, params: Record<string, string>, head: IncomingHead): Answer {
  const model = params.model;
  // Model-name rules (sim-len-3, sim-fault-…) apply to the model in the path.
  Object.assign(plan, planRequest(options, head.headers, model));
  if (plan.fault?.kind === 'status') throw simulatedFault(plan.fault.status);
  if (plan.fault?.kind === 'key-echo') plan.fault.key = presentedKey(head) ?? '';
  switch (params.method) {
    case 'generateContent':
      return answerGenerate(body, plan, ctx, model, 'whole');
    case 'streamGenerateContent':
      return answerGenerate(body, plan, ctx, model, new URLSearchParams(head.query).get('alt') === 'sse' ? 'sse' : 'array');
    case 'embedContent':
      return whole(`{"embedding":${embedding(body, options.embedding_dims, '')}}`);
    case 'batchEmbedContents':
      return answerBatchEmbed(body, model, options.embedding_dims);
    case 'countTokens':
      return answerCountTokens(body);
    default:
      throw new GatewayError(
        404,
        `Method '${params.method}' is not found for model 'models/${model}' ` +
          '(the simulator has generateContent, streamGenerateContent, embedContent, batchEmbedContents and countTokens).',
      );
  }
}

/** Google's answer to a request without a key (403, not 401). */
const missingKey = (): GatewayError =>
  new GatewayError(
    403,
    "Method doesn't allow unregistered callers (callers without established identity). " +
      'Please use API Key or other form of API consumer identity to call this API.',
    { code: 'PERMISSION_DENIED' },
  );

export const geminiRoutes: readonly SimRoute[] = [
  {
    method: 'POST',
    family: 'gemini',
    modelParam: 'model',
    match(path) {
      const m = modelPath.exec(path);
      return m === null ? undefined : { model: decoded(m[1]), method: m[2] };
    },
    checkHead: (head) => (presentedKey(head) === undefined ? missingKey() : undefined),
    answer,
    errorBody: (error) => geminiErrorBody(error),
  },
];
