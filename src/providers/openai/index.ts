// The OpenAI family: OpenAI itself, the OpenAI-compatible presets and Azure OpenAI. The canonical form is
// this family's wire form, so translation is a few field edits; same-dialect requests never come here
// (the handler forwards their bytes) except to learn paths and headers.
import type { ProviderConfig } from '../../config/types.js';
import type { Operation } from '../../pipeline/context.js';
import { normaliseUpstreamError } from '../../shared/errors.js';
import type { CanonicalError, ChatChunk, ChatCompletion, ChatMessage, ChatRequest, EmbeddingsResponse, JsonObject } from '../../translate/canonical.js';
import type { ProviderAdapter, ProviderTarget, StreamDecoder, UpstreamEvent, WireRequest } from '../../translate/provider.js';
import { isPreset, presets } from '../presets.js';
import { checkUnsupported } from '../unsupported.js';
import { errors } from '../../shared/errors.js';

export type OpenAiOperation = 'chat' | 'completions' | 'embeddings' | 'responses';

const azureDefaultApiVersion = '2024-10-21';

/** The path of an operation for a provider of this family, relative to its base URL. */
export function openAiPath(provider: ProviderConfig, upstreamModel: string, operation: OpenAiOperation): string {
  const suffix = operation === 'chat' ? '/chat/completions' : `/${operation}`;
  if (provider.type !== 'azure') return suffix;
  const version = provider.api_version ?? azureDefaultApiVersion;
  if (version === 'v1') return `/openai/v1${suffix}`;
  return `/openai/deployments/${encodeURIComponent(upstreamModel)}${suffix}?api-version=${encodeURIComponent(version)}`;
}

/** Fields a provider refuses (a preset's list; OpenAI itself takes every canonical field but the extensions). */
export function unsupportedParams(provider: ProviderConfig): readonly string[] {
  const list = isPreset(provider.type) ? (presets[provider.type].unsupported ?? []) : [];
  // top_k is not an OpenAI parameter; vLLM, Ollama and Together take it.
  return provider.type === 'openai' || provider.type === 'azure' ? [...list, 'top_k'] : list;
}

/** The operation of the OpenAI family a gateway operation is forwarded as. */
export function openAiOperationOf(operation: Operation): OpenAiOperation {
  return operation === 'embeddings' ? 'embeddings' : operation === 'completions' ? 'completions' : 'chat';
}

/** Canonical extension fields no OpenAI-compatible API takes back. */
function outgoingMessage(m: ChatMessage): ChatMessage {
  if (m.thinking_blocks === undefined && m.reasoning_content === undefined) return m;
  const { thinking_blocks: _blocks, reasoning_content: _reasoning, ...rest } = m;
  return rest;
}

const effortByBudget = (budget: number): 'low' | 'medium' | 'high' => (budget <= 2048 ? 'low' : budget <= 8192 ? 'medium' : 'high');

export function toOpenAiRequest(req: ChatRequest, target: ProviderTarget): WireRequest {
  const provider = target.provider;
  const body: JsonObject = checkUnsupported(req, unsupportedParams(provider), target);
  body.model = target.upstreamModel;
  body.messages = req.messages.map(outgoingMessage);
  const thinking = req.thinking;
  delete body.thinking;
  if (thinking?.type === 'enabled' && body.reasoning_effort === undefined) body.reasoning_effort = effortByBudget(thinking.budget_tokens);
  if (target.stream) {
    body.stream = true;
    body.stream_options = { ...(req.stream_options ?? {}), include_usage: true };
  } else delete body.stream_options;
  return { path: openAiPath(provider, target.upstreamModel, 'chat'), headers: [], body: JSON.stringify(body) };
}

/** The stream is already canonical: each event's data is a chunk; [DONE] ends it. */
class OpenAiStreamDecoder implements StreamDecoder {
  complete = false;
  push(event: UpstreamEvent): Array<ChatChunk | CanonicalError> {
    if (event.data === '[DONE]') {
      this.complete = true;
      return [];
    }
    if (event.data === '') return [];
    let parsed: unknown;
    try {
      parsed = JSON.parse(event.data);
    } catch {
      throw errors.upstreamInvalidResponse('upstream', 'an SSE event is not JSON.');
    }
    return [parsed as ChatChunk];
  }
  end(): Array<ChatChunk | CanonicalError> {
    return [];
  }
}

function authHeaders(provider: ProviderConfig): Array<[string, string]> {
  if (!provider.api_key) return [];
  return provider.type === 'azure' ? [['api-key', provider.api_key]] : [['authorization', `Bearer ${provider.api_key}`]];
}

export const openAiAdapter: ProviderAdapter = {
  family: 'openai',
  framing: 'sse',
  authHeaders,
  error(status, body) {
    return { status, body: normaliseUpstreamError(status, body, 'upstream') };
  },
  chat: {
    request: toOpenAiRequest,
    response: (body) => body as unknown as ChatCompletion,
    stream: () => new OpenAiStreamDecoder(),
  },
  embeddings: {
    request: (req, target) => ({
      path: openAiPath(target.provider, target.upstreamModel, 'embeddings'),
      headers: [],
      body: JSON.stringify({ ...req, model: target.upstreamModel }),
    }),
    response: (body) => body as unknown as EmbeddingsResponse,
  },
};
