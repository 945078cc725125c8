// Parse stage: JSON body → the few validated fields the gateway itself needs. Everything else is the provider's business.
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
}

function describeJsonError(err: unknown): string {
  return err instanceof Error ? err.message : 'invalid JSON';
}

export function parseRequest(body: Buffer, requiredField: string): ParsedRequest {
  if (body.length === 0) throw errors.badJson('the body is empty');
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw errors.badJson(describeJsonError(err));
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw errors.badJson('the body must be a JSON object');
  }
  const obj = json as Record<string, unknown>;
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
  const maxTokens = obj.max_completion_tokens ?? obj.max_tokens;
  if (maxTokens !== undefined && maxTokens !== null && (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens < 0)) {
    throw errors.invalidParam(obj.max_completion_tokens !== undefined ? 'max_completion_tokens' : 'max_tokens', 'Token limits must be non-negative integers.');
  }
  return {
    json: body.length <= keptJsonMaxBytes ? obj : undefined,
    body,
    model,
    stream: stream === true,
    streamOptions: (options ?? undefined) as Record<string, unknown> | undefined,
    clientWantsUsage: (options as { include_usage?: unknown } | undefined)?.include_usage === true,
    maxOutputTokens: typeof maxTokens === 'number' ? maxTokens : undefined,
  };
}
