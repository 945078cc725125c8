// Scripted errors in the real wire shape of the family that was asked (OpenAI, Azure, Anthropic, Gemini,
// Bedrock): status, body and headers as each provider sends them, built with each family's own error builder.
import type { HeaderList } from '../server/http.js';
import { GatewayError } from '../shared/errors.js';
import { anthropicErrorBody } from './anthropic.js';
import { azureRateLimitBody } from './azure.js';
import { bedrockErrorBody, exceptionFor } from './bedrock.js';
import type { WholeAnswer } from './delivery.js';
import { geminiErrorBody } from './gemini.js';
import { jsonHeaders } from './openai.js';
import type { WireFamily } from './routes.js';
import type { CompiledRule, ScriptedErrorKind } from './script.js';

/** What the error's text quotes about the request it refuses. */
export interface RefusedRequest {
  readonly family: WireFamily;
  readonly path: string;
  readonly query: string;
  readonly model: string | undefined;
  readonly promptTokens: number;
  readonly sequence: number;
}

interface Facts extends RefusedRequest {
  readonly maxPromptTokens: number;
  /** The wait the error's text names: the rule's retry-after, else 1 s. */
  readonly waitS: number;
  readonly requestId: string;
}

interface Shaped {
  readonly status: number;
  readonly body: string;
  readonly headers?: HeaderList;
}

type KindTable = Readonly<Record<ScriptedErrorKind, (status: number | undefined, f: Facts) => Shaped>>;

const openaiBody = (status: number, message: string, type: string, code: string | null = null, param: string | null = null): Shaped => ({
  status,
  body: new GatewayError(status, message, { type, code, param }).toJSON(),
});

/** OpenAI words a context-length refusal after the endpoint: chat counts messages, Responses its input, the rest a prompt. */
function openaiContextLength(status: number, f: Facts): Shaped {
  const n = f.maxPromptTokens;
  const m = f.promptTokens;
  if (f.path.endsWith('/responses')) {
    return openaiBody(status, 'Your input exceeds the context window of this model. Please adjust your input and try again.', 'invalid_request_error', 'context_length_exceeded', 'input');
  }
  if (f.path.endsWith('/chat/completions')) {
    return openaiBody(
      status,
      `This model's maximum context length is ${n} tokens. However, your messages resulted in ${m} tokens. Please reduce the length of the messages.`,
      'invalid_request_error', 'context_length_exceeded', 'messages',
    );
  }
  return openaiBody(
    status,
    `This model's maximum context length is ${n} tokens, however you requested ${m} tokens (${m} in your prompt; 0 for the completion). Please reduce your prompt; or completion length.`,
    'invalid_request_error', 'context_length_exceeded',
  );
}

const openai: KindTable = {
  rate_limit: (s, f) =>
    openaiBody(
      s ?? 429,
      `Rate limit reached for ${f.model ?? 'the model'} in organization org-switchyard-sim on requests per min (RPM): Limit 60, Used 60, Requested 1. ` +
        `Please try again in ${f.waitS}s. Visit https://platform.openai.com/account/rate-limits to learn more.`,
      'requests', 'rate_limit_exceeded',
    ),
  insufficient_quota: (s) =>
    openaiBody(
      s ?? 429,
      'You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
      'insufficient_quota', 'insufficient_quota',
    ),
  context_length: (s, f) => openaiContextLength(s ?? 400, f),
  overloaded: (s, f) =>
    openaiBody(
      s ?? 503,
      `That model is currently overloaded with other requests. You can retry your request, or contact us through our help center at help.openai.com if the error persists. (Please include the request ID ${f.requestId} in your message.)`,
      'server_error',
    ),
  server_error: (s) => openaiBody(s ?? 500, 'The server had an error while processing your request. Sorry about that!', 'server_error'),
  unavailable: (s) => openaiBody(s ?? 503, 'The server is overloaded or not ready yet.', 'server_error'),
};

/** Azure answers in OpenAI's shape, except its own rate limit. */
const azure: KindTable = {
  ...openai,
  rate_limit: (s, f) => ({ status: s ?? 429, body: azureRateLimitBody(f.path, f.query, Math.ceil(f.waitS)) }),
};

const anthropicBody = (status: number, type: string, message: string, f: Facts): Shaped => ({
  status,
  body: anthropicErrorBody(new GatewayError(status, message, { type }), f.requestId),
});

const anthropic: KindTable = {
  rate_limit: (s, f) =>
    anthropicBody(
      s ?? 429, 'rate_limit_error',
      'This request would exceed the rate limit for your organization (org-switchyard-sim) of 50 requests per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits. ' +
        'You can see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later.',
      f,
    ),
  // Anthropic refuses an exhausted credit balance as a bad request, not as a rate limit.
  insufficient_quota: (s, f) =>
    anthropicBody(s ?? 400, 'invalid_request_error', 'Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.', f),
  context_length: (s, f) => anthropicBody(s ?? 400, 'invalid_request_error', `prompt is too long: ${f.promptTokens} tokens > ${f.maxPromptTokens} maximum`, f),
  overloaded: (s, f) => anthropicBody(s ?? 529, 'overloaded_error', 'Overloaded', f),
  server_error: (s, f) => anthropicBody(s ?? 500, 'api_error', 'Internal server error', f),
  // Anthropic's shape makes any 503 an overloaded_error (anthropicErrorBody).
  unavailable: (s, f) => anthropicBody(s ?? 503, 'overloaded_error', 'Service unavailable', f),
};

