// Deterministic generated text (token k is one word + space) and the prompt-size rule.

const words = [
  'The', 'quick', 'switchyard', 'routes', 'every', 'train', 'to', 'its', 'track', 'while', 'signals',
  'blink', 'green', 'and', 'freight', 'rolls', 'on', 'steady', 'rails', 'through', 'the', 'night',
].map((word) => `${word} `);

/** The k-th generated token. */
export function tokenAt(k: number): string {
  return words[k % words.length];
}

/** Tokens [from, from + count) as one string. */
export function tokenRange(from: number, count: number): string {
  let text = '';
  for (let k = from; k < from + count; k++) text += tokenAt(k);
  return text;
}

const jsonTextCache = new Map<number, string>();
const jsonTextCacheLimit = 4096;

/** JSON string literal of the first n tokens, cached: the same few lengths repeat in benchmarks. */
export function jsonTextOf(n: number): string {
  let json = jsonTextCache.get(n);
  if (json === undefined) {
    json = JSON.stringify(tokenRange(0, n));
    if (jsonTextCache.size < jsonTextCacheLimit) jsonTextCache.set(n, json);
  }
  return json;
}

const jsonChunkCache = new Map<string, string>();

/** JSON string literal of a streamed chunk of tokens, cached by position in the word cycle. */
export function jsonChunkOf(from: number, count: number): string {
  const key = `${from % words.length}:${count}`;
  let json = jsonChunkCache.get(key);
  if (json === undefined) {
    json = JSON.stringify(tokenRange(from, count));
    if (jsonChunkCache.size < jsonTextCacheLimit) jsonChunkCache.set(key, json);
  }
  return json;
}

/** Prompt tokens as the simulator counts them: ceil(characters of text / 4). */
export function estimateTokens(characters: number): number {
  return Math.ceil(characters / 4);
}

/**
 * Characters of text in a message content: a string, or an array of parts of which only text
 * parts count (image, audio and file parts are accepted and ignored).
 */
export function contentCharacters(content: unknown): number {
  if (typeof content === 'string') return content.length;
  if (!Array.isArray(content)) return 0;
  let total = 0;
  for (const part of content) {
    if (part !== null && typeof part === 'object' && typeof (part as { text?: unknown }).text === 'string') {
      total += (part as { text: string }).text.length;
    }
  }
  return total;
}

/** Characters of text over a list of chat messages ({content}). */
export function messagesCharacters(messages: readonly unknown[]): number {
  let total = 0;
  for (const message of messages) {
    if (message !== null && typeof message === 'object') total += contentCharacters((message as { content?: unknown }).content);
  }
  return total;
}
