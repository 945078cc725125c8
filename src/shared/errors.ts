// The one place OpenAI-shaped errors are built: {"error":{"message","type","param","code"}}.

export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'insufficient_quota'
  | 'api_error'
  | 'server_error'
  | 'timeout_error'
  | 'overloaded_error';

export interface ErrorBody {
  error: { message: string; type: ErrorType | string; param: string | null; code: string | null };
}

/** A failure with everything needed to answer the client; thrown by stages, caught once by the handler. */
export class GatewayError extends Error {
  readonly status: number;
  readonly type: ErrorType | string;
  readonly param: string | null;
  readonly code: string | null;
  readonly headers: Record<string, string> | undefined;

  constructor(
    status: number,
    message: string,
    opts: { type?: ErrorType | string; param?: string | null; code?: string | null; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = 'GatewayError';
    this.status = status;
    this.type = opts.type ?? defaultType(status);
    this.param = opts.param ?? null;
    this.code = opts.code ?? null;
    this.headers = opts.headers;
  }

  toBody(): ErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }

  toJSON(): string {
    return JSON.stringify(this.toBody());
  }
}

function defaultType(status: number): ErrorType {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status === 504) return 'timeout_error';
  if (status >= 500) return 'api_error';
  return 'invalid_request_error';
}

export const errors = {
  badJson: (detail: string) =>
    new GatewayError(400, `We could not parse the JSON body of your request. (${detail})`, { code: 'invalid_json' }),
  missingParam: (param: string) =>
    new GatewayError(400, `Missing required parameter: '${param}'.`, { param, code: 'missing_required_parameter' }),
  invalidParam: (param: string, message: string) =>
    new GatewayError(400, message, { param, code: 'invalid_value' }),
  modelNotFound: (model: string) =>
    new GatewayError(404, `The model '${model}' does not exist or you do not have access to it.`, {
      param: 'model',
      code: 'model_not_found',
    }),
  bodyTooLarge: (limit: number) =>
    new GatewayError(413, `Request body exceeds the limit of ${limit} bytes.`, { code: 'request_too_large' }),
  invalidHead: (status: 400 | 431, message: string) =>
    new GatewayError(status, message, { code: status === 431 ? 'request_header_fields_too_large' : 'invalid_request_head' }),
  notFound: (method: string, path: string) =>
    new GatewayError(404, `Unknown request URL: ${method} ${path}.`, { code: 'unknown_url' }),
  methodNotAllowed: (method: string, path: string, allow: string) =>
    new GatewayError(405, `Method ${method} is not allowed on ${path}; use ${allow}.`, {
      code: 'method_not_allowed',
      headers: { allow },
    }),
  upstreamConnect: (provider: string, detail: string) =>
    new GatewayError(502, `Could not connect to provider '${provider}': ${detail}`, {
      type: 'api_error',
      code: 'upstream_connect_error',
    }),
  upstreamTimeout: (provider: string, which: string) =>
    new GatewayError(504, `Provider '${provider}' timed out (${which}).`, { type: 'timeout_error', code: 'upstream_timeout' }),
  upstreamBroken: (provider: string, detail: string) =>
    new GatewayError(502, `Provider '${provider}' failed mid-response: ${detail}`, {
      type: 'api_error',
      code: 'upstream_error',
    }),
  /** A 2xx answer the gateway cannot relay as it is: a body or an SSE event that is not valid JSON. */
  upstreamInvalidResponse: (provider: string, detail: string) =>
    new GatewayError(502, `Provider '${provider}' sent an invalid response: ${detail}`, { type: 'api_error', code: 'upstream_invalid_response' }),
  upstreamIncompleteStream: (provider: string) =>
    new GatewayError(502, `Provider '${provider}' ended the stream without a finish_reason or [DONE]: the answer is incomplete.`, {
      type: 'api_error',
      code: 'upstream_incomplete_stream',
    }),
  upstreamEncoding: (provider: string, encoding: string) =>
    new GatewayError(
      502,
      `Provider '${provider}' sent a body with content-encoding '${encoding.slice(0, 40)}' although the gateway asked for identity; it is not relayed.`,
      { type: 'api_error', code: 'upstream_unsupported_encoding' },
    ),
  /** One response larger than the thread's whole allowance: retrying cannot help. */
  upstreamTooLarge: (provider: string, limit: number) =>
    new GatewayError(502, `Provider '${provider}' sent a response larger than the ${limit} bytes the gateway buffers (server.max_buffered_upstream_bytes).`, {
      type: 'api_error',
      code: 'upstream_too_large',
    }),
  /** The allowance is held by other responses right now: a retry is likely to succeed. */
  upstreamBufferFull: (limit: number) =>
    new GatewayError(503, `The gateway is already buffering its limit of ${limit} bytes of upstream responses on this thread; retry shortly.`, {
      type: 'overloaded_error',
      code: 'upstream_buffer_full',
      headers: { 'retry-after': '1' },
    }),
  internal: (detail: string) => new GatewayError(500, `Internal gateway error: ${detail}`, { type: 'server_error', code: 'internal_error' }),
};

const upstreamTypeByStatus: Record<number, ErrorType> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  429: 'rate_limit_error',
};

/** How much of a non-JSON error body goes into the message. */
const quotedTextLength = 500;

/**
 * Normalises whatever an upstream returned on an error status into the OpenAI shape,
 * keeping its message/type/code when it already had them. `redact` removes credentials the upstream
 * quoted from every text taken from it (see pipeline/secret-redaction.ts).
 */
export function normaliseUpstreamError(status: number, raw: string, provider: string, redact: (text: string) => string = (t) => t): ErrorBody {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  const inner = (parsed && typeof parsed === 'object' && 'error' in parsed ? (parsed as { error: unknown }).error : parsed) as
    | Record<string, unknown>
    | string
    | undefined;
  if (inner && typeof inner === 'object') {
    return {
      error: {
        message: typeof inner.message === 'string' ? redact(inner.message) : `Provider '${provider}' returned HTTP ${status}.`,
        type: typeof inner.type === 'string' ? redact(inner.type) : (upstreamTypeByStatus[status] ?? 'api_error'),
        param: typeof inner.param === 'string' ? redact(inner.param) : null,
        code: typeof inner.code === 'string' || typeof inner.code === 'number' ? redact(String(inner.code)) : null,
      },
    };
  }
  // Redacted before the cut, so a secret across the cut is not left half visible.
  const text = typeof inner === 'string' ? redact(inner) : redact(raw.slice(0, 2 * quotedTextLength)).slice(0, quotedTextLength);
  return {
    error: {
      message: text ? `Provider '${provider}' returned HTTP ${status}: ${text}` : `Provider '${provider}' returned HTTP ${status}.`,
      type: upstreamTypeByStatus[status] ?? 'api_error',
      param: null,
      code: null,
    },
  };
}
