// Reading fields of an already-parsed JSON request body, failing with OpenAI-shaped 400s.
import { errors } from '../shared/errors.js';

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function requireString(body: JsonObject, key: string): string {
  const value = body[key];
  if (value === undefined) throw errors.missingParam(key);
  if (typeof value !== 'string') throw errors.invalidParam(key, `'${key}' must be a string.`);
  return value;
}

export function requireArray(body: JsonObject, key: string): unknown[] {
  const value = body[key];
  if (value === undefined) throw errors.missingParam(key);
  if (!Array.isArray(value)) throw errors.invalidParam(key, `'${key}' must be an array.`);
  return value;
}

export function optionalCount(body: JsonObject, key: string): number | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw errors.invalidParam(key, `'${key}' must be a non-negative integer.`);
  }
  return value;
}

export function isStreaming(body: JsonObject): boolean {
  return body.stream === true;
}

export function includeUsage(body: JsonObject): boolean {
  const streamOptions = body.stream_options;
  return isObject(streamOptions) && streamOptions.include_usage === true;
}

/** Tokens to generate: the configured length, cut by the request's limit; `cut` says the limit was hit. */
export function answerLength(configured: number, limit: number | undefined): { tokens: number; cut: boolean } {
  if (limit !== undefined && limit < configured) return { tokens: limit, cut: true };
  return { tokens: configured, cut: false };
}

/** Small deterministic arguments for a tool, shaped after its JSON Schema's properties. */
export function toolArguments(parameters: unknown): string {
  const properties = isObject(parameters) && isObject(parameters.properties) ? parameters.properties : {};
  const args: JsonObject = {};
  for (const [name, schema] of Object.entries(properties)) {
    const type = isObject(schema) ? schema.type : undefined;
    args[name] = type === 'number' || type === 'integer' ? 1 : type === 'boolean' ? true : type === 'string' ? 'sim' : null;
  }
  return JSON.stringify(args);
}

/** Splits tool arguments into the pieces streamed one per event (each counts as one token). */
export function argumentPieces(args: string): string[] {
  const pieces: string[] = [];
  for (let i = 0; i < args.length; i += 8) pieces.push(args.slice(i, i + 8));
  return pieces;
}
