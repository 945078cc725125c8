// A Responses API request (POST /v1/responses) as the canonical chat request. The gateway keeps no
// state, so whatever needs a stored response or conversation is refused with a 400 naming it.
import { errors } from '../../shared/errors.js';
import type { ChatMessage, ChatRequest, JsonObject, ToolChoice, ToolDefinition } from '../../translate/canonical.js';
import {
  invalid, isObject, optionalArray, optionalBoolean, optionalInteger, optionalNumber, optionalObject, optionalString, requireString,
} from './fields.js';
import { inputMessages } from './input-items.js';

/** Parameters that need state the gateway does not keep, or a feature it cannot offer, when set. */
const refusedWhenSet: ReadonlyArray<{ param: string; why: string }> = [
  { param: 'previous_response_id', why: 'the gateway keeps no responses; send the whole conversation in input' },
  { param: 'conversation', why: 'the gateway keeps no conversations; send the whole conversation in input' },
  { param: 'prompt', why: 'stored prompt templates are not available through the gateway; send instructions and input' },
  { param: 'context_management', why: 'server-side compaction needs stored responses, which the gateway does not keep' },
];

/** `include` values the gateway can honour: encrypted reasoning is how a stateless client keeps it. */
const supportedIncludes = new Set(['reasoning.encrypted_content']);

const efforts = new Set(['minimal', 'low', 'medium', 'high']);

export function toCanonicalRequest(body: JsonObject): ChatRequest {
  const model = requireString(body, 'model', 'model');
  checkRefused(body);
  const messages: ChatMessage[] = [];
  const instructions = body.instructions;
  if (instructions !== undefined && instructions !== null) {
    if (typeof instructions !== 'string') throw invalid('instructions', 'a string', instructions);
    messages.push({ role: 'system', content: instructions });
  }
  messages.push(...inputMessages(body.input));
  const req: ChatRequest = { model, messages };
  if (optionalBoolean(body, 'stream', 'stream') === true) {
    req.stream = true;
    // The Responses stream ends with the usage in response.completed, so usage is always wanted.
    req.stream_options = { include_usage: true };
  }
  const maxTokens = optionalInteger(body, 'max_output_tokens', 'max_output_tokens', 1);
  if (maxTokens !== undefined) req.max_tokens = maxTokens;
  const temperature = optionalNumber(body, 'temperature', 'temperature');
  if (temperature !== undefined) req.temperature = temperature;
  const topP = optionalNumber(body, 'top_p', 'top_p');
  if (topP !== undefined) req.top_p = topP;
  const tools = toolDefinitions(body);
  const toolChoice = toCanonicalToolChoice(body.tool_choice);
  const parallel = optionalBoolean(body, 'parallel_tool_calls', 'parallel_tool_calls');
  // Clients send `tools: []` with tool settings by default; chat APIs refuse tool settings without tools.
  if (tools !== undefined && tools.length > 0) {
    req.tools = tools;
    if (toolChoice !== undefined) req.tool_choice = toolChoice;
    if (parallel !== undefined) req.parallel_tool_calls = parallel;
  }
  const format = responseFormat(body);
  if (format !== undefined) req.response_format = format;
  applyReasoning(body, req);
  const user = optionalString(body, 'safety_identifier', 'safety_identifier') ?? optionalString(body, 'user', 'user');
  if (user !== undefined) req.user = user;
  return req;
}

function checkRefused(body: JsonObject): void {
  for (const { param, why } of refusedWhenSet) {
    const value = body[param];
    if (value !== undefined && value !== null && value !== '') throw errors.invalidParam(param, `'${param}' is not supported: ${why}.`);
  }
  if (body.background === true) throw errors.invalidParam('background', "'background' is not supported: the gateway keeps no responses to poll.");
  const topLogprobs = optionalInteger(body, 'top_logprobs', 'top_logprobs', 0);
  if (topLogprobs !== undefined && topLogprobs > 0) throw errors.invalidParam('top_logprobs', "'top_logprobs' is not supported through the gateway.");
  const include = optionalArray(body, 'include', 'include') ?? [];
  include.forEach((value, i) => {
    if (typeof value !== 'string' || !supportedIncludes.has(value)) {
      throw errors.invalidParam(`include[${i}]`, `Invalid 'include[${i}]': only 'reasoning.encrypted_content' is supported through the gateway, got ${JSON.stringify(value)}.`);
    }
  });
}

