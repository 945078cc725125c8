// Canonical chat request → Gemini generateContent / streamGenerateContent body: contents, tools,
// toolConfig, generationConfig (sampling, stops, JSON output, thinking).
import { errors } from '../../shared/errors.js';
import type { ChatRequest, JsonObject } from '../../translate/canonical.js';
import type { ProviderTarget, WireRequest } from '../../translate/provider.js';
import { unsupportedParam } from '../unsupported.js';
import { toGeminiConversation } from './contents.js';
import { geminiPath, isObject } from './wire.js';

/** Parameters Gemini cannot honour, each with when it counts as set (logprobs:false asks for nothing). */
const unsupported: ReadonlyArray<{ param: string; set: (value: unknown) => boolean }> = [
  { param: 'logprobs', set: (v) => v === true },
  { param: 'top_logprobs', set: (v) => v !== undefined && v !== null },
  { param: 'logit_bias', set: (v) => isObject(v) && Object.keys(v).length > 0 },
  { param: 'audio', set: (v) => v !== undefined && v !== null },
  { param: 'modalities', set: (v) => Array.isArray(v) && v.some((m) => m !== 'text') },
  { param: 'prediction', set: (v) => v !== undefined && v !== null },
  { param: 'web_search_options', set: (v) => v !== undefined && v !== null },
];

/** reasoning_effort → thinking budget, as Google maps it in its OpenAI compatibility layer (minimal: Flash-Lite's floor). */
const budgetByEffort: Readonly<Record<string, number>> = { none: 0, minimal: 512, low: 1024, medium: 8192, high: 24576 };

/** Canonical number field → generationConfig field. */
const numberFields: ReadonlyArray<[keyof ChatRequest & string, string]> = [
  ['temperature', 'temperature'],
  ['top_p', 'topP'],
  ['top_k', 'topK'],
  ['seed', 'seed'],
  ['presence_penalty', 'presencePenalty'],
  ['frequency_penalty', 'frequencyPenalty'],
];

function numberOf(req: ChatRequest, key: string): number | undefined {
  const value = req[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw errors.invalidParam(key, `'${key}' must be a number.`);
  return value;
}

function stopSequences(stop: unknown): string[] | undefined {
  if (stop === undefined || stop === null) return undefined;
  const list = typeof stop === 'string' ? [stop] : stop;
  if (!Array.isArray(list) || !list.every((s) => typeof s === 'string')) throw errors.invalidParam('stop', "'stop' must be a string or an array of strings.");
  return list.length === 0 ? undefined : list;
}

/** JSON Schema goes in as JSON Schema (parametersJsonSchema / responseJsonSchema); only `$schema` is not a schema keyword Gemini takes. */
function jsonSchemaOf(schema: JsonObject): JsonObject {
  const { $schema: _dialect, ...rest } = schema;
  return rest;
}

function thinkingConfig(req: ChatRequest): JsonObject | undefined {
  const thinking = req.thinking;
  if (thinking !== undefined && thinking !== null) {
    if (thinking.type === 'disabled') return { thinkingBudget: 0 };
    if (thinking.type === 'enabled' && typeof thinking.budget_tokens === 'number') return { thinkingBudget: thinking.budget_tokens, includeThoughts: true };
    throw errors.invalidParam('thinking', "'thinking' must be {type: 'enabled', budget_tokens} or {type: 'disabled'}.");
  }
  const effort = req.reasoning_effort;
  if (effort === undefined || effort === null) return undefined;
  const budget = budgetByEffort[effort];
  if (budget === undefined) throw errors.invalidParam('reasoning_effort', "'reasoning_effort' must be one of none, minimal, low, medium, high.");
  return budget === 0 ? { thinkingBudget: 0 } : { thinkingBudget: budget, includeThoughts: true };
}

function generationConfig(req: ChatRequest): JsonObject {
  const config: JsonObject = {};
  for (const [from, to] of numberFields) {
    const value = numberOf(req, from);
    if (value !== undefined) config[to] = value;
  }
  const maxTokens = numberOf(req, 'max_completion_tokens') ?? numberOf(req, 'max_tokens');
  if (maxTokens !== undefined) config.maxOutputTokens = maxTokens;
  const stops = stopSequences(req.stop);
  if (stops !== undefined) config.stopSequences = stops;
  const n = numberOf(req, 'n');
  if (n !== undefined && n !== 1) config.candidateCount = n;
  const format = req.response_format;
  if (format?.type === 'json_object') config.responseMimeType = 'application/json';
  else if (format?.type === 'json_schema') {
    config.responseMimeType = 'application/json';
    const schema = format.json_schema?.schema;
    if (isObject(schema)) config.responseJsonSchema = jsonSchemaOf(schema);
  } else if (format !== undefined && format !== null && format.type !== 'text') {
    throw errors.invalidParam('response_format', "'response_format.type' must be text, json_object or json_schema.");
  }
  const thinking = thinkingConfig(req);
  if (thinking !== undefined) config.thinkingConfig = thinking;
  return config;
}

function functionDeclarations(tools: unknown): JsonObject[] | undefined {
  if (tools === undefined || tools === null) return undefined;
  if (!Array.isArray(tools)) throw errors.invalidParam('tools', "'tools' must be an array.");
  return tools.map((tool: unknown, i) => {
    if (!isObject(tool) || tool.type !== 'function' || !isObject(tool.function) || typeof tool.function.name !== 'string') {
      throw errors.invalidParam(`tools[${i}]`, `'tools[${i}]' must be a function tool with function.name; Gemini takes no other tool type here.`);
    }
    const fn = tool.function;
    const declaration: JsonObject = { name: fn.name };
    if (typeof fn.description === 'string') declaration.description = fn.description;
    if (isObject(fn.parameters)) declaration.parametersJsonSchema = jsonSchemaOf(fn.parameters);
    return declaration;
  });
}

function functionCallingConfig(choice: unknown): JsonObject | undefined {
  if (choice === undefined || choice === null) return undefined;
  if (choice === 'auto') return { mode: 'AUTO' };
  if (choice === 'none') return { mode: 'NONE' };
  if (choice === 'required') return { mode: 'ANY' };
  if (isObject(choice) && isObject(choice.function) && typeof choice.function.name === 'string') {
    return { mode: 'ANY', allowedFunctionNames: [choice.function.name] };
  }
  throw errors.invalidParam('tool_choice', "'tool_choice' must be none, auto, required or {type: 'function', function: {name}}.");
}

export function toGeminiBody(req: ChatRequest, target: ProviderTarget): JsonObject {
  for (const { param, set } of unsupported) {
    if (set(req[param]) && !target.dropUnsupported) throw unsupportedParam(target, param);
  }
  const body: JsonObject = { ...toGeminiConversation(req.messages) };
  const declarations = functionDeclarations(req.tools);
  if (declarations !== undefined && declarations.length > 0) body.tools = [{ functionDeclarations: declarations }];
  const calling = functionCallingConfig(req.tool_choice);
  if (calling !== undefined && declarations !== undefined && declarations.length > 0) body.toolConfig = { functionCallingConfig: calling };
  const config = generationConfig(req);
  if (Object.keys(config).length > 0) body.generationConfig = config;
  return body;
}

export function toGeminiRequest(req: ChatRequest, target: ProviderTarget): WireRequest {
  const method = target.stream ? 'streamGenerateContent' : 'generateContent';
  return { path: geminiPath(target.provider, target.upstreamModel, method), headers: [], body: JSON.stringify(toGeminiBody(req, target)) };
}
