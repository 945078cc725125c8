// A whole Converse answer → a canonical chat.completion; the stop-reason and usage rules streams share.
import { errors } from '../../shared/errors.js';
import type { ChatCompletion, ChatUsage, FinishReason, JsonObject, ThinkingBlock, ToolCall } from '../../translate/canonical.js';
import type { ProviderTarget } from '../../translate/provider.js';
import { jsonToolName } from './request.js';

const finishByStopReason: Readonly<Record<string, FinishReason>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  guardrail_intervened: 'content_filter',
  content_filtered: 'content_filter',
};

/** `tool_use` for the JSON tool alone is a plain answer to the client. */
export function finishReasonOf(stopReason: unknown, realToolCalls: boolean): FinishReason {
  const finish = typeof stopReason === 'string' && Object.hasOwn(finishByStopReason, stopReason) ? finishByStopReason[stopReason] : 'stop';
  return finish === 'tool_calls' && !realToolCalls ? 'stop' : finish;
}

export function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

const count = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);

/**
 * Bedrock's inputTokens counts only the uncached input; cache reads and writes are reported beside it
 * (total input = inputTokens + cacheReadInputTokens + cacheWriteInputTokens, as Anthropic counts). The
 * canonical prompt_tokens is that total; total_tokens is recomputed as prompt + completion.
 */
export function canonicalUsage(usage: unknown): ChatUsage {
  const u = isObject(usage) ? usage : {};
  const read = count(u.cacheReadInputTokens);
  const write = count(u.cacheWriteInputTokens);
  const prompt = count(u.inputTokens) + read + write;
  const completion = count(u.outputTokens);
  const canonical: ChatUsage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  if (u.cacheReadInputTokens !== undefined || u.cacheWriteInputTokens !== undefined) {
    canonical.prompt_tokens_details = { cached_tokens: read, cache_write_tokens: write };
  }
  return canonical;
}

/** A reasoningContent block (whole or as collected from a stream) as a canonical thinking block. */
export function thinkingBlockOf(reasoning: JsonObject): ThinkingBlock | undefined {
  if (typeof reasoning.redactedContent === 'string') return { type: 'redacted_thinking', data: reasoning.redactedContent };
  const text = isObject(reasoning.reasoningText) ? reasoning.reasoningText : undefined;
  if (text === undefined) return undefined;
  const block: ThinkingBlock = { type: 'thinking', thinking: typeof text.text === 'string' ? text.text : '' };
  if (typeof text.signature === 'string') block.signature = text.signature;
  return block;
}

export function fromConverseResponse(body: JsonObject, target: ProviderTarget): ChatCompletion {
  const output = isObject(body.output) ? body.output : undefined;
  const message = isObject(output?.message) ? output.message : undefined;
  if (message === undefined || !Array.isArray(message.content)) {
    throw errors.upstreamInvalidResponse(target.provider.name, 'the Converse answer has no output.message.content.');
  }
  let text = '';
  let json: string | undefined;
  let reasoning = '';
  const toolCalls: ToolCall[] = [];
  const thinking: ThinkingBlock[] = [];
  for (const block of message.content) {
    if (!isObject(block)) continue;
    if (typeof block.text === 'string') text += block.text;
    else if (isObject(block.toolUse)) {
      const use = block.toolUse;
      const args = JSON.stringify(use.input ?? {});
      if (use.name === jsonToolName) json = args;
      else toolCalls.push({ id: String(use.toolUseId), type: 'function', function: { name: String(use.name), arguments: args } });
    } else if (isObject(block.reasoningContent)) {
      const thought = thinkingBlockOf(block.reasoningContent);
      if (thought === undefined) continue;
      thinking.push(thought);
      if (thought.type === 'thinking') reasoning += thought.thinking;
    }
  }
  const assistant: ChatCompletion['choices'][number]['message'] = {
    role: 'assistant',
    // The JSON tool's input is the answer; text around it (rare: the tool is forced) is left out.
    content: json ?? (text !== '' || toolCalls.length === 0 ? text : null),
  };
  if (toolCalls.length > 0) assistant.tool_calls = toolCalls;
  if (reasoning !== '') assistant.reasoning_content = reasoning;
  if (thinking.length > 0) assistant.thinking_blocks = thinking;
  return {
    id: `chatcmpl-${target.requestId}`,
    object: 'chat.completion',
    created: target.created,
    model: target.upstreamModel,
    choices: [{ index: 0, message: assistant, finish_reason: finishReasonOf(body.stopReason, toolCalls.length > 0), logprobs: null }],
    usage: canonicalUsage(body.usage),
  };
}
