// An API's HTTP answer → an MCP tool result. Anything but a complete 2xx is a result with isError, carrying
// the status and a body excerpt; the gateway's own credentials are removed from every text first.
import { STATUS_CODES } from 'node:http';
import type { ValidateFunction } from 'ajv';
import type { McpContent, ToolCallResult } from '../tool-source.js';
import { minSecretLength, redactedMark } from '../../pipeline/secret-redaction.js';
import type { BoundedResponse } from './http.js';
import { isJsonMediaType } from './tools.js';

/** Bytes of an error answer shown to the caller. */
export const errorExcerptBytes = 2048;

export interface ResultContext {
  /** The request, for messages and a binary answer's resource URI. */
  url: string;
  maxResponseBytes: number;
  /** The tool's outputSchema, compiled; structuredContent is given only when the answer matches it. */
  output?: ValidateFunction;
  redact: (text: string) => string;
}

/** Replaces each secret (verbatim, and as JSON would escape it) by [REDACTED]. */
export function secretRedactor(secrets: readonly string[]): (text: string) => string {
  const literal = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < minSecretLength) continue;
    literal.add(secret);
    literal.add(JSON.stringify(secret).slice(1, -1));
  }
  if (literal.size === 0) return (text) => text;
  const pattern = new RegExp(
    [...literal]
      .sort((a, b) => b.length - a.length)
      .map((s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))
      .join('|'),
    'g',
  );
  return (text) => text.replace(pattern, redactedMark);
}

function statusLine(status: number): string {
  const reason = STATUS_CODES[status];
  return reason ? `HTTP ${status} ${reason}` : `HTTP ${status}`;
}

function header(response: BoundedResponse, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Up to errorExcerptBytes of the body as text, cut on a character boundary. */
function excerpt(response: BoundedResponse, redact: (text: string) => string): string {
  const bytes = response.body.subarray(0, errorExcerptBytes);
  const text = bytes.toString('utf8').replace(/\uFFFD+$/, '');
  const cut = response.truncated || response.body.length > errorExcerptBytes;
  return redact(text) + (cut ? ' …(truncated)' : '');
}

const textual = /^(text\/|application\/(xml|javascript|x-www-form-urlencoded|yaml|x-yaml|graphql)\b)|\+xml\b/;

export function toToolResult(response: BoundedResponse, context: ResultContext): ToolCallResult {
  const { status } = response;
  if (status >= 300 && status < 400) {
    const location = header(response, 'location');
    const target = location ? ` to ${context.redact(location.slice(0, 512))}` : '';
    return failure(`${statusLine(status)}: redirect${target} not followed (the gateway does not follow redirects)`);
  }
  if (status < 200 || status >= 300) {
    const body = excerpt(response, context.redact);
    return failure(body ? `${statusLine(status)}: ${body}` : statusLine(status));
  }
  if (response.truncated) {
    return failure(`${statusLine(status)}: the answer is larger than ${context.maxResponseBytes} bytes (max_response_bytes); it was cut off and is not returned`);
  }
  if (response.body.length === 0) {
    const text = `${statusLine(status)} (empty body)`;
    return context.output ? mismatch(text, 'the body is empty') : { content: [{ type: 'text', text }] };
  }
  const contentType = header(response, 'content-type')?.toLowerCase() ?? '';
  const mimeType = contentType.split(';')[0].trim();
  if (isJsonMediaType(contentType) || (mimeType === '' && /^\s*[[{]/.test(response.body.toString('utf8', 0, 64)))) {
    return jsonResult(context.redact(response.body.toString('utf8')), context);
  }
  if (context.output) return mismatch(`${statusLine(status)}, ${mimeType}, ${response.body.length} bytes`, `its content type is ${mimeType || "not given"}`);
  if (mimeType === '' || textual.test(mimeType)) return { content: [{ type: 'text', text: context.redact(response.body.toString('utf8')) }] };
  const data = response.body.toString('base64');
  let content: McpContent;
  if (mimeType.startsWith('image/')) content = { type: 'image', data, mimeType };
  else if (mimeType.startsWith('audio/')) content = { type: 'audio', data, mimeType };
  else content = { type: 'resource', resource: { uri: context.url, mimeType, blob: data } };
  return { content: [content] };
}

/**
 * JSON text as the API sent it (redacted), with structuredContent when the tool has an outputSchema. An
 * answer that does not match it cannot be a plain result: MCP says a tool with an outputSchema MUST return
 * conforming structuredContent, and the official SDK client throws on a result without it. So it is a
 * result with isError that says why and still carries the answer, for the model to read.
 */
function jsonResult(text: string, context: ResultContext): ToolCallResult {
  const result: ToolCallResult = { content: [{ type: 'text', text }] };
  if (!context.output) return result;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return mismatch(text, 'it is not valid JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return mismatch(text, 'it is not a JSON object');
  if (!context.output(value)) {
    const problems = (context.output.errors ?? []).slice(0, 3).map((e) => `${e.instancePath || '(top level)'} ${e.message ?? e.keyword}`);
    return mismatch(text, problems.join('; '));
  }
  result.structuredContent = value as Record<string, unknown>;
  return result;
}

function mismatch(text: string, why: string): ToolCallResult {
  return {
    content: [
      { type: 'text', text: `The API's answer does not match the tool's outputSchema (${why}); it follows as text.` },
      { type: 'text', text },
    ],
    isError: true,
  };
}

export function failure(text: string): ToolCallResult {
  return { content: [{ type: 'text', text }], isError: true };
}
