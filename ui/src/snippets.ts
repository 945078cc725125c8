// The Playground's request as code: curl, the OpenAI SDK (TypeScript) and the Anthropic SDK, against the public gateway URL.
import type { ChatRequest } from './playground-stream';

const keyEnv = 'SWITCHYARD_API_KEY';

/** The request as a client would send it (no Playground-only fields). */
function publicBody(r: ChatRequest): Record<string, unknown> {
  const { key_id: _key, stream_options: _opts, ...rest } = r;
  return r.stream ? { ...rest, stream_options: { include_usage: true } } : rest;
}

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export function curlSnippet(gateway: string, r: ChatRequest): string {
  return [
    `curl ${shellQuote(`${gateway}/v1/chat/completions`)}${r.stream ? ' -N' : ''} \\`,
    `  -H "authorization: Bearer $${keyEnv}" \\`,
    `  -H 'content-type: application/json' \\`,
    `  -d ${shellQuote(JSON.stringify(publicBody(r), null, 2))}`,
  ].join('\n');
}

export function openAISnippet(gateway: string, r: ChatRequest): string {
  const body = JSON.stringify(publicBody(r), null, 2);
  const head = [`import OpenAI from 'openai';`, '', `const client = new OpenAI({ baseURL: ${JSON.stringify(`${gateway}/v1`)}, apiKey: process.env.${keyEnv} });`, ''];
  if (r.stream)
    return [...head, `const stream = await client.chat.completions.create(${body});`, `for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta?.content ?? '');`].join('\n');
  return [...head, `const completion = await client.chat.completions.create(${body});`, 'console.log(completion.choices[0].message.content);'].join('\n');
}

interface OpenAITool {
  type?: string;
  function?: { name: string; description?: string; parameters?: unknown };
}

export function anthropicSnippet(gateway: string, r: ChatRequest): string {
  const system = r.messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n\n');
  const params: Record<string, unknown> = {
    model: r.model,
    max_tokens: r.max_tokens ?? 1024,
    ...(system ? { system } : {}),
    messages: r.messages.filter((m) => m.role !== 'system').map((m) => ({ role: m.role, content: m.content })),
  };
  if (r.temperature !== undefined) params.temperature = r.temperature;
  if (r.tools?.length)
    params.tools = (r.tools as OpenAITool[]).map((t) => ({ name: t.function?.name ?? 'tool', description: t.function?.description, input_schema: t.function?.parameters ?? { type: 'object' } }));
  const body = JSON.stringify(params, null, 2);
  const head = [`import Anthropic from '@anthropic-ai/sdk';`, '', `const client = new Anthropic({ baseURL: ${JSON.stringify(gateway)}, apiKey: process.env.${keyEnv} });`, ''];
  if (r.stream) return [...head, `const stream = client.messages.stream(${body});`, `stream.on('text', (text) => process.stdout.write(text));`, 'await stream.finalMessage();'].join('\n');
  return [...head, `const message = await client.messages.create(${body});`, 'console.log(message.content);'].join('\n');
}

/** The public listener's URL as seen from this browser: the configured host, or this page's host for a wildcard bind. */
export function gatewayURL(server: { host?: string; port?: number } | undefined): string {
  const wildcard = !server?.host || ['0.0.0.0', '::', '[::]'].includes(server.host);
  const host = wildcard ? location.hostname : server.host!;
  const shown = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `${location.protocol}//${shown}:${server?.port ?? 8080}`;
}
