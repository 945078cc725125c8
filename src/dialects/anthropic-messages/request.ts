// An Anthropic Messages request (POST /v1/messages) into the canonical chat request, checked as Anthropic
// checks it: a 400 naming the parameter by its path (`messages.2.content.0.type`).
import { errors } from '../../shared/errors.js';
import type { ChatRequest, JsonObject, ToolChoice, ToolDefinition } from '../../translate/canonical.js';
import {
  describe, optionalBoolean, optionalInteger, optionalNumber, optionalString, requireArray, requireObject, requireString,
  unsupported,
} from './request-fields.js';
import { canonicalMessages, systemMessages } from './request-messages.js';

/** Fields with a meaning the gateway cannot honour, refused rather than silently dropped. */
const refusedFields = ['mcp_servers', 'container'] as const;

type ReasoningEffort = NonNullable<ChatRequest['reasoning_effort']>;
const effortOf: Record<string, ReasoningEffort> = { low: 'low', medium: 'medium', high: 'high', xhigh: 'high', max: 'high' };

export function toCanonicalRequest(body: JsonObject): ChatRequest {
  const model = requireString(body, 'model', 'model');
  const maxTokens = optionalInteger(body, 'max_tokens', 'max_tokens', 1);
  if (maxTokens === undefined) throw errors.missingParam('max_tokens');
  const messages = requireArray(body, 'messages', 'messages');
  for (const field of refusedFields) {
    if (body[field] !== undefined && body[field] !== null) unsupported(field, `'${field}'`);
  }
  const req: ChatRequest = {
    model,
    messages: [...systemMessages(body.system), ...canonicalMessages(messages)],
    max_tokens: maxTokens,
  };
  const stream = optionalBoolean(body, 'stream', 'stream');
  if (stream !== undefined) req.stream = stream;
  const temperature = inRange(optionalNumber(body, 'temperature', 'temperature'), 'temperature', 0, 1);
  if (temperature !== undefined) req.temperature = temperature;
  const topP = inRange(optionalNumber(body, 'top_p', 'top_p'), 'top_p', 0, 1);
  if (topP !== undefined) req.top_p = topP;
  const topK = optionalInteger(body, 'top_k', 'top_k', 0);
  if (topK !== undefined) req.top_k = topK;
  const stop = stopSequences(body.stop_sequences);
  if (stop !== undefined) req.stop = stop;
  const user = metadataUser(body.metadata);
  if (user !== undefined) req.user = user;
  if (body.tools !== undefined && body.tools !== null) req.tools = tools(requireArray(body, 'tools', 'tools'));
  if (body.tool_choice !== undefined && body.tool_choice !== null) {
    const choice = toolChoice(requireObject(body.tool_choice, 'tool_choice'));
    req.tool_choice = choice.choice;
    if (choice.parallel === false) req.parallel_tool_calls = false;
  }
  applyThinking(req, body.thinking);
  applyOutputConfig(req, body.output_config);
  return req;
}

function inRange(value: number | undefined, path: string, min: number, max: number): number | undefined {
  if (value !== undefined && (value < min || value > max)) {
    throw errors.invalidParam(path, `${path}: must be between ${min} and ${max}, got ${value}.`);
  }
  return value;
}

function stopSequences(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw errors.invalidParam('stop_sequences', `stop_sequences: expected an array of strings, got ${describe(value)}.`);
  value.forEach((s, i) => {
    if (typeof s !== 'string') throw errors.invalidParam(`stop_sequences.${i}`, `stop_sequences.${i}: expected a string, got ${describe(s)}.`);
  });
  return value.length > 0 ? (value as string[]) : undefined;
}

function metadataUser(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return optionalString(requireObject(value, 'metadata'), 'user_id', 'metadata.user_id');
}

/** Custom tools (type absent or 'custom') are functions; Anthropic's server tools run at Anthropic only. */
function tools(list: unknown[]): ToolDefinition[] {
  return list.map((tool, i) => {
    const path = `tools.${i}`;
    const obj = requireObject(tool, path);
    const type = optionalString(obj, 'type', `${path}.type`);
    if (type !== undefined && type !== 'custom') unsupported(`${path}.type`, `the server tool '${type}'`);
    const fn: ToolDefinition['function'] = { name: requireString(obj, 'name', `${path}.name`) };
    const description = optionalString(obj, 'description', `${path}.description`);
    if (description !== undefined) fn.description = description;
    fn.parameters = requireObject(obj.input_schema, `${path}.input_schema`);
    const strict = optionalBoolean(obj, 'strict', `${path}.strict`);
    if (strict !== undefined) fn.strict = strict;
    return { type: 'function', function: fn };
  });
}

function toolChoice(obj: JsonObject): { choice: ToolChoice; parallel?: boolean } {
  const type = requireString(obj, 'type', 'tool_choice.type');
  const disableParallel = optionalBoolean(obj, 'disable_parallel_tool_use', 'tool_choice.disable_parallel_tool_use');
  const parallel = disableParallel === true ? false : undefined;
  switch (type) {
    case 'auto':
      return { choice: 'auto', parallel };
    case 'any':
      return { choice: 'required', parallel };
    case 'none':
      return { choice: 'none' };
    case 'tool':
      return { choice: { type: 'function', function: { name: requireString(obj, 'name', 'tool_choice.name') } }, parallel };
    default:
      throw errors.invalidParam('tool_choice.type', `tool_choice.type: expected 'auto', 'any', 'tool' or 'none', got '${type}'.`);
  }
}

/**
 * `enabled` (with its budget) and `disabled` pass through. `adaptive` (the model decides how much to
 * think) has no canonical form of its own: it becomes a reasoning effort, output_config.effort's or high.
 */
function applyThinking(req: ChatRequest, value: unknown): void {
  if (value === undefined || value === null) return;
  const obj = requireObject(value, 'thinking');
  const type = requireString(obj, 'type', 'thinking.type');
  if (type === 'enabled') {
    const budget = optionalInteger(obj, 'budget_tokens', 'thinking.budget_tokens', 1024);
    if (budget === undefined) throw errors.missingParam('thinking.budget_tokens');
    req.thinking = { type: 'enabled', budget_tokens: budget };
  } else if (type === 'disabled') {
    req.thinking = { type: 'disabled' };
  } else if (type === 'adaptive') {
    req.reasoning_effort = 'high';
  } else {
    throw errors.invalidParam('thinking.type', `thinking.type: expected 'enabled', 'disabled' or 'adaptive', got '${type}'.`);
  }
}

/** output_config: `effort` → reasoning_effort (xhigh and max are OpenAI's high), `format` → response_format. */
function applyOutputConfig(req: ChatRequest, value: unknown): void {
  if (value === undefined || value === null) return;
  const obj = requireObject(value, 'output_config');
  const effort = optionalString(obj, 'effort', 'output_config.effort');
  if (effort !== undefined) {
    const mapped = effortOf[effort];
    if (mapped === undefined) throw errors.invalidParam('output_config.effort', `output_config.effort: unknown effort '${effort}'.`);
    req.reasoning_effort = mapped;
  }
  if (obj.format !== undefined && obj.format !== null) {
    const format = requireObject(obj.format, 'output_config.format');
    const type = requireString(format, 'type', 'output_config.format.type');
    if (type !== 'json_schema') unsupported('output_config.format.type', `an output format of type '${type}'`);
    const schema = requireObject(format.schema, 'output_config.format.schema');
    req.response_format = { type: 'json_schema', json_schema: { name: 'output', schema, strict: true } };
  }
}
