// Fields of a Responses API response object read the same way for whole bodies and stream events.
import type { CanonicalError, ChatUsage, FinishReason, JsonObject } from '../../translate/canonical.js';

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const count = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);

/** Responses usage → canonical: input_tokens already counts cached tokens, output_tokens reasoning ones. */
export function canonicalUsage(usage: JsonObject): ChatUsage {
  const input = count(usage.input_tokens);
  const output = count(usage.output_tokens);
  const inputDetails = isObject(usage.input_tokens_details) ? usage.input_tokens_details : {};
  const outputDetails = isObject(usage.output_tokens_details) ? usage.output_tokens_details : {};
  return {
    prompt_tokens: input,
    completion_tokens: output,
    total_tokens: typeof usage.total_tokens === 'number' ? usage.total_tokens : input + output,
    prompt_tokens_details: { cached_tokens: count(inputDetails.cached_tokens) },
    completion_tokens_details: { reasoning_tokens: count(outputDetails.reasoning_tokens) },
  };
}

/** The finish reason a terminal response status means; undefined while it is not terminal or it failed. */
export function finishOf(response: JsonObject, sawFunctionCall: boolean): FinishReason | null {
  if (response.status === 'incomplete') {
    const reason = isObject(response.incomplete_details) ? response.incomplete_details.reason : undefined;
    return reason === 'content_filter' ? 'content_filter' : 'length';
  }
  if (response.status === 'completed') return sawFunctionCall ? 'tool_calls' : 'stop';
  return null;
}

/** A failed response's error (`response.error` {code, message}) as the canonical error. */
export function failedError(response: JsonObject, provider: string): CanonicalError {
  const error = isObject(response.error) ? response.error : {};
  return {
    error: {
      message: typeof error.message === 'string' ? error.message : `Provider '${provider}' reported the response as failed.`,
      type: 'api_error',
      param: null,
      code: typeof error.code === 'string' ? error.code : null,
    },
  };
}
