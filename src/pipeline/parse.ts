// Parse stage: JSON body → the few validated fields the gateway itself needs. Everything else is the provider's business.
import { isUtf8 } from 'node:buffer';
import { errors } from '../shared/errors.js';

/**
 * Bodies up to this size stay parsed on the context. A larger one is parsed, read and dropped at
 * once: its strings die young, while kept for the request's life they would be promoted and cost
 * the event loop full GCs (docs/guardrails.md, "Large prompts stay bytes").
 */
export const keptJsonMaxBytes = 16 * 1024;

export interface ParsedRequest {
  /** The parsed body, for bodies up to keptJsonMaxBytes. */
  json: Record<string, unknown> | undefined;
  /** The body, now known to be a JSON object. */
  body: Buffer;
  model: string;
  stream: boolean;
  streamOptions: Record<string, unknown> | undefined;
  clientWantsUsage: boolean;
  maxOutputTokens: number | undefined;
  choices: number;
}

/** An optional whole-number field: undefined when absent or null, else its value, refused outside min..max. */
function optionalInteger(obj: Record<string, unknown>, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const value = obj[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw errors.invalidParam(field, `Invalid '${field}': expected an integer ${range}.`);
  }
  return value;
}

/** OpenAI's caps: more choices than this are refused there, so they are refused here before any limit reserves for them. */
const maxChoices = 128;
const maxBestOf = 20;

function describeJsonError(err: unknown): string {
  return err instanceof Error ? err.message : 'invalid JSON';
}

/** The body as a JSON object, or the 400 saying why it is not one. */
export function parseJsonObject(body: Buffer): Record<string, unknown> {
  if (body.length === 0) throw errors.badJson('the body is empty');
  // Invalid UTF-8 is not JSON text (RFC 8259 §8.1). Decoded, it would be U+FFFD to every stage while the
  // provider got the original bytes. isUtf8 is one native (simdutf) pass, well under the cost of the decode.
  if (!isUtf8(body)) throw errors.badJson('the body is not valid UTF-8');
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw errors.badJson(describeJsonError(err));
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw errors.badJson('the body must be a JSON object');
  return json as Record<string, unknown>;
}

export function parseRequest(body: Buffer, requiredField: string): ParsedRequest {
  const obj = parseJsonObject(body);
  const model = obj.model;
  if (model === undefined || model === null || model === '') throw errors.missingParam('model');
  if (typeof model !== 'string') throw errors.invalidParam('model', "'model' must be a string.");

  const required = obj[requiredField];
  if (required === undefined || required === null) throw errors.missingParam(requiredField);
  if (requiredField === 'messages') {
    if (!Array.isArray(required)) throw errors.invalidParam('messages', "'messages' must be an array.");
    if (required.length === 0) throw errors.invalidParam('messages', "'messages' must contain at least one message.");
  }

  const stream = obj.stream;
  if (stream !== undefined && stream !== null && typeof stream !== 'boolean') {
    throw errors.invalidParam('stream', "'stream' must be a boolean.");
  }
  const options = obj.stream_options;
  if (options !== undefined && options !== null && (typeof options !== 'object' || Array.isArray(options))) {
    throw errors.invalidParam('stream_options', "'stream_options' must be an object.");
  }
  // Both are checked: a provider may honour either. Legacy completions take max_tokens 0 (echo, to score a prompt).
  const maxCompletionTokens = optionalInteger(obj, 'max_completion_tokens', 1);
  const maxTokens = optionalInteger(obj, 'max_tokens', requiredField === 'prompt' ? 0 : 1);
  // n completions are generated, best_of of them server-side for legacy completions: both multiply the output.
  const n = optionalInteger(obj, 'n', 1, maxChoices) ?? 1;
  const bestOf = optionalInteger(obj, 'best_of', 0, maxBestOf) ?? 1;
  return {
    json: body.length <= keptJsonMaxBytes ? obj : undefined,
    body,
    model,
    stream: stream === true,
    streamOptions: (options ?? undefined) as Record<string, unknown> | undefined,
    clientWantsUsage: (options as { include_usage?: unknown } | undefined)?.include_usage === true,
    maxOutputTokens: maxTokens === undefined || maxCompletionTokens === undefined ? (maxCompletionTokens ?? maxTokens) : Math.max(maxTokens, maxCompletionTokens),
    choices: Math.max(n, bestOf),
  };
}
