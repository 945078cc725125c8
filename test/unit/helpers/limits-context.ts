// A RequestContext as the handler builds it (createContext), with the parse stage's fields filled in.
import { createContext, type RequestContext } from '../../../src/pipeline/context.js';

export function makeContext(opts: {
  headers?: Record<string, string>;
  model?: string;
  body?: string;
  maxOutputTokens?: number;
  operation?: RequestContext['operation'];
}): RequestContext {
  const body = opts.body ?? JSON.stringify({ model: opts.model ?? 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
  const head = { method: 'POST', path: '/v1/chat/completions', query: '', headers: opts.headers ?? {}, remoteAddress: '127.0.0.1' };
  const ctx = createContext(head, Buffer.from(body), opts.operation ?? 'chat.completions');
  return Object.assign(ctx, {
    json: JSON.parse(body) as Record<string, unknown>,
    model: opts.model ?? 'gpt-4o-mini',
    maxOutputTokens: opts.maxOutputTokens,
  });
}
