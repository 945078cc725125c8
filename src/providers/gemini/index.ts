// The Gemini family: Google's native Gemini API (generativelanguage.googleapis.com, v1beta), key in x-goog-api-key.
import type { ProviderConfig } from '../../config/types.js';
import type { ProviderAdapter } from '../../translate/provider.js';
import { fromGeminiEmbeddingsResponse, toGeminiEmbeddingsRequest } from './embeddings.js';
import { geminiError } from './errors.js';
import { toGeminiRequest } from './request.js';
import { fromGeminiResponse } from './response.js';
import { GeminiStreamDecoder } from './stream.js';

function authHeaders(provider: ProviderConfig): Array<[string, string]> {
  return provider.api_key ? [['x-goog-api-key', provider.api_key]] : [];
}

export const geminiAdapter: ProviderAdapter = {
  family: 'gemini',
  framing: 'sse',
  authHeaders,
  error: geminiError,
  chat: {
    request: toGeminiRequest,
    response: fromGeminiResponse,
    stream: (target) => new GeminiStreamDecoder(target),
  },
  embeddings: {
    request: toGeminiEmbeddingsRequest,
    response: fromGeminiEmbeddingsResponse,
  },
};
