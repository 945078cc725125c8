// The Anthropic Messages client dialect (what @anthropic-ai/sdk and Claude Code speak), plus the bodies of
// the two Anthropic endpoints that are not chat: count_tokens and the model list.
import type { ClientDialect } from '../../translate/dialect.js';
import { anthropicError } from './errors.js';
import { toCanonicalRequest } from './request.js';
import { fromCanonicalCompletion } from './response.js';
import { AnthropicStreamEncoder } from './stream-encoder.js';

export const anthropicMessagesDialect: ClientDialect = {
  name: 'anthropic-messages',
  toCanonical: toCanonicalRequest,
  fromCompletion: fromCanonicalCompletion,
  streamEncoder: (ctx) => new AnthropicStreamEncoder(ctx),
  error: anthropicError,
};

/** POST /v1/messages/count_tokens answers `{"input_tokens":N}`. */
export function countTokensBody(inputTokens: number): string {
  return JSON.stringify({ input_tokens: inputTokens });
}

export { modelListBody } from './models.js';
