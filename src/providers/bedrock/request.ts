// Canonical chat request → a Converse / ConverseStream request (path with the model id, JSON body).
import { errors } from '../../shared/errors.js';
import type { ChatRequest, JsonObject, ToolChoice, ToolDefinition } from '../../translate/canonical.js';
import type { ProviderTarget, WireRequest } from '../../translate/provider.js';
import { unsupportedParam } from '../unsupported.js';
import { toConverseMessages } from './messages.js';

/** The tool a JSON response_format becomes; its input comes back as the message text. */
export const jsonToolName = '__switchyard_json';

/** As the AWS SDKs encode a path label: encodeURIComponent, and !'()* too. */
export function encodePathLabel(label: string): string {
  return encodeURIComponent(label).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function conversePath(modelId: string, stream: boolean): string {
  return `/model/${encodePathLabel(modelId)}/${stream ? 'converse-stream' : 'converse'}`;
}

/** Parameters Converse has no place for, and when a value of one asks for something (n: 1 asks for nothing). */
const unsupported: ReadonlyArray<readonly [string, (value: unknown) => boolean]> = [
  ['n', (v) => v !== 1],
  ['logprobs', (v) => v === true],
  ['top_logprobs', () => true],
  ['seed', () => true],
  ['presence_penalty', (v) => v !== 0],
  ['frequency_penalty', (v) => v !== 0],
  ['logit_bias', (v) => typeof v !== 'object' || Object.keys(v as object).length > 0],
  ['parallel_tool_calls', (v) => v === false],
  ['audio', () => true],
  ['prediction', () => true],
  ['web_search_options', () => true],
];

/** Budgets for reasoning_effort: the Anthropic family's, as the same models answer here. */
const budgetByEffort: Readonly<Record<NonNullable<ChatRequest['reasoning_effort']>, number>> = {
  minimal: 1024,
  low: 1024,
  medium: 4096,
  high: 16384,
};

/** maxTokens sent with thinking when the client gave none: Anthropic wants it above the budget. */
const answerTokensBeyondBudget = 4096;

/**
 * The model's vendor from a model id, a cross-region inference profile (us.anthropic.…) or a
 * foundation-model / inference-profile ARN; undefined for ids that say nothing (application inference
 * profiles, custom models).
 */
export function modelVendor(modelId: string): string | undefined {
  const id = modelId.startsWith('arn:') ? modelId.slice(modelId.lastIndexOf('/') + 1) : modelId;
  const parts = id.split('.');
  if (parts.length < 2) return undefined;
  return /^(us|eu|apac|global|us-gov|jp|au|ca)$/.test(parts[0]) && parts.length > 2 ? parts[1] : parts[0];
}

/** Vendors whose models take Anthropic's `thinking` in additionalModelRequestFields (undefined: unknown, so trusted). */
const takesThinking = (vendor: string | undefined): boolean => vendor === undefined || vendor === 'anthropic';

/** Where a vendor's models take top-k (Nova: inside its own inferenceConfig). */
const topKField: Readonly<Record<string, (k: number) => JsonObject>> = {
  anthropic: (k) => ({ top_k: k }),
  mistral: (k) => ({ top_k: k }),
  amazon: (k) => ({ inferenceConfig: { topK: k } }),
};

export function toConverseRequest(req: ChatRequest, target: ProviderTarget): WireRequest {
  const refuse = (param: string): void => {
    if (!target.dropUnsupported) throw unsupportedParam(target, param);
  };
  for (const [param, asks] of unsupported) {
    const value = req[param];
    if (value !== undefined && value !== null && asks(value)) refuse(param);
  }
  if (!Array.isArray(req.messages)) throw errors.missingParam('messages');
  const converse = toConverseMessages(req.messages);
  const body: JsonObject = { messages: converse.messages };
  if (converse.system.length > 0) body.system = converse.system;

  const inference = inferenceConfig(req);
  const vendor = target.upstreamModel === '' ? undefined : modelVendor(target.upstreamModel);
  const additional: JsonObject = {};
  if (req.top_k !== undefined && req.top_k !== null) {
    const field = vendor === undefined ? topKField.anthropic : Object.hasOwn(topKField, vendor) ? topKField[vendor] : undefined;
    if (field === undefined) refuse('top_k');
    else Object.assign(additional, field(req.top_k));
  }
  const thinking = thinkingOf(req);
  if (thinking !== undefined) {
    if (!takesThinking(vendor)) refuse(req.thinking !== undefined ? 'thinking' : 'reasoning_effort');
    else {
      additional.thinking = thinking;
      inference.maxTokens ??= Number(thinking.budget_tokens) + answerTokensBeyondBudget;
    }
  }
  if (Object.keys(inference).length > 0) body.inferenceConfig = inference;
  if (Object.keys(additional).length > 0) body.additionalModelRequestFields = additional;

  const toolConfig = toolConfigOf(req, converse.usesTools, additional.thinking !== undefined, refuse);
  if (toolConfig !== undefined) body.toolConfig = toolConfig;

  const headers: Array<[string, string]> = target.stream ? [['accept', 'application/vnd.amazon.eventstream']] : [];
  return { path: conversePath(target.upstreamModel, target.stream), headers, body: JSON.stringify(body) };
}

function inferenceConfig(req: ChatRequest): JsonObject {
  const config: JsonObject = {};
  const maxTokens = req.max_completion_tokens ?? req.max_tokens;
  if (maxTokens !== undefined && maxTokens !== null) config.maxTokens = maxTokens;
  if (req.temperature !== undefined && req.temperature !== null) config.temperature = req.temperature;
  if (req.top_p !== undefined && req.top_p !== null) config.topP = req.top_p;
  const stop = req.stop === undefined || req.stop === null ? [] : (Array.isArray(req.stop) ? req.stop : [req.stop]).filter((s) => s !== '');
  if (stop.length > 0) config.stopSequences = stop;
  return config;
}

/** Anthropic's thinking on Bedrock: an explicit budget wins over reasoning_effort; disabled sends nothing. */
function thinkingOf(req: ChatRequest): JsonObject | undefined {
  if (req.thinking !== undefined && req.thinking !== null) {
    return req.thinking.type === 'enabled' ? { type: 'enabled', budget_tokens: req.thinking.budget_tokens } : undefined;
  }
  const effort = req.reasoning_effort;
  if (effort === undefined || effort === null) return undefined;
  const budget = budgetByEffort[effort];
  if (budget === undefined) throw errors.invalidParam('reasoning_effort', `Unknown reasoning_effort '${String(effort)}'.`);
  return { type: 'enabled', budget_tokens: budget };
}

function toolSpec(tool: ToolDefinition, i: number): JsonObject {
  const fn = tool.function;
  if (tool.type !== 'function' || typeof fn?.name !== 'string') throw errors.invalidParam(`tools[${i}]`, 'Only function tools are supported on Bedrock.');
  const spec: JsonObject = { name: fn.name, inputSchema: { json: fn.parameters ?? { type: 'object', properties: {} } } };
  if (fn.description !== undefined) spec.description = fn.description;
  return { toolSpec: spec };
}

function choiceOf(choice: ToolChoice | undefined): JsonObject | undefined {
  if (choice === undefined || choice === null) return undefined;
  if (choice === 'auto') return { auto: {} };
  if (choice === 'required') return { any: {} };
  if (typeof choice === 'object' && choice.type === 'function') return { tool: { name: choice.function.name } };
  throw errors.invalidParam('tool_choice', `Unknown tool_choice '${JSON.stringify(choice)}'.`);
}

/**
 * tools + tool_choice, or the forced JSON tool of a JSON response_format. Converse has no "none": the tools
 * are left out instead; once a turn holds tool blocks Bedrock requires the toolConfig, which then goes
 * without a toolChoice (best effort: after a tool result the model answers, as agents' loops expect).
 */
function toolConfigOf(req: ChatRequest, usesTools: boolean, thinking: boolean, refuse: (param: string) => void): JsonObject | undefined {
  const tools = (req.tools ?? []).map(toolSpec);
  const format = req.response_format;
  const wantsJson = format !== undefined && format !== null && format.type !== 'text';
  if (wantsJson && tools.length > 0) refuse('response_format');
  else if (wantsJson) {
    const schema = format.type === 'json_schema' ? format.json_schema?.schema : undefined;
    const spec: JsonObject = { name: jsonToolName, inputSchema: { json: schema ?? { type: 'object' } } };
    spec.description = format.type === 'json_schema' && format.json_schema?.description ? format.json_schema.description : 'Respond with JSON.';
    // A forced tool is refused with thinking on; auto lets the model answer in text instead.
    return { tools: [{ toolSpec: spec }], toolChoice: thinking ? { auto: {} } : { tool: { name: jsonToolName } } };
  }
  if (tools.length === 0) return undefined;
  if (req.tool_choice === 'none') return usesTools ? { tools } : undefined;
  const toolChoice = choiceOf(req.tool_choice);
  return toolChoice === undefined ? { tools } : { tools, toolChoice };
}
