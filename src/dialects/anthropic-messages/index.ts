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

/**
 * GET /v1/models in Anthropic's shape (one page holding every model). The gateway knows no release
 * date of a model, so created_at is `created` (epoch seconds, default 0) as RFC 3339.
 */
export function modelListBody(models: Array<{ id: string; ownedBy: string }>, created = 0): string {
  const createdAt = new Date(created * 1000).toISOString().replace('.000Z', 'Z');
  const data = models.map((m) => ({ type: 'model', id: m.id, display_name: m.id, created_at: createdAt }));
  return JSON.stringify({
    data,
    has_more: false,
    first_id: data.length > 0 ? data[0].id : null,
    last_id: data.length > 0 ? data[data.length - 1].id : null,
  });
}
