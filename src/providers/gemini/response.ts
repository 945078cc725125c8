// A whole Gemini GenerateContentResponse → canonical chat.completion (one choice per candidate).
import { errors } from '../../shared/errors.js';
import type { ChatCompletion, ChatUsage, JsonObject, ToolCall } from '../../translate/canonical.js';
import type { ProviderTarget } from '../../translate/provider.js';
import { finishReasonOf, isObject, toolCallId, type GeminiCandidate, type GeminiPart, type GeminiResponse, type GeminiUsage } from './wire.js';

const count = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);

/**
 * promptTokenCount already includes the cached tokens; tool-use prompt tokens (code execution, search
 * results fed back) are input too. Thoughts are billed as output, so they are part of completion.
 */
export function usageOf(usage: GeminiUsage): ChatUsage {
  const prompt = count(usage.promptTokenCount) + count(usage.toolUsePromptTokenCount);
  const thoughts = count(usage.thoughtsTokenCount);
  const completion = count(usage.candidatesTokenCount) + thoughts;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: count(usage.cachedContentTokenCount) },
    completion_tokens_details: { reasoning_tokens: thoughts },
  };
}

/** Gemini may send no call id: `call_<requestId>_<k>`, k counting calls across the whole response. */
export function toolCallOf(part: GeminiPart, target: ProviderTarget, k: number): ToolCall {
  const call = part.functionCall as NonNullable<GeminiPart['functionCall']>;
  const id = typeof call.id === 'string' && call.id !== '' ? call.id : `call_${target.requestId}_${k}`;
  return {
    id: toolCallId(id, part.thoughtSignature),
    type: 'function',
    function: { name: String(call.name), arguments: JSON.stringify(isObject(call.args) ? call.args : {}) },
  };
}

/** Parts of one candidate (or one streamed chunk of it) sorted into what the canonical message has. */
export interface SortedParts {
  text: string[];
  thoughts: string[];
  calls: GeminiPart[];
}

export function sortParts(parts: unknown): SortedParts {
  const sorted: SortedParts = { text: [], thoughts: [], calls: [] };
  if (!Array.isArray(parts)) return sorted;
  for (const part of parts as unknown[]) {
    if (!isObject(part)) continue;
    const p = part as GeminiPart;
    if (isObject(p.functionCall)) sorted.calls.push(p);
    else if (typeof p.text === 'string' && p.text !== '') (p.thought === true ? sorted.thoughts : sorted.text).push(p.text);
    // inlineData (generated images), executableCode and codeExecutionResult have no canonical place.
  }
  return sorted;
}

export function candidatesOf(body: JsonObject, provider: string): GeminiCandidate[] {
  const candidates = body.candidates;
  if (candidates === undefined) return [];
  if (!Array.isArray(candidates) || !candidates.every(isObject)) throw errors.upstreamInvalidResponse(provider, "'candidates' is not an array of objects.");
  return candidates as GeminiCandidate[];
}

export function blockedPrompt(body: GeminiResponse): boolean {
  return isObject(body.promptFeedback) && typeof body.promptFeedback.blockReason === 'string' && body.promptFeedback.blockReason !== '';
}

export function fromGeminiResponse(body: JsonObject, target: ProviderTarget): ChatCompletion {
  const provider = target.provider.name;
  const response = body as GeminiResponse;
  const candidates = candidatesOf(body, provider);
  const blocked = blockedPrompt(response);
  if (candidates.length === 0 && !blocked) throw errors.upstreamInvalidResponse(provider, 'the answer has neither candidates nor a promptFeedback.blockReason.');
  let calls = 0;
  const choices: ChatCompletion['choices'] = candidates.map((candidate, position) => {
    const sorted = sortParts(candidate.content?.parts);
    const toolCalls = sorted.calls.map((part) => toolCallOf(part, target, calls++));
    const message: ChatCompletion['choices'][number]['message'] = {
      role: 'assistant',
      content: sorted.text.length > 0 ? sorted.text.join('') : toolCalls.length > 0 ? null : '',
    };
    if (sorted.thoughts.length > 0) message.reasoning_content = sorted.thoughts.join('');
    if (toolCalls.length > 0) message.tool_calls = toolCalls;
    const finish = typeof candidate.finishReason === 'string' ? candidate.finishReason : 'STOP';
    return {
      index: typeof candidate.index === 'number' ? candidate.index : position,
      message,
      finish_reason: finishReasonOf(finish, toolCalls.length > 0),
      logprobs: null,
    };
  });
  // A blocked prompt has no candidates: one empty answer, filtered.
  if (choices.length === 0) choices.push({ index: 0, message: { role: 'assistant', content: '' }, finish_reason: 'content_filter', logprobs: null });
  const completion: ChatCompletion = {
    id: typeof response.responseId === 'string' && response.responseId !== '' ? response.responseId : `chatcmpl-${target.requestId}`,
    object: 'chat.completion',
    created: target.created,
    model: typeof response.modelVersion === 'string' && response.modelVersion !== '' ? response.modelVersion : target.upstreamModel,
    choices,
  };
  if (isObject(response.usageMetadata)) completion.usage = usageOf(response.usageMetadata);
  return completion;
}
