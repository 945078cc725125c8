// The requests every target receives: a small realistic chat completion, whole and streamed.

export const chatPath = '/v1/chat/completions';

/** The model the bench config maps to the simulator; the simulator itself accepts any name. */
export const benchModel = 'gpt-4o-mini';

const messages = [
  { role: 'system', content: 'You are a concise assistant for a logistics company.' },
  { role: 'user', content: 'Summarise in two sentences why a gateway in front of model providers helps with rate limits and cost tracking.' },
];

export const chatBody = JSON.stringify({ model: benchModel, messages, max_tokens: 64, temperature: 0.2 });

export const streamBody = JSON.stringify({ model: benchModel, messages, max_tokens: 64, temperature: 0.2, stream: true });

/** The client's key; the bench config has no key checks, so any value passes. */
export const clientHeaders: Readonly<Record<string, string>> = { authorization: 'Bearer sk-bench-client' };

/** Content tokens per streamed answer; each is its own content event (chunk_tokens 1). */
export const streamTokens = 20;

/** Stream answering as fast as the simulator can: first token at once, no pacing. */
export const burstStreamHeaders: Readonly<Record<string, string>> = {
  ...clientHeaders,
  'x-sim-ttft-ms': '0',
  'x-sim-tokens-per-second': '0',
  'x-sim-completion-tokens': String(streamTokens),
};

/** Paced stream: one content event every 1000 / pacedTokensPerSecond ms. */
export const pacedTokensPerSecond = 500;
export const pacedStreamHeaders: Readonly<Record<string, string>> = {
  ...burstStreamHeaders,
  'x-sim-tokens-per-second': String(pacedTokensPerSecond),
};
