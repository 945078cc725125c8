// The translation suite's requests: for each client dialect → provider family, what the gateway is sent
// and the direct baseline it is compared with (the simulator asked in that provider's own dialect).
// Every body carries the prompt of requests.ts; the direct ones are what the gateway's translators send
// upstream (checked against the simulator's recorded requests), so both sides ask the upstream for the same work.
import { chatBody, clientHeaders } from './requests.js';

export type Wire = 'openai' | 'anthropic' | 'gemini';

export interface CaseRequest {
  path: string;
  body: string;
  headers: Readonly<Record<string, string>>;
  /** A sign that the answer carries the generated text, in the answering dialect. */
  textMarker: RegExp;
  contentType: string;
}

export interface TranslationCase {
  /** `client→provider`, e.g. `openai→anthropic`. */
  name: string;
  stream: boolean;
  gateway: CaseRequest;
  direct: CaseRequest;
}

/** The case every other one is compared with: OpenAI in, OpenAI out, the pass-through byte path. */
export const referenceCase = 'openai→openai';

const base = JSON.parse(chatBody) as { model: string; messages: Array<{ role: string; content: string }>; max_tokens: number; temperature: number };
const system = base.messages.find((m) => m.role === 'system')!.content;
const user = base.messages.find((m) => m.role === 'user')!.content;
const streamFlag = (stream: boolean) => (stream ? { stream: true } : {});

const anthropicHeaders = { 'x-api-key': 'sk-bench-client', 'anthropic-version': '2023-06-01' };

/** One request in `wire`'s dialect for `model` (the gateway's model name, or the upstream's own). */
const requestIn: Record<Wire, (model: string, stream: boolean) => Omit<CaseRequest, 'contentType'>> = {
  openai: (model, stream) => ({
    path: '/v1/chat/completions',
    body: JSON.stringify({ ...base, model, ...streamFlag(stream) }),
    headers: clientHeaders,
    textMarker: /"content":"\S/,
  }),
  anthropic: (model, stream) => ({
    path: '/v1/messages',
    body: JSON.stringify({ model, system, messages: [{ role: 'user', content: user }], max_tokens: base.max_tokens, temperature: base.temperature, ...streamFlag(stream) }),
    headers: anthropicHeaders,
    textMarker: /"text":"\S/,
  }),
  gemini: (model, stream) => ({
    path: `/v1beta/models/${model}:${stream ? 'streamGenerateContent?alt=sse' : 'generateContent'}`,
    body: JSON.stringify({
      contents: [{ role: 'user', parts: [{ text: user }] }],
      systemInstruction: { parts: [{ text: system }] },
      generationConfig: { temperature: base.temperature, maxOutputTokens: base.max_tokens },
    }),
    headers: { 'x-goog-api-key': 'x' },
    textMarker: /"text":"\S/,
  }),
};

const routes: ReadonlyArray<{ client: Wire; model: string; provider: Wire; upstreamModel: string }> = [
  { client: 'openai', model: 'gpt-4o-mini', provider: 'openai', upstreamModel: 'gpt-4o-mini' },
  { client: 'openai', model: 'claude', provider: 'anthropic', upstreamModel: 'claude-sonnet-4-5' },
  { client: 'anthropic', model: 'gpt-4o-mini', provider: 'openai', upstreamModel: 'gpt-4o-mini' },
  { client: 'openai', model: 'gemini', provider: 'gemini', upstreamModel: 'gemini-2.5-flash' },
  { client: 'anthropic', model: 'claude', provider: 'anthropic', upstreamModel: 'claude-sonnet-4-5' },
];

function request(wire: Wire, model: string, stream: boolean): CaseRequest {
  return { ...requestIn[wire](model, stream), contentType: stream ? 'text/event-stream' : 'application/json' };
}

export const translationCases: readonly TranslationCase[] = routes.flatMap((r) =>
  [false, true].map((stream) => ({
    name: `${r.client}→${r.provider}`,
    stream,
    gateway: request(r.client, r.model, stream),
    direct: request(r.provider, r.upstreamModel, stream),
  })),
);

/** The gateway's providers and models for these cases, every provider pointing at the one simulator. */
export function translationProviders(simPort: number): string[] {
  return [
    'providers:',
    `  - { name: sim, type: openai, base_url: "http://127.0.0.1:${simPort}/v1", api_key: sk-bench-upstream }`,
    `  - { name: ant, type: anthropic, base_url: "http://127.0.0.1:${simPort}", api_key: sk-ant-bench }`,
    `  - { name: gem, type: gemini, base_url: "http://127.0.0.1:${simPort}", api_key: gem-bench }`,
    'models:',
    '  - { name: gpt-4o-mini, provider: sim }',
    '  - { name: claude, provider: ant, model: claude-sonnet-4-5 }',
    '  - { name: gemini, provider: gem, model: gemini-2.5-flash }',
  ];
}
