// JSON-RPC 2.0 as MCP uses it: one message or a batch in, each checked once here, and the only place
// responses and errors are serialised.

export const ErrorCode = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
  /** Server-defined range: the gateway's own refusals and upstream failures. */
  unauthorized: -32001,
  forbidden: -32003,
  rateLimited: -32029,
  upstreamUnavailable: -32050,
} as const;

export type RequestId = string | number;

export interface JsonRpcRequest {
  kind: 'request';
  id: RequestId;
  method: string;
  params: Record<string, unknown> | undefined;
}

export interface JsonRpcNotification {
  kind: 'notification';
  method: string;
}

/** A response from the client (to a server request the gateway never sends): accepted and dropped. */
export interface JsonRpcClientResponse {
  kind: 'response';
}

/** A message that is not valid JSON-RPC; answered with -32600 (id when one could be read). */
export interface JsonRpcInvalid {
  kind: 'invalid';
  id: RequestId | null;
  message: string;
}

export type JsonRpcMessage = JsonRpcRequest | JsonRpcNotification | JsonRpcClientResponse | JsonRpcInvalid;

export class JsonRpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const validId = (id: unknown): id is RequestId => typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));

/** Classifies one decoded JSON value as a JSON-RPC message. */
export function classify(value: unknown): JsonRpcMessage {
  if (!isObject(value)) return { kind: 'invalid', id: null, message: 'A JSON-RPC message must be an object.' };
  const id = validId(value.id) ? value.id : null;
  if (value.jsonrpc !== '2.0') return { kind: 'invalid', id, message: 'jsonrpc must be "2.0".' };
  if (typeof value.method === 'string') {
    if (value.params !== undefined && !isObject(value.params)) {
      return { kind: 'invalid', id, message: 'params must be an object.' };
    }
    if (!('id' in value)) return { kind: 'notification', method: value.method };
    if (id === null) return { kind: 'invalid', id: null, message: 'id must be a string or a number.' };
    return { kind: 'request', id, method: value.method, params: value.params as Record<string, unknown> | undefined };
  }
  if ('method' in value) return { kind: 'invalid', id, message: 'method must be a string.' };
  if (('result' in value || 'error' in value) && 'id' in value) return { kind: 'response' };
  return { kind: 'invalid', id, message: 'Not a JSON-RPC request, notification or response.' };
}

export type ParsedBody =
  | { ok: true; batch: boolean; messages: JsonRpcMessage[] }
  | { ok: false; code: number; message: string };

/** Messages one batch may carry: each may be a tools/call, and they run at once. */
export const maxBatch = 100;

/** Decodes a POST body: parse error on bad JSON, invalid request on an empty or oversized batch. */
export function parseBody(body: Buffer): ParsedBody {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return { ok: false, code: ErrorCode.parseError, message: 'Parse error: the body is not valid JSON.' };
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return { ok: false, code: ErrorCode.invalidRequest, message: 'Invalid Request: an empty batch.' };
    if (value.length > maxBatch) return { ok: false, code: ErrorCode.invalidRequest, message: `Invalid Request: a batch of more than ${maxBatch} messages.` };
    return { ok: true, batch: true, messages: value.map(classify) };
  }
  return { ok: true, batch: false, messages: [classify(value)] };
}

export function resultMessage(id: RequestId, result: unknown): string {
  return `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":${JSON.stringify(result)}}`;
}

export function errorMessage(id: RequestId | null, code: number, message: string, data?: unknown): string {
  const error = data === undefined ? { code, message } : { code, message, data };
  return `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"error":${JSON.stringify(error)}}`;
}
