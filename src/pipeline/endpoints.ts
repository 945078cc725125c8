// The public URL table: which paths exist, with which methods, and what they do.
import type { Operation } from './context.js';
import type { DialectName } from '../translate/dialect.js';

/** `dialect`: what the client speaks when it is not OpenAI chat completions (the canonical form). */
export type Endpoint =
  | { kind: 'proxy'; operation: Exclude<Operation, 'models' | 'chat.count_tokens'>; upstreamPath: string; requiredField: string; dialect?: DialectName }
  | { kind: 'count'; operation: 'chat.count_tokens'; requiredField: string; dialect?: DialectName }
  | { kind: 'models' }
  | { kind: 'model'; id: string }
  | { kind: 'health' }
  | { kind: 'ready' };

interface Entry {
  method: string;
  endpoint: Endpoint;
}

const exact = new Map<string, Entry>([
  ['/v1/chat/completions', { method: 'POST', endpoint: { kind: 'proxy', operation: 'chat.completions', upstreamPath: '/chat/completions', requiredField: 'messages' } }],
  ['/v1/completions', { method: 'POST', endpoint: { kind: 'proxy', operation: 'completions', upstreamPath: '/completions', requiredField: 'prompt' } }],
  ['/v1/chat/completions/count_tokens', { method: 'POST', endpoint: { kind: 'count', operation: 'chat.count_tokens', requiredField: 'messages' } }],
  ['/v1/embeddings', { method: 'POST', endpoint: { kind: 'proxy', operation: 'embeddings', upstreamPath: '/embeddings', requiredField: 'input' } }],
  ['/v1/messages', { method: 'POST', endpoint: { kind: 'proxy', operation: 'chat.completions', upstreamPath: '/chat/completions', requiredField: 'messages', dialect: 'anthropic-messages' } }],
  ['/v1/messages/count_tokens', { method: 'POST', endpoint: { kind: 'count', operation: 'chat.count_tokens', requiredField: 'messages', dialect: 'anthropic-messages' } }],
  ['/v1/responses', { method: 'POST', endpoint: { kind: 'proxy', operation: 'chat.completions', upstreamPath: '/chat/completions', requiredField: 'messages', dialect: 'openai-responses' } }],
  ['/v1/models', { method: 'GET', endpoint: { kind: 'models' } }],
  ['/healthz', { method: 'GET', endpoint: { kind: 'health' } }],
  ['/readyz', { method: 'GET', endpoint: { kind: 'ready' } }],
]);

export type EndpointMatch = { endpoint: Endpoint } | { wrongMethod: string } | undefined;

/** HEAD is allowed wherever GET is: the server adapter answers it with the GET answer's head and no body. */
function allows(allowed: string, method: string): boolean {
  return method === allowed || (method === 'HEAD' && allowed === 'GET');
}

export function matchEndpoint(method: string, path: string): EndpointMatch {
  const entry = exact.get(path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path);
  if (entry) {
    if (allows(entry.method, method)) return { endpoint: entry.endpoint };
    return { wrongMethod: entry.method };
  }
  if (path.startsWith('/v1/models/')) {
    if (!allows('GET', method)) return { wrongMethod: 'GET' };
    return { endpoint: { kind: 'model', id: decodeId(path.slice('/v1/models/'.length)) } };
  }
  return undefined;
}

/** Malformed percent-encoding is kept as written: it then simply names no model. */
function decodeId(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
