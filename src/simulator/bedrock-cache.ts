// Bedrock prompt caching, simulated: what precedes a cachePoint is written to the cache once, then read.
import { createHash } from 'node:crypto';
import { isObject } from './request.js';
import { estimateTokens } from './text.js';

export interface PromptUsage {
  /** Input tokens not read from or written to the cache (Bedrock's inputTokens). */
  input: number;
  read: number;
  write: number;
  /** The request had a cachePoint: the cache fields are reported. */
  cached: boolean;
}

/** Prefixes seen, oldest first; bounded so a long-running simulator does not grow. */
const seenPrefixes = new Set<string>();
const seenLimit = 1024;

function remember(key: string): boolean {
  if (seenPrefixes.has(key)) return true;
  seenPrefixes.add(key);
  if (seenPrefixes.size > seenLimit) seenPrefixes.delete(seenPrefixes.values().next().value as string);
  return false;
}

/**
 * Prompt tokens (ceil(text characters / 4) over system and message text blocks) split at the last
 * cachePoint block: the prefix before it counts as cacheWriteInputTokens the first time this simulator
 * process sees that exact prefix, cacheReadInputTokens afterwards.
 */
export function cacheUsage(system: readonly unknown[], messages: readonly unknown[]): PromptUsage {
  const hash = createHash('sha256');
  let characters = 0;
  let prefix: { characters: number; key: string } | undefined;
  const visit = (block: unknown): void => {
    if (!isObject(block)) return;
    if (isObject(block.cachePoint)) prefix = { characters, key: hash.copy().digest('hex') };
    else if (typeof block.text === 'string') characters += block.text.length;
    hash.update(JSON.stringify(block));
  };
  system.forEach(visit);
  for (const message of messages) {
    if (!isObject(message)) continue;
    hash.update(String(message.role));
    if (Array.isArray(message.content)) message.content.forEach(visit);
  }
  const total = estimateTokens(characters);
  if (prefix === undefined) return { input: total, read: 0, write: 0, cached: false };
  const cachedTokens = estimateTokens(prefix.characters);
  const hit = cachedTokens > 0 && remember(prefix.key);
  return { input: total - cachedTokens, read: hit ? cachedTokens : 0, write: hit ? 0 : cachedTokens, cached: true };
}
