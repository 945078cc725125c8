// Anthropic Messages wire facts both directions share: the JSON-mode tool, stop reasons and usage.
import type { ChatUsage, FinishReason, JsonObject } from '../../translate/canonical.js';

/**
 * The tool that carries a JSON-mode answer (`response_format: {type: "json_object"}`, which Anthropic has
 * no native form of): the request forces it, and a `tool_use` of this name comes back as the text answer.
 */
export const jsonToolName = '__switchyard_json';

export const messagesPath = '/v1/messages';
export const defaultAnthropicVersion = '2023-06-01';

/** Anthropic `usage` (whole message, message_start, cumulative message_delta); absent fields count 0. */
export interface AnthropicUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

export const emptyUsage: Readonly<AnthropicUsage> = Object.freeze({
  input_tokens: 0,
  output_tokens: 0,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
});

const usageFields = ['input_tokens', 'output_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens'] as const;

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/**
 * `base` updated by a usage object. Streamed counts are cumulative, so a later value replaces an earlier
 * one; the larger is kept because a count never goes down and some senders put 0 for "not repeated".
 */
export function mergeUsage(base: Readonly<AnthropicUsage>, raw: unknown): AnthropicUsage {
  const next: AnthropicUsage = { ...base };
  if (raw === null || typeof raw !== 'object') return next;
  const usage = raw as JsonObject;
  for (const field of usageFields) {
    const value = count(usage[field]);
    if (value !== undefined) next[field] = Math.max(next[field], value);
  }
  return next;
}

/** Canonical usage: prompt_tokens counts uncached input, cache reads and cache writes. */
export function canonicalUsage(usage: Readonly<AnthropicUsage>): ChatUsage {
  const prompt = usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens;
  return {
    prompt_tokens: prompt,
    completion_tokens: usage.output_tokens,
    total_tokens: prompt + usage.output_tokens,
    prompt_tokens_details: { cached_tokens: usage.cache_read_input_tokens, cache_write_tokens: usage.cache_creation_input_tokens },
  };
}

const finishReasons: Readonly<Record<string, FinishReason>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  // A server tool loop paused; the turn as sent is whole and the client may continue it.
  pause_turn: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

/** `calledTools`: whether any tool_use other than the JSON-mode tool was in the answer. */
export function finishReasonOf(stopReason: unknown, calledTools: boolean): FinishReason | null {
  if (typeof stopReason !== 'string') return null;
  if (stopReason === 'tool_use' && !calledTools) return 'stop';
  return finishReasons[stopReason] ?? 'stop';
}
