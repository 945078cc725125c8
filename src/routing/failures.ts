// What kind of failure an attempt met, read from the provider's status and error body (any family's
// wording) or from the gateway's own upstream error, and how long the provider asked us to wait.
import type { GatewayError } from '../shared/errors.js';
import type { FailureKind } from './config.js';

export interface AttemptFailure {
  kind: FailureKind;
  /** HTTP status the attempt ended with (the gateway's own for connect errors and timeouts). */
  status: number;
  /** Retry-After / retry-after-ms, in ms. */
  retryAfterMs: number | undefined;
  /** The provider said the account is out of credit (OpenAI insufficient_quota and its kin). */
  quotaExhausted: boolean;
  /** Short description for the audit record and the admin API. */
  detail: string;
}

/** OpenAI, Azure, Anthropic, Gemini, Bedrock and vLLM word a too-long prompt each their own way. */
const contextLength =
  /context_length_exceeded|maximum context length|context length|prompt is too long|input is too long|too many tokens|exceeds the (?:maximum|context)|reduce the length/i;
const insufficientQuota = /insufficient_quota|exceeded your current quota|credit balance is too low/i;

/** The provider's words for an account out of credit. */
export function isQuotaExhausted(body: string): boolean {
  return insufficientQuota.test(body);
}

export function failureOfStatus(status: number, body: string, retryHeaders: ReadonlyArray<readonly [string, string]> | undefined): AttemptFailure | undefined {
  const retryAfterMs = retryAfterOf(retryHeaders);
  const excerpt = body.length > 300 ? body.slice(0, 300) : body;
  if (status === 429) {
    const quota = insufficientQuota.test(body);
    return { kind: '429', status, retryAfterMs, quotaExhausted: quota, detail: quota ? 'insufficient_quota' : 'rate limited' };
  }
  if (status >= 500 || status === 408) {
    return { kind: status === 408 || status === 504 ? 'timeout' : '5xx', status, retryAfterMs, quotaExhausted: false, detail: `HTTP ${status}` };
  }
  // Anthropic answers an account out of credit with a 400: a deployment failure, not the caller's.
  if (status === 400 && insufficientQuota.test(body)) {
    return { kind: '429', status, retryAfterMs: undefined, quotaExhausted: true, detail: 'out of credit' };
  }
  if ((status === 400 || status === 413 || status === 422) && contextLength.test(body)) {
    return { kind: 'context_length', status, retryAfterMs: undefined, quotaExhausted: false, detail: `context length: ${excerpt}` };
  }
  return undefined;
}

/** The failure kind of the gateway's own upstream error codes (src/shared/errors.ts); undefined for the others. */
export function failureKindOfCode(code: string | null | undefined): FailureKind | undefined {
  switch (code) {
    case 'upstream_connect_error':
    case 'upstream_error':
      return 'connect';
    case 'upstream_timeout':
      return 'timeout';
    case 'upstream_invalid_response':
    case 'upstream_incomplete_stream':
    case 'upstream_unsupported_encoding':
      return '5xx';
    default:
      return undefined;
  }
}

/** The gateway's own errors for an exchange that failed before an answer came. */
export function failureOfError(error: GatewayError): AttemptFailure | undefined {
  const kind = failureKindOfCode(error.code);
  return kind === undefined ? undefined : { kind, status: error.status, retryAfterMs: undefined, quotaExhausted: false, detail: error.message };
}

/** retry-after-ms (OpenAI) wins over retry-after (seconds or an HTTP date). */
export function retryAfterOf(headers: ReadonlyArray<readonly [string, string]> | undefined, now = Date.now()): number | undefined {
  if (headers === undefined) return undefined;
  let seconds: number | undefined;
  for (const [name, value] of headers) {
    if (name === 'retry-after-ms') {
      const ms = Number(value);
      if (Number.isFinite(ms) && ms >= 0) return ms;
    } else if (name === 'retry-after') {
      const n = Number(value);
      if (Number.isFinite(n) && n >= 0) seconds = n;
      else {
        const at = Date.parse(value);
        if (!Number.isNaN(at)) seconds = Math.max(0, (at - now) / 1000);
      }
    }
  }
  return seconds === undefined ? undefined : seconds * 1000;
}
