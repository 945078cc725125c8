// The Responses `response` object: its envelope (which echoes the request's settings, as OpenAI's does and
// the SDKs read), its output items and usage, and a canonical completion rendered as one.
import type { ChatCompletion, ChatUsage, FinishReason, JsonObject, ThinkingBlock, ToolCall } from '../../translate/canonical.js';
import type { EncodeContext } from '../../translate/dialect.js';
import { isObject } from './fields.js';
import { encodeThinkingBlocks, wantsEncryptedReasoning } from './reasoning.js';

export type ResponseStatus = 'in_progress' | 'completed' | 'incomplete' | 'failed';

export interface ResponsesUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export const responseId = (ctx: EncodeContext): string => `resp_${ctx.requestId}`;

/** Item ids are the response's, numbered by output index, so the same answer always gets the same ids. */
export function itemId(kind: 'msg' | 'fc' | 'rs', ctx: EncodeContext, outputIndex: number): string {
  return `${kind}_${ctx.requestId}_${outputIndex}`;
}

export function responsesUsage(usage: ChatUsage): ResponsesUsage {
  return {
    input_tokens: usage.prompt_tokens,
    input_tokens_details: { cached_tokens: usage.prompt_tokens_details?.cached_tokens ?? 0 },
    output_tokens: usage.completion_tokens,
    output_tokens_details: { reasoning_tokens: usage.completion_tokens_details?.reasoning_tokens ?? 0 },
    total_tokens: usage.total_tokens,
  };
}

/** Why a response stopped short, for a finish reason that means it did. */
export function incompleteReason(finish: FinishReason | null): string | undefined {
  if (finish === 'length') return 'max_output_tokens';
  if (finish === 'content_filter') return 'content_filter';
  return undefined;
}

const orNull = (value: unknown): unknown => (value === undefined ? null : value);

function echoedReasoning(request: JsonObject): JsonObject {
  const reasoning = isObject(request.reasoning) ? request.reasoning : {};
  return { effort: orNull(reasoning.effort), summary: orNull(reasoning.summary) };
}

function echoedText(request: JsonObject): JsonObject {
  const text = isObject(request.text) ? request.text : {};
  return { format: isObject(text.format) ? text.format : { type: 'text' }, verbosity: text.verbosity ?? 'medium' };
}

export interface ResponseState {
  status: ResponseStatus;
  output: JsonObject[];
  usage: ResponsesUsage | null;
  incompleteReason?: string;
  error?: { code: string; message: string };
}

/** The whole response object in OpenAI's field order; `store` is false because nothing is stored. */
export function responseObject(ctx: EncodeContext, state: ResponseState): JsonObject {
  const r = ctx.request;
  return {
    id: responseId(ctx),
    object: 'response',
    created_at: ctx.created,
    status: state.status,
    background: false,
    error: state.error ?? null,
    incomplete_details: state.incompleteReason === undefined ? null : { reason: state.incompleteReason },
    instructions: typeof r.instructions === 'string' ? r.instructions : null,
    max_output_tokens: orNull(r.max_output_tokens),
    max_tool_calls: orNull(r.max_tool_calls),
    model: ctx.model,
    output: state.output,
    parallel_tool_calls: typeof r.parallel_tool_calls === 'boolean' ? r.parallel_tool_calls : true,
    previous_response_id: null,
    prompt_cache_key: orNull(r.prompt_cache_key),
    reasoning: echoedReasoning(r),
    safety_identifier: orNull(r.safety_identifier),
    service_tier: typeof r.service_tier === 'string' ? r.service_tier : 'default',
    store: false,
    temperature: typeof r.temperature === 'number' ? r.temperature : 1,
    text: echoedText(r),
    tool_choice: r.tool_choice ?? 'auto',
    tools: Array.isArray(r.tools) ? r.tools : [],
    top_logprobs: 0,
    top_p: typeof r.top_p === 'number' ? r.top_p : 1,
    truncation: r.truncation === 'auto' ? 'auto' : 'disabled',
    usage: state.usage,
    user: orNull(r.user),
    metadata: isObject(r.metadata) ? r.metadata : {},
  };
}

export function reasoningItem(ctx: EncodeContext, id: string, text: string, blocks: readonly ThinkingBlock[]): JsonObject {
  const item: JsonObject = { id, type: 'reasoning', summary: text === '' ? [] : [{ type: 'summary_text', text }] };
  if (wantsEncryptedReasoning(ctx.request)) item.encrypted_content = blocks.length > 0 ? encodeThinkingBlocks(blocks) : null;
  return item;
}

export function outputTextPart(text: string): JsonObject {
  return { type: 'output_text', annotations: [], logprobs: [], text };
}

export function messageItem(id: string, status: ResponseStatus, content: JsonObject[]): JsonObject {
  return { id, type: 'message', status, content, role: 'assistant' };
}

export function functionCallItem(id: string, status: ResponseStatus, call: { id: string; name: string; arguments: string }): JsonObject {
  return { id, type: 'function_call', status, arguments: call.arguments, call_id: call.id, name: call.name };
}

function toolCallOf(call: ToolCall): { id: string; name: string; arguments: string } {
  return { id: call.id, name: call.function.name, arguments: call.function.arguments };
}

export function fromCompletion(completion: ChatCompletion, ctx: EncodeContext): JsonObject {
  const choice = completion.choices[0];
  const message = choice?.message;
  const finish = choice?.finish_reason ?? null;
  const cut = incompleteReason(finish);
  const itemStatus: ResponseStatus = cut === undefined ? 'completed' : 'incomplete';
  const output: JsonObject[] = [];
  const reasoning = message?.reasoning_content ?? '';
  const blocks = message?.thinking_blocks ?? [];
  if (reasoning !== '' || blocks.length > 0) output.push(reasoningItem(ctx, itemId('rs', ctx, output.length), reasoning, blocks));
  const calls = message?.tool_calls ?? [];
  const content: JsonObject[] = [];
  if (typeof message?.content === 'string' && message.content !== '') content.push(outputTextPart(message.content));
  if (typeof message?.refusal === 'string' && message.refusal !== '') content.push({ type: 'refusal', refusal: message.refusal });
  if (content.length > 0 || calls.length === 0) {
    output.push(messageItem(itemId('msg', ctx, output.length), itemStatus, content.length > 0 ? content : [outputTextPart('')]));
  }
  for (const call of calls) output.push(functionCallItem(itemId('fc', ctx, output.length), 'completed', toolCallOf(call)));
  return responseObject(ctx, {
    status: cut === undefined ? 'completed' : 'incomplete',
    output,
    usage: completion.usage === undefined ? null : responsesUsage(completion.usage),
    incompleteReason: cut,
  });
}