function toolDefinitions(body: JsonObject): ToolDefinition[] | undefined {
  const tools = optionalArray(body, 'tools', 'tools');
  if (tools === undefined) return undefined;
  return tools.map((raw, i): ToolDefinition => {
    const path = `tools[${i}]`;
    if (!isObject(raw)) throw invalid(path, 'an object', raw);
    const type = requireString(raw, 'type', `${path}.type`);
    if (type !== 'function') {
      throw errors.invalidParam(`${path}.type`, `Invalid '${path}.type': built-in tool '${type}' is not supported through the gateway; only 'function' tools are.`);
    }
    const fn: ToolDefinition['function'] = { name: requireString(raw, 'name', `${path}.name`) };
    const description = optionalString(raw, 'description', `${path}.description`);
    if (description !== undefined) fn.description = description;
    const parameters = optionalObject(raw, 'parameters', `${path}.parameters`);
    if (parameters !== undefined) fn.parameters = parameters;
    const strict = optionalBoolean(raw, 'strict', `${path}.strict`);
    if (strict !== undefined) fn.strict = strict;
    return { type: 'function', function: fn };
  });
}

function toCanonicalToolChoice(choice: unknown): ToolChoice | undefined {
  if (choice === undefined || choice === null) return undefined;
  if (choice === 'auto' || choice === 'none' || choice === 'required') return choice;
  if (isObject(choice) && choice.type === 'function') return { type: 'function', function: { name: requireString(choice, 'name', 'tool_choice.name') } };
  const what = isObject(choice) && typeof choice.type === 'string' ? `'${choice.type}'` : JSON.stringify(choice);
  throw errors.invalidParam('tool_choice', `Invalid 'tool_choice': expected 'auto', 'none', 'required' or {type: 'function', name}, got ${what}.`);
}

function responseFormat(body: JsonObject): ChatRequest['response_format'] {
  const text = optionalObject(body, 'text', 'text');
  const format = text === undefined ? undefined : optionalObject(text, 'format', 'text.format');
  if (format === undefined) return undefined;
  const type = requireString(format, 'type', 'text.format.type');
  if (type === 'text') return undefined;
  if (type === 'json_object') return { type: 'json_object' };
  if (type !== 'json_schema') {
    throw errors.invalidParam('text.format.type', `Invalid 'text.format.type': expected 'text', 'json_object' or 'json_schema', got '${type}'.`);
  }
  const schema = optionalObject(format, 'schema', 'text.format.schema');
  if (schema === undefined) throw errors.missingParam('text.format.schema');
  const jsonSchema: { name: string; schema: JsonObject; strict?: boolean; description?: string } = {
    name: requireString(format, 'name', 'text.format.name'),
    schema,
  };
  const strict = optionalBoolean(format, 'strict', 'text.format.strict');
  if (strict !== undefined) jsonSchema.strict = strict;
  const description = optionalString(format, 'description', 'text.format.description');
  if (description !== undefined) jsonSchema.description = description;
  return { type: 'json_schema', json_schema: jsonSchema };
}

/** `reasoning.effort` → reasoning_effort; 'none' turns thinking off; `summary` has no canonical meaning. */
function applyReasoning(body: JsonObject, req: ChatRequest): void {
  const reasoning = optionalObject(body, 'reasoning', 'reasoning');
  const effort = reasoning === undefined ? undefined : optionalString(reasoning, 'effort', 'reasoning.effort');
  if (effort === undefined) return;
  if (effort === 'none') req.thinking = { type: 'disabled' };
  else if (efforts.has(effort)) req.reasoning_effort = effort as ChatRequest['reasoning_effort'];
  else if (effort === 'xhigh') req.reasoning_effort = 'high';
  else throw errors.invalidParam('reasoning.effort', `Invalid 'reasoning.effort': expected none, minimal, low, medium, high or xhigh, got '${effort}'.`);
}
