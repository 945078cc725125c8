// Canonical chat request → Anthropic Messages request (POST /v1/messages).
import { errors, type GatewayError } from '../../shared/errors.js';
import type { ChatRequest, JsonObject, ToolChoice } from '../../translate/canonical.js';
import type { ProviderTarget, WireRequest } from '../../translate/provider.js';
import { toAnthropicConversation } from './messages.js';
import { jsonToolName, messagesPath } from './wire.js';

/** Anthropic requires max_tokens; this is sent when the client gave none (plus the thinking budget, if any). */
export const defaultMaxTokens = 4096;

const effortBudgets: Readonly<Record<string, number>> = { minimal: 1024, low: 1024, medium: 4096, high: 16384 };

const isSet = (value: unknown): boolean => value !== undefined && value !== null;

/** Parameters Anthropic has no equivalent of, with the values that would ask for something. */
const unsupported: ReadonlyArray<[string, (req: ChatRequest) => boolean]> = [
  ['n', (req) => isSet(req.n) && req.n !== 1],
  ['logprobs', (req) => req.logprobs === true],
  ['top_logprobs', (req) => isSet(req.top_logprobs)],
  ['logit_bias', (req) => isSet(req.logit_bias) && Object.keys(req.logit_bias as object).length > 0],
  ['presence_penalty', (req) => isSet(req.presence_penalty) && req.presence_penalty !== 0],
  ['frequency_penalty', (req) => isSet(req.frequency_penalty) && req.frequency_penalty !== 0],
  ['seed', (req) => isSet(req.seed)],
  ['audio', (req) => isSet(req.audio)],
  ['modalities', (req) => Array.isArray(req.modalities) && req.modalities.some((m) => m !== 'text')],
  ['prediction', (req) => isSet(req.prediction)],
];

/** Sampling parameters, and the values Anthropic refuses while extended thinking is on. */
const samplingParams: ReadonlyArray<['temperature' | 'top_p' | 'top_k', (value: number) => boolean]> = [
  ['temperature', (value) => value !== 1],
  ['top_p', (value) => value < 0.95],
  ['top_k', () => true],
];

function refusal(target: ProviderTarget, param: string, what = `'${param}'`): GatewayError {
  return errors.invalidParam(param, `Provider '${target.provider.name}' (anthropic) does not support ${what}.`);
}

export function toAnthropicRequest(req: ChatRequest, target: ProviderTarget): WireRequest {
  if (!target.dropUnsupported) {
    for (const [param, asks] of unsupported) if (asks(req)) throw refusal(target, param);
  }
  const conversation = toAnthropicConversation(req.messages, { dropUnsupported: target.dropUnsupported, provider: target.provider.name });
  const thinking = thinkingOf(req);
  const budget = thinking?.type === 'enabled' && typeof thinking.budget_tokens === 'number' ? thinking.budget_tokens : 0;

  const body: JsonObject = { model: target.upstreamModel };
  if (conversation.system !== undefined) body.system = conversation.system;
  body.messages = conversation.messages;
  body.max_tokens = req.max_completion_tokens ?? req.max_tokens ?? defaultMaxTokens + budget;
  if (req.stop !== undefined && req.stop !== null) {
    const stops = typeof req.stop === 'string' ? [req.stop] : req.stop;
    if (stops.length > 0) body.stop_sequences = stops;
  }
  for (const [param, clashesWithThinking] of samplingParams) {
    const value = req[param];
    if (!isSet(value)) continue;
    if (budget > 0 && clashesWithThinking(value as number)) {
      const what = param === 'top_k' ? `'top_k'` : `'${param}' = ${String(value)}`;
      if (!target.dropUnsupported) throw refusal(target, param, `${what} together with extended thinking`);
      continue;
    }
    body[param] = value;
  }
  if (typeof req.user === 'string' && req.user !== '') body.metadata = { user_id: req.user };
  if (thinking !== undefined) body.thinking = thinking;
  addTools(body, req, target, thinking?.type === 'enabled');
  if (req.stream === true) body.stream = true;
  return { path: messagesPath, headers: [], body: JSON.stringify(body) };
}

function thinkingOf(req: ChatRequest): JsonObject | undefined {
  if (req.thinking !== undefined && req.thinking !== null) return { ...req.thinking };
  if (req.reasoning_effort === undefined || req.reasoning_effort === null) return undefined;
  const budget = effortBudgets[req.reasoning_effort];
  if (budget === undefined) {
    throw errors.invalidParam('reasoning_effort', `reasoning_effort must be one of ${Object.keys(effortBudgets).join(', ')}.`);
  }
  return { type: 'enabled', budget_tokens: budget };
}

/** tools, tool_choice and response_format: JSON mode is a tool of its own (jsonToolName), JSON schema is native. */
function addTools(body: JsonObject, req: ChatRequest, target: ProviderTarget, thinking: boolean): void {
  const tools: JsonObject[] = (req.tools ?? []).map((tool, i) => {
    if (tool.type !== 'function' || typeof tool.function?.name !== 'string') {
      throw errors.invalidParam(`tools[${i}]`, `tools[${i}] must be a function tool with a name.`);
    }
    const out: JsonObject = { name: tool.function.name };
    if (tool.function.description !== undefined) out.description = tool.function.description;
    out.input_schema = tool.function.parameters ?? { type: 'object', properties: {} };
    const cacheControl = (tool as unknown as JsonObject).cache_control;
    if (cacheControl !== null && typeof cacheControl === 'object') out.cache_control = cacheControl;
    return out;
  });
  let choice = tools.length > 0 ? choiceOf(req.tool_choice) : undefined;

  const format = req.response_format;
  if (format?.type === 'json_schema') {
    body.output_config = { format: { type: 'json_schema', schema: format.json_schema?.schema ?? { type: 'object' } } };
  } else if (format?.type === 'json_object') {
    // Forcing a tool is refused by Anthropic while extended thinking is on.
    if (thinking) {
      if (!target.dropUnsupported) throw refusal(target, 'response_format', "'response_format' json_object together with extended thinking");
    } else {
      const forceJson = tools.length === 0 || choice === undefined || choice.type === 'none' || choice.type === 'auto';
      tools.push({ name: jsonToolName, description: 'Answer with a JSON object: the input of this tool is the answer.', input_schema: { type: 'object' } });
      // With tools of the client's the model may still call one of them instead (it must call some tool).
      if (forceJson && (req.tool_choice === 'none' || tools.length === 1)) choice = { type: 'tool', name: jsonToolName };
      else if (forceJson) choice = { type: 'any' };
    }
  }
  if (req.parallel_tool_calls === false && tools.length > 0 && choice?.type !== 'none') {
    choice = { ...(choice ?? { type: 'auto' }), disable_parallel_tool_use: true };
  }
  if (tools.length > 0) body.tools = tools;
  if (choice !== undefined) body.tool_choice = choice;
}

function choiceOf(choice: ToolChoice | undefined): JsonObject | undefined {
  if (choice === undefined || choice === null) return undefined;
  if (choice === 'auto') return { type: 'auto' };
  if (choice === 'none') return { type: 'none' };
  if (choice === 'required') return { type: 'any' };
  if (typeof choice === 'object' && choice.type === 'function' && typeof choice.function?.name === 'string') {
    return { type: 'tool', name: choice.function.name };
  }
  throw errors.invalidParam('tool_choice', "tool_choice must be 'auto', 'none', 'required' or {type: 'function', function: {name}}.");
}
