// Bedrock's errors — HTTP error bodies and event-stream exceptions — in the canonical (OpenAI) shape.
import type { CanonicalError } from '../../translate/canonical.js';
import type { MappedError } from '../../translate/provider.js';

interface Mapping {
  /** Status for an OpenAI-dialect client. */
  status: number;
  type: string;
}

/** By exception name; statuses are the ones an OpenAI client acts on (retry on 429/5xx). */
const byException: Readonly<Record<string, Mapping>> = {
  ThrottlingException: { status: 429, type: 'rate_limit_error' },
  ServiceQuotaExceededException: { status: 429, type: 'insufficient_quota' },
  ValidationException: { status: 400, type: 'invalid_request_error' },
  ConflictException: { status: 409, type: 'invalid_request_error' },
  AccessDeniedException: { status: 403, type: 'permission_error' },
  UnrecognizedClientException: { status: 403, type: 'permission_error' },
  InvalidSignatureException: { status: 403, type: 'permission_error' },
  MissingAuthenticationTokenException: { status: 403, type: 'permission_error' },
  ExpiredTokenException: { status: 403, type: 'permission_error' },
  ResourceNotFoundException: { status: 404, type: 'not_found_error' },
  ServiceUnavailableException: { status: 503, type: 'overloaded_error' },
  ModelNotReadyException: { status: 503, type: 'overloaded_error' },
  ModelTimeoutException: { status: 504, type: 'timeout_error' },
  InternalServerException: { status: 500, type: 'api_error' },
  // The model behind Bedrock failed (Bedrock says 424): a bad gateway to an OpenAI client.
  ModelErrorException: { status: 502, type: 'api_error' },
  ModelStreamErrorException: { status: 502, type: 'api_error' },
};

/** When the body does not name the exception (its name travels in x-amzn-errortype, which translators do not see). */
const byStatus: Readonly<Record<number, Mapping>> = {
  400: { status: 400, type: 'invalid_request_error' },
  401: { status: 401, type: 'authentication_error' },
  403: { status: 403, type: 'permission_error' },
  404: { status: 404, type: 'not_found_error' },
  408: { status: 504, type: 'timeout_error' },
  424: { status: 502, type: 'api_error' },
  429: { status: 429, type: 'rate_limit_error' },
  500: { status: 500, type: 'api_error' },
  503: { status: 503, type: 'overloaded_error' },
  504: { status: 504, type: 'timeout_error' },
};

const quotedTextLength = 500;

/** `com.amazon.coral#ThrottlingException`, `ThrottlingException:http://…` or a stream's `throttlingException` → `ThrottlingException`. */
export function exceptionName(raw: string): string {
  const name = raw.slice(raw.lastIndexOf('#') + 1).split(':')[0];
  return name.charAt(0).toUpperCase() + name.slice(1);
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function textField(body: Record<string, unknown> | undefined, ...keys: string[]): string | undefined {
  for (const key of keys) {
    const value = body?.[key];
    if (typeof value === 'string' && value !== '') return value;
  }
  return undefined;
}

function canonical(message: string, type: string, code: string | null): CanonicalError {
  return { error: { message, type, param: null, code } };
}

/** An HTTP error answer: `{"message"}` (also `Message`, and `__type` naming the exception when present). */
export function bedrockError(status: number, raw: string): MappedError {
  const body = parseObject(raw);
  const typeName = textField(body, '__type', 'code');
  const name = typeName === undefined ? undefined : exceptionName(typeName);
  const known = name !== undefined && Object.hasOwn(byException, name) ? byException[name] : undefined;
  const mapping = known ?? byStatus[status] ?? { status, type: status >= 500 ? 'api_error' : 'invalid_request_error' };
  const message =
    textField(body, 'message', 'Message') ??
    (body === undefined && raw.trim() !== ''
      ? `Bedrock returned HTTP ${status}: ${raw.slice(0, quotedTextLength)}`
      : `Bedrock returned HTTP ${status}.`);
  return { status: mapping.status, body: canonical(message, mapping.type, name ?? null) };
}

/** The event name the framer gives an event-stream `error` message (its :error-code goes into the data's `__type`). */
export const streamErrorEvent = 'error';

/**
 * An exception message in an event stream (`:exception-type` e.g. throttlingException, payload
 * `{"message"}`), or an `error` message.
 */
export function streamException(eventType: string, data: string): CanonicalError {
  const body = parseObject(data);
  const name = exceptionName(eventType === streamErrorEvent ? (textField(body, '__type') ?? 'InternalFailure') : eventType);
  const mapping = Object.hasOwn(byException, name) ? byException[name] : { status: 500, type: 'api_error' };
  const message = textField(body, 'message', 'Message') ?? `Bedrock sent ${name} mid-stream.`;
  return canonical(message, mapping.type, name);
}

/** Event types that are failures rather than events (the framer names exception messages by their type). */
export function isException(eventType: string): boolean {
  return eventType === streamErrorEvent || eventType.endsWith('Exception');
}
