// A canonical completion as Anthropic's Message object, and the pieces the stream encoder shares with it
// (ids, stop reasons, usage).
import type { ChatCompletion, ChatMessage, ChatUsage, FinishReason, JsonObject, ThinkingBlock } from '../../translate/canonical.js';
import type { EncodeContext } from '../../translate/dialect.js';

export type StopReason = 'end_turn' | 'max_tokens' | 'tool_use' | 'refusal';

const stopReasonOf: Record<FinishReason, StopReason> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  content_filter: 'refusal',
};

export function stopReason(finish: FinishReason | null | undefined, hadToolCalls: boolean): StopReason {
  if (finish) return stopReasonOf[finish];
  return hadToolCalls ? 'tool_use' : 'end_turn';
}

export interface AnthropicUsage {
  input_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  output_tokens: number;
}

/** Canonical prompt_tokens counts cache reads and writes; Anthropic's input_tokens is what is left. */
export function anthropicUsage(usage: ChatUsage | null | undefined): AnthropicUsage {
  const cacheRead = usage?.prompt_tokens_details?.cached_tokens ?? 0;
  const cacheWrite = usage?.prompt_tokens_details?.cache_write_tokens ?? 0;
  return {
    input_tokens: Math.max(0, (usage?.prompt_tokens ?? 0) - cacheRead - cacheWrite),
    cache_creation_input_tokens: cacheWrite,
    cache_read_input_tokens: cacheRead,
    output_tokens: usage?.completion_tokens ?? 0,
  };
}

/** A provider's own Anthropic id is kept; others get one from the request id (Anthropic ids are alphanumeric). */
export function messageId(upstreamId: string | undefined, requestId: string): string {
  if (upstreamId !== undefined && upstreamId.startsWith('msg_')) return upstreamId;
  const fromRequest = requestId.replace(/[^A-Za-z0-9_]/g, '');
  if (fromRequest !== '') return `msg_${fromRequest}`;
  return `msg_${(upstreamId ?? '').replace(/[^A-Za-z0-9_]/g, '') || 'gateway'}`;
}

/**
 * Thinking as Anthropic blocks. Reasoning that came without blocks (DeepSeek-style reasoning_content) is
 * one thinking block with an empty signature: clients show it, and toCanonical reads an empty signature
 * back as none, so a provider that needs signatures can drop the block instead of sending a forged one.
 */
export function thinkingContent(message: Pick<ChatMessage, 'thinking_blocks' | 'reasoning_content'>): JsonObject[] {
  const blocks = message.thinking_blocks;
  if (blocks !== undefined && blocks.length > 0) return blocks.map(thinkingBlock);
  if (message.reasoning_content) return [{ type: 'thinking', thinking: message.reasoning_content, signature: '' }];
  return [];
}

function thinkingBlock(block: ThinkingBlock): JsonObject {
  if (block.type === 'redacted_thinking') return { type: 'redacted_thinking', data: block.data };
  return { type: 'thinking', thinking: block.thinking, signature: block.signature ?? '' };
}

function textOf(message: ChatCompletion['choices'][number]['message']): string {
  const content = message.content as unknown;
  if (typeof content === 'string' && content !== '') return content;
  if (Array.isArray(content)) {
    const text = content
      .map((part) => (typeof part === 'object' && part !== null && (part as JsonObject).type === 'text' ? String((part as JsonObject).text ?? '') : ''))
      .join('');
    if (text !== '') return text;
  }
  return typeof message.refusal === 'string' ? message.refusal : '';
}

/**
 * Tool arguments as the input object. Arguments that are not a JSON object (a provider cut them off at
 * max_tokens, say) become {}: Anthropic's clients require an object, and the stop reason tells why.
 */
export function toolInput(args: string): JsonObject {
  try {
    const parsed: unknown = JSON.parse(args);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as JsonObject) : {};
  } catch {
    return {};
  }
}

export function fromCanonicalCompletion(completion: ChatCompletion, ctx: EncodeContext): JsonObject {
  const choice = completion.choices[0];
  const content: JsonObject[] = [];
  let hadToolCalls = false;
  if (choice !== undefined) {
    const message = choice.message;
    content.push(...thinkingContent(message));
    const text = textOf(message);
    if (text !== '') content.push({ type: 'text', text });
    for (const call of message.tool_calls ?? []) {
      hadToolCalls = true;
      content.push({ type: 'tool_use', id: call.id, name: call.function.name, input: toolInput(call.function.arguments) });
    }
  }
  return {
    id: messageId(completion.id, ctx.requestId),
    type: 'message',
    role: 'assistant',
    model: ctx.model,
    content,
    stop_reason: stopReason(choice?.finish_reason, hadToolCalls),
    stop_sequence: null,
    usage: anthropicUsage(completion.usage),
  };
}
