// Reads token usage and the model name out of OpenAI-shaped bodies and chunks without parsing whole bodies.
import type { TokenUsage } from './context.js';
import { skipValue, skipWhitespace } from '../shared/json-body.js';


export function usageFromJson(usage: unknown): TokenUsage | undefined {
  if (!usage || typeof usage !== 'object') return undefined;
  const u = usage as Record<string, unknown>;
  const prompt = typeof u.prompt_tokens === 'number' ? u.prompt_tokens : 0;
  const completion = typeof u.completion_tokens === 'number' ? u.completion_tokens : 0;
  const details = u.prompt_tokens_details as { cached_tokens?: unknown; cache_write_tokens?: unknown } | undefined;
  const output = u.completion_tokens_details as { reasoning_tokens?: unknown } | undefined;
  return {
    promptTokens: prompt,
    completionTokens: completion,
    totalTokens: typeof u.total_tokens === 'number' ? u.total_tokens : prompt + completion,
    cachedTokens: typeof details?.cached_tokens === 'number' ? details.cached_tokens : 0,
    cacheWriteTokens: typeof details?.cache_write_tokens === 'number' ? details.cache_write_tokens : 0,
    reasoningTokens: typeof output?.reasoning_tokens === 'number' ? output.reasoning_tokens : 0,
  };
}

const usageKeyBytes = Buffer.from('"usage"');
const modelKeyBytes = Buffer.from('"model"');

/** Start of the value of the key whose quoted name ends just before i, or -1 if no ':' follows. */
function valueAfterKey(body: Buffer, i: number): number {
  i = skipWhitespace(body, i);
  if (body[i] !== 0x3a) return -1;
  return skipWhitespace(body, i + 1);
}

const promptKey = Buffer.from('"prompt_tokens"');
const completionKey = Buffer.from('"completion_tokens"');
const totalKey = Buffer.from('"total_tokens"');
const cachedKey = Buffer.from('"cached_tokens"');
const cacheWriteKey = Buffer.from('"cache_write_tokens"');
const reasoningKey = Buffer.from('"reasoning_tokens"');

/** The non-negative integer value of the first `key` in body[from, end), or undefined. */
function intField(body: Buffer, key: Buffer, from: number, end: number): number | undefined {
  const at = body.indexOf(key, from);
  if (at === -1 || at >= end) return undefined;
  let i = valueAfterKey(body, at + key.length);
  if (i === -1) return undefined;
  let value = 0;
  const start = i;
  for (; i < end; i++) {
    const c = body[i];
    if (c < 0x30 || c > 0x39) break;
    value = value * 10 + (c - 0x30);
  }
  return i === start ? undefined : value;
}

/**
 * Usage of a non-stream body: the last "usage" key holding an object. Searched in the bytes from
 * the end (it is near the end of OpenAI bodies), and its counts read in place: decoding and
 * JSON.parse of the usage object cost three times as much.
 */
export function usageFromBody(body: Buffer): TokenUsage | undefined {
  for (let at = body.lastIndexOf(usageKeyBytes); at !== -1; at = at > 0 ? body.lastIndexOf(usageKeyBytes, at - 1) : -1) {
    const open = valueAfterKey(body, at + usageKeyBytes.length);
    if (open === -1 || body[open] !== 0x7b) continue;
    const end = skipValue(body, open);
    if (body[end - 1] !== 0x7d) return undefined; // cut off
    const prompt = intField(body, promptKey, open, end) ?? 0;
    const completion = intField(body, completionKey, open, end) ?? 0;
    return {
      promptTokens: prompt,
      completionTokens: completion,
      totalTokens: intField(body, totalKey, open, end) ?? prompt + completion,
      cachedTokens: intField(body, cachedKey, open, end) ?? 0,
      cacheWriteTokens: intField(body, cacheWriteKey, open, end) ?? 0,
      reasoningTokens: intField(body, reasoningKey, open, end) ?? 0,
    };
  }
  return undefined;
}

/**
 * The "model" string of a body: chat bodies have it near the start, embeddings after their data,
 * so look at the start first, then from the end.
 */
export function modelFromBody(body: Buffer): string | undefined {
  let at = body.subarray(0, 2048).indexOf(modelKeyBytes);
  if (at === -1) at = body.lastIndexOf(modelKeyBytes);
  if (at === -1) return undefined;
  const open = valueAfterKey(body, at + modelKeyBytes.length);
  if (open === -1 || body[open] !== 0x22) return undefined;
  const close = body.indexOf(0x22, open + 1);
  return close === -1 ? undefined : body.toString('utf8', open + 1, close);
}

const finishKeyBytes = Buffer.from('"finish_reason"');

/** The first choice's finish_reason of a non-stream body. */
export function finishReasonFromBody(body: Buffer): string | undefined {
  const at = body.indexOf(finishKeyBytes);
  if (at === -1) return undefined;
  const open = valueAfterKey(body, at + finishKeyBytes.length);
  if (open === -1 || body[open] !== 0x22) return undefined;
  const close = body.indexOf(0x22, open + 1);
  return close === -1 ? undefined : body.toString('utf8', open + 1, close);
}

const modelField = /"model"\s*:\s*"([^"\\]*)"/;

export function modelFromText(text: string): string | undefined {
  return modelField.exec(text.length > 2048 ? text.slice(0, 2048) : text)?.[1];
}

/** Whether a chunk's data carries generated content (not the empty role-only first chunk). */
export function carriesContent(data: string): boolean {
  return (
    /"(content|text|arguments|refusal|reasoning_content)"\s*:\s*"[^"]/.test(data) || data.includes('"tool_calls"')
  );
}

const usageNull = ',"usage":null';
const usageNullBytes = Buffer.from(usageNull);

/**
 * The chunk without its top-level `,"usage":null` members. A match cannot lie inside a JSON string,
 * where the quotes would be escaped; usage as the first member is left alone (no upstream writes it so).
 */
export function withoutUsageNull(chunk: string | Buffer): string | Buffer {
  if (typeof chunk === 'string') return chunk.includes(usageNull) ? chunk.split(usageNull).join('') : chunk;
  let at = chunk.indexOf(usageNullBytes);
  if (at === -1) return chunk;
  const parts: Buffer[] = [];
  let from = 0;
  while (at !== -1) {
    parts.push(chunk.subarray(from, at));
    from = at + usageNullBytes.length;
    at = chunk.indexOf(usageNullBytes, from);
  }
  parts.push(chunk.subarray(from));
  return Buffer.concat(parts);
}
