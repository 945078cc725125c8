// A whole Anthropic message → canonical chat.completion.
import { errors } from '../../shared/errors.js';
import type { ChatCompletion, JsonObject, ThinkingBlock, ToolCall } from '../../translate/canonical.js';
import type { ProviderTarget } from '../../translate/provider.js';
import { canonicalUsage, emptyUsage, finishReasonOf, jsonToolName, mergeUsage } from './wire.js';

const isObject = (value: unknown): value is JsonObject => value !== null && typeof value === 'object' && !Array.isArray(value);

/** A thinking block as the canonical form keeps it: whole, signature unchanged. */
export function canonicalThinking(thinking: string, signature: unknown): ThinkingBlock {
  return typeof signature === 'string' && signature !== '' ? { type: 'thinking', thinking, signature } : { type: 'thinking', thinking };
}

export function fromAnthropicMessage(body: JsonObject, target: ProviderTarget): ChatCompletion {
  if (body.type !== 'message' || !Array.isArray(body.content)) {
    throw errors.upstreamInvalidResponse(target.provider.name, 'the body is not an Anthropic message (type "message" with a content array).');
  }
  let text: string | null = null;
  let reasoning: string | undefined;
  const thinkingBlocks: ThinkingBlock[] = [];
  const toolCalls: ToolCall[] = [];
  for (const block of body.content as unknown[]) {
    if (!isObject(block)) continue;
    if (block.type === 'text' && typeof block.text === 'string') {
      text = (text ?? '') + block.text;
    } else if (block.type === 'thinking' && typeof block.thinking === 'string') {
      reasoning = (reasoning ?? '') + block.thinking;
      thinkingBlocks.push(canonicalThinking(block.thinking, block.signature));
    } else if (block.type === 'redacted_thinking' && typeof block.data === 'string') {
      thinkingBlocks.push({ type: 'redacted_thinking', data: block.data });
    } else if (block.type === 'tool_use' && typeof block.name === 'string') {
      const args = JSON.stringify(block.input ?? {});
      if (block.name === jsonToolName) text = (text ?? '') + args;
      else toolCalls.push({ id: String(block.id), type: 'function', function: { name: block.name, arguments: args } });
    }
    // Server tool blocks (web search and the like) have no canonical form and are left out.
  }
  const message: ChatCompletion['choices'][number]['message'] = { role: 'assistant', content: text };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  if (reasoning !== undefined) message.reasoning_content = reasoning;
  if (thinkingBlocks.length > 0) message.thinking_blocks = thinkingBlocks;
  return {
    id: typeof body.id === 'string' ? body.id : `chatcmpl-${target.requestId}`,
    object: 'chat.completion',
    created: target.created,
    model: typeof body.model === 'string' ? body.model : target.upstreamModel,
    choices: [{ index: 0, message, finish_reason: finishReasonOf(body.stop_reason, toolCalls.length > 0), logprobs: null }],
    usage: canonicalUsage(mergeUsage(emptyUsage, body.usage)),
  };
}
