// Google API errors ({"error":{"code","message","status","details"}}) → the canonical error and the status an OpenAI client gets.
import { normaliseUpstreamError, type ErrorType } from '../../shared/errors.js';
import type { CanonicalError } from '../../translate/canonical.js';
import type { MappedError } from '../../translate/provider.js';
import { isObject } from './wire.js';

/** google.rpc.Code name → HTTP status for an OpenAI client, and the error type it reads. */
const byStatusName: Readonly<Record<string, { status: number; type: ErrorType }>> = {
  INVALID_ARGUMENT: { status: 400, type: 'invalid_request_error' },
  FAILED_PRECONDITION: { status: 400, type: 'invalid_request_error' },
  OUT_OF_RANGE: { status: 400, type: 'invalid_request_error' },
  UNAUTHENTICATED: { status: 401, type: 'authentication_error' },
  PERMISSION_DENIED: { status: 403, type: 'permission_error' },
  NOT_FOUND: { status: 404, type: 'not_found_error' },
  ALREADY_EXISTS: { status: 409, type: 'invalid_request_error' },
  ABORTED: { status: 409, type: 'api_error' },
  RESOURCE_EXHAUSTED: { status: 429, type: 'rate_limit_error' },
  CANCELLED: { status: 500, type: 'api_error' },
  INTERNAL: { status: 500, type: 'api_error' },
  UNKNOWN: { status: 500, type: 'api_error' },
  DATA_LOSS: { status: 500, type: 'api_error' },
  NOT_IMPLEMENTED: { status: 501, type: 'api_error' },
  UNIMPLEMENTED: { status: 501, type: 'api_error' },
  UNAVAILABLE: { status: 503, type: 'overloaded_error' },
  DEADLINE_EXCEEDED: { status: 504, type: 'timeout_error' },
};

const typeByHttpStatus: Readonly<Record<number, ErrorType>> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  429: 'rate_limit_error',
  503: 'overloaded_error',
  504: 'timeout_error',
};

/** An ErrorInfo reason in `details` (e.g. API_KEY_INVALID), if any. */
function reasonOf(details: unknown): string | undefined {
  if (!Array.isArray(details)) return undefined;
  for (const detail of details as unknown[]) {
    if (isObject(detail) && typeof detail.reason === 'string') return detail.reason;
  }
  return undefined;
}

/** Google answers a wrong key with 400 INVALID_ARGUMENT; an OpenAI client expects 401 for it. */
const authenticationReasons = new Set(['API_KEY_INVALID', 'API_KEY_EXPIRED']);

/** The canonical form of a Google error object (the value of `error`), with its OpenAI-client status. */
export function mapGoogleError(error: Record<string, unknown>, httpStatus: number): MappedError {
  const name = typeof error.status === 'string' ? error.status : undefined;
  const code = typeof error.code === 'number' ? error.code : httpStatus;
  const known = name !== undefined ? byStatusName[name] : undefined;
  let status = known?.status ?? (code >= 400 ? code : httpStatus);
  let type: string = known?.type ?? typeByHttpStatus[status] ?? 'api_error';
  if (authenticationReasons.has(reasonOf(error.details) ?? '')) {
    status = 401;
    type = 'authentication_error';
  }
  const message = typeof error.message === 'string' && error.message !== '' ? error.message : `Gemini returned HTTP ${httpStatus}${name ? ` (${name})` : ''}.`;
  const body: CanonicalError = { error: { message, type, param: null, code: name ?? null } };
  const delay = retryDelayOf(error.details);
  return delay === undefined ? { status, body } : { status, body, retryHeaders: [['retry-after', String(Math.ceil(delay))], ['retry-after-ms', String(Math.round(delay * 1000))]] };
}

/** Seconds of a google.rpc.RetryInfo detail (`"retryDelay": "37s"` or `"1.5s"`), if any. */
function retryDelayOf(details: unknown): number | undefined {
  if (!Array.isArray(details)) return undefined;
  for (const detail of details as unknown[]) {
    if (!isObject(detail) || typeof detail.retryDelay !== 'string') continue;
    const match = /^(\d+(?:\.\d+)?)s$/.exec(detail.retryDelay);
    if (match) return Number(match[1]);
  }
  return undefined;
}

/** The `error` object of a body, also when it came wrapped in the array of a JSON-array stream. */
export function googleErrorOf(parsed: unknown): Record<string, unknown> | undefined {
  const first = Array.isArray(parsed) ? (parsed as unknown[])[0] : parsed;
  return isObject(first) && isObject(first.error) ? first.error : undefined;
}

export function geminiError(status: number, body: string): MappedError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  const error = googleErrorOf(parsed);
  if (error !== undefined) return mapGoogleError(error, status);
  // Not Google's shape (a proxy's HTML page, an empty body): the status as it came.
  return { status, body: normaliseUpstreamError(status, body, 'gemini') };
}
