// The Anthropic provider family: Messages API (POST /v1/messages), SSE streams, x-api-key auth.
import type { ProviderAdapter } from '../../translate/provider.js';
import { fromAnthropicError } from './errors.js';
import { toAnthropicRequest } from './request.js';
import { fromAnthropicMessage } from './response.js';
import { AnthropicStreamDecoder } from './stream.js';
import { defaultAnthropicVersion } from './wire.js';

export const anthropicAdapter: ProviderAdapter = {
  family: 'anthropic',
  framing: 'sse',
  authHeaders(provider) {
    const headers: Array<[string, string]> = [];
    if (provider.api_key !== undefined && provider.api_key !== '') headers.push(['x-api-key', provider.api_key]);
    headers.push(['anthropic-version', provider.anthropic_version ?? defaultAnthropicVersion]);
    return headers;
  },
  error: fromAnthropicError,
  chat: {
    request: toAnthropicRequest,
    response: fromAnthropicMessage,
    stream: (target) => new AnthropicStreamDecoder(target),
  },
};

export { jsonToolName } from './wire.js';