const geminiBody = (status: number, message: string, details?: readonly unknown[]): Shaped => ({
  status,
  body: geminiErrorBody(new GatewayError(status, message), details),
});

const gemini: KindTable = {
  rate_limit: (s, f) =>
    geminiBody(s ?? 429, 'Resource has been exhausted (e.g. check quota).', [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${f.waitS}s` }]),
  insufficient_quota: (s, f) =>
    geminiBody(
      s ?? 429,
      'You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.',
      [
        {
          '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
          violations: [{
            quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_requests',
            quotaId: 'GenerateRequestsPerDayPerProjectPerModel-FreeTier',
            quotaDimensions: { location: 'global', model: f.model ?? '' },
            quotaValue: '0',
          }],
        },
        { '@type': 'type.googleapis.com/google.rpc.Help', links: [{ description: 'Learn more about Gemini API quotas', url: 'https://ai.google.dev/gemini-api/docs/rate-limits' }] },
      ],
    ),
  context_length: (s, f) => geminiBody(s ?? 400, `The input token count (${f.promptTokens}) exceeds the maximum number of tokens allowed (${f.maxPromptTokens}).`),
  overloaded: (s) => geminiBody(s ?? 503, 'The model is overloaded. Please try again later.'),
  server_error: (s) => geminiBody(s ?? 500, 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting'),
  unavailable: (s) => geminiBody(s ?? 503, 'The service is currently unavailable.'),
};

/** Bedrock names the exception in x-amzn-errortype; the body is {"message"}. */
function bedrockBody(status: number, exception: string, message: string): Shaped {
  const headers = { 'x-amzn-errortype': exception };
  return { status, body: bedrockErrorBody(new GatewayError(status, message, { headers })), headers: Object.entries(headers) };
}

const bedrock: KindTable = {
  rate_limit: (s) => bedrockBody(s ?? 429, 'ThrottlingException', 'Too many requests, please wait before trying again.'),
  insufficient_quota: (s) =>
    bedrockBody(s ?? 400, 'ServiceQuotaExceededException', 'Your request exceeds the service quota for your account. You can view your quotas at Viewing service quotas. You can resubmit your request later.'),
  context_length: (s) => bedrockBody(s ?? 400, 'ValidationException', 'Input is too long for requested model.'),
  overloaded: (s) => bedrockBody(s ?? 503, 'ServiceUnavailableException', 'Too many connections, please wait before trying again.'),
  server_error: (s) => bedrockBody(s ?? 500, 'InternalServerException', 'The system encountered an unexpected error during processing. Try your request again.'),
  unavailable: (s) => bedrockBody(s ?? 503, 'ServiceUnavailableException', 'Bedrock is unable to process your request.'),
};

const tables: Readonly<Record<WireFamily, KindTable>> = { openai, azure, anthropic, gemini, bedrock };

/** A status the rule gives without a kind: the family's generic error for it. */
function bareStatus(family: WireFamily, status: number, f: Facts): Shaped {
  const message = `Simulated HTTP ${status} (scripted fault).`;
  if (family === 'anthropic') return { status, body: anthropicErrorBody(new GatewayError(status, message), f.requestId) };
  if (family === 'gemini') return { status, body: geminiErrorBody(new GatewayError(status, message)) };
  if (family === 'bedrock') return bedrockBody(status, exceptionFor(status), message);
  return { status, body: new GatewayError(status, message, { code: 'simulated_fault' }).toJSON() };
}

/** The request id header each family's clients read (the SDKs put it on their error objects). */
const requestIdHeader: Readonly<Record<WireFamily, string>> = {
  openai: 'x-request-id', azure: 'x-request-id', anthropic: 'request-id', gemini: 'x-request-id', bedrock: 'x-amzn-requestid',
};

function requestIdOf(family: WireFamily, sequence: number): string {
  if (family === 'bedrock') return `00000000-0000-4000-8000-${String(sequence).padStart(12, '0')}`;
  return family === 'anthropic' ? `req_sim_${sequence}` : `req_sim_${sequence.toString(16).padStart(8, '0')}`;
}

/** The error a rule answers, as a whole answer the normal delivery sends (after the rule's ttft_ms). */
export function scriptedErrorAnswer(rule: CompiledRule, request: RefusedRequest): WholeAnswer {
  const error = rule.error;
  if (error === undefined) throw new Error('scriptedErrorAnswer: the rule answers no error.');
  const requestId = requestIdOf(request.family, request.sequence);
  const waitS = rule.retryAfterS ?? (rule.retryAfterMs !== undefined ? rule.retryAfterMs / 1000 : 1);
  const facts: Facts = { ...request, maxPromptTokens: rule.maxPromptTokens ?? 0, waitS, requestId };
  const shaped =
    error.kind === undefined ? bareStatus(request.family, error.status ?? 500, facts) : tables[request.family][error.kind](error.status, facts);
  const headers: Array<readonly [string, string]> = [...jsonHeaders, [requestIdHeader[request.family], requestId], ...(shaped.headers ?? [])];
  if (rule.retryAfterS !== undefined) headers.push(['retry-after', String(rule.retryAfterS)]);
  if (rule.retryAfterMs !== undefined) headers.push(['retry-after-ms', String(rule.retryAfterMs)]);
  return { status: shaped.status, headers, body: shaped.body, tokens: 0, malformed: shaped.body };
}
