// OpenAI Responses API answers, POST /v1/responses: text, a function call, or structured JSON (text.format),
// whole or as semantic SSE events; max_output_tokens cuts text into an incomplete response.
import { errors, type GatewayError } from '../shared/errors.js';
import type { RequestPlan } from './options.js';
import type { Answer, AnswerContext } from './openai.js';
import { structuredPieces } from './openai.js';
import { answerLength, argumentPieces, isObject, isStreaming, optionalCount, requireString, toolArguments, type JsonObject } from './request.js';
import { responseStream, wholeResponse, type ResponsesAnswerParts, type ResponsesOutput } from './responses-answer.js';
import type { SimRoute } from './routes.js';
import { contentCharacters, estimateTokens } from './text.js';

/** Characters of text in the input: message contents, function arguments and outputs. */
function inputCharacters(input: unknown): number {
  if (typeof input === 'string') return input.length;
  if (!Array.isArray(input)) return 0;
  let total = 0;
  for (const item of input) {
    if (!isObject(item)) continue;
    total += contentCharacters(item.content);
    if (typeof item.arguments === 'string') total += item.arguments.length;
    total += typeof item.output === 'string' ? item.output.length : contentCharacters(item.output);
  }
  return total;
}

/**
 * The function the model calls, unless tool_choice is "none" or it just got a function's output (then it
 * answers in text, as a model would, so agent loops end) without being told to call one again.
 */
function chosenFunction(body: JsonObject): JsonObject | undefined {
  const tools = Array.isArray(body.tools) ? body.tools.filter((t): t is JsonObject => isObject(t) && t.type === 'function' && typeof t.name === 'string') : [];
  const choice = body.tool_choice;
  if (tools.length === 0 || choice === 'none') return undefined;
  const wanted = isObject(choice) && choice.type === 'function' ? choice.name : undefined;
  const input = body.input;
  const last = Array.isArray(input) ? input.at(-1) : undefined;
  if (wanted === undefined && choice !== 'required' && isObject(last) && last.type === 'function_call_output') return undefined;
  return tools.find((t) => wanted === undefined || t.name === wanted);
}

const orNull = (value: unknown): string => JSON.stringify(value ?? null);

/** Request fields the response object echoes, in OpenAI's order. */
function echoedFields(body: JsonObject, model: string): { before: string; after: string } {
  const reasoning = isObject(body.reasoning) ? body.reasoning : {};
  const text = isObject(body.text) ? body.text : {};
  const before =
    `"instructions":${orNull(typeof body.instructions === 'string' ? body.instructions : null)},` +
    `"max_output_tokens":${orNull(body.max_output_tokens)},"max_tool_calls":${orNull(body.max_tool_calls)},"model":${JSON.stringify(model)}`;
  const after =
    `"parallel_tool_calls":${body.parallel_tool_calls === false ? 'false' : 'true'},"previous_response_id":${orNull(body.previous_response_id)},` +
    `"prompt_cache_key":${orNull(body.prompt_cache_key)},"reasoning":{"effort":${orNull(reasoning.effort)},"summary":${orNull(reasoning.summary)}},` +
    `"safety_identifier":${orNull(body.safety_identifier)},"service_tier":"default","store":${body.store === false ? 'false' : 'true'},` +
    `"temperature":${typeof body.temperature === 'number' ? body.temperature : 1},` +
    `"text":{"format":${JSON.stringify(isObject(text.format) ? text.format : { type: 'text' })},"verbosity":${JSON.stringify(text.verbosity ?? 'medium')}},` +
    `"tool_choice":${JSON.stringify(body.tool_choice ?? 'auto')},"tools":${JSON.stringify(Array.isArray(body.tools) ? body.tools : [])},` +
    `"top_logprobs":0,"top_p":${typeof body.top_p === 'number' ? body.top_p : 1},"truncation":${JSON.stringify(body.truncation ?? 'disabled')}`;
  return { before, after };
}

export function answerResponses(body: JsonObject, plan: RequestPlan, ctx: AnswerContext): Answer {
  const model = requireString(body, 'model');
  const input = body.input;
  if (input === undefined || input === null) throw errors.missingParam('input');
  if (typeof input !== 'string' && !Array.isArray(input)) throw errors.invalidParam('input', "'input' must be a string or an array of input items.");
  const limit = optionalCount(body, 'max_output_tokens');
  const instructions = typeof body.instructions === 'string' ? body.instructions.length : 0;
  const fn = chosenFunction(body);
  const itemId = `${fn ? 'fc' : 'msg'}_sim_${ctx.sequence}`;
  let output: ResponsesOutput;
  const structured = fn ? undefined : structuredPieces(isObject(body.text) ? body.text.format : undefined, limit);
  if (fn) {
    output = { kind: 'function_call', itemId, callId: `call_sim_${ctx.sequence}`, name: fn.name as string, pieces: argumentPieces(toolArguments(fn.parameters)) };
  } else if (structured) {
    output = { kind: 'json', itemId, pieces: structured.pieces, cut: structured.cut };
  } else {
    const length = answerLength(plan.completion_tokens, limit);
    output = { kind: 'text', itemId, tokens: length.tokens, cut: length.cut };
  }
  const echoed = echoedFields(body, model);
  const parts: ResponsesAnswerParts = {
    idFields: `"id":"resp_sim_${ctx.sequence}","object":"response","created_at":${ctx.created}`,
    beforeOutput: echoed.before,
    afterOutput: echoed.after,
    inputTokens: estimateTokens(inputCharacters(input) + instructions),
    chunkTokens: plan.chunk_tokens,
    output,
  };
  if (isStreaming(body)) return { kind: 'stream', stream: responseStream(parts) };
  return { kind: 'whole', answer: wholeResponse(parts) };
}

export const responsesRoutes: readonly SimRoute[] = [
  {
    method: 'POST',
    family: 'openai',
    match: (path) => (path === '/v1/responses' ? {} : undefined),
    answer: (body, plan, ctx) => answerResponses(body, plan, ctx),
    errorBody: (error: GatewayError) => error.toJSON(),
  },
];
