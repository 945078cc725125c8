// Canonical (OpenAI-shaped) errors as Anthropic answers them: {"type":"error","error":{"type","message"}}
// with Anthropic's own status per type (docs.claude.com/en/api/errors).
import type { CanonicalError } from '../../translate/canonical.js';
import type { ErrorAnswer } from '../../translate/dialect.js';

export type AnthropicErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'billing_error'
  | 'permission_error'
  | 'not_found_error'
  | 'request_too_large'
  | 'rate_limit_error'
  | 'api_error'
  | 'timeout_error'
  | 'overloaded_error';

/** Types that have exactly one status at Anthropic. */
const statusOfType: Partial<Record<AnthropicErrorType, number>> = {
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  timeout_error: 504,
  overloaded_error: 529,
};

const typeOfStatus: Record<number, AnthropicErrorType> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  503: 'overloaded_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

/**
 * Canonical types that say more than the status does. The generic ones (invalid_request_error,
 * api_error, server_error, a provider's own names) are left to the status, so a 503 api_error is
 * Anthropic's overloaded_error and a 401 invalid_request_error an authentication_error.
 */
const specificTypes: Record<string, AnthropicErrorType> = {
  authentication_error: 'authentication_error',
  billing_error: 'billing_error',
  permission_error: 'permission_error',
  not_found_error: 'not_found_error',
  request_too_large: 'request_too_large',
  rate_limit_error: 'rate_limit_error',
  timeout_error: 'timeout_error',
  overloaded_error: 'overloaded_error',
  // Anthropic answers a reached spend limit with 429 rate_limit_error; a used-up gateway budget is that.
  insufficient_quota: 'rate_limit_error',
};

const specificCodes: Record<string, AnthropicErrorType> = {
  model_not_found: 'not_found_error',
  request_too_large: 'request_too_large',
};

function typeOfStatusRange(status: number): AnthropicErrorType {
  const exact = typeOfStatus[status];
  if (exact !== undefined) return exact;
  return status >= 500 ? 'api_error' : 'invalid_request_error';
}

export function anthropicErrorType(status: number, body: CanonicalError): AnthropicErrorType {
  const { type, code } = body.error;
  return (code !== null && specificCodes[code]) || specificTypes[type] || typeOfStatusRange(status);
}

/**
 * The status Anthropic uses for the type. invalid_request_error keeps another 4xx (Anthropic uses it
 * "for other 4XX status codes") and api_error another 5xx than 503/504 (a gateway's 502 stays a 502;
 * the SDKs treat every 5xx alike).
 */
export function anthropicStatus(type: AnthropicErrorType, status: number): number {
  const fixed = statusOfType[type];
  if (fixed !== undefined) return fixed;
  if (type === 'invalid_request_error') return status >= 400 && status < 500 ? status : 400;
  return status >= 500 && status < 600 ? status : 500;
}

export function anthropicErrorJson(type: AnthropicErrorType, message: string): string {
  return JSON.stringify({ type: 'error', error: { type, message } });
}

export function anthropicError(status: number, body: CanonicalError): ErrorAnswer {
  const type = anthropicErrorType(status, body);
  return { status: anthropicStatus(type, status), body: anthropicErrorJson(type, body.error.message) };
}
