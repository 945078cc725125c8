// The Streamable HTTP transport of /mcp and /mcp/<source>, stateless (2025-03-26 … 2025-11-25): POST
// only, Host and Origin checked, the caller's key checked, MCP-Protocol-Version checked, one message or
// (2025-03-26) a batch answered as JSON, or as one SSE event when the client accepts only that.
import { randomUUID } from 'node:crypto';
import type { HeaderList, Reply, RequestHandler } from '../server/http.js';
import type { CallerKey } from './acl.js';
import { wwwAuthenticate, type KeyCheck } from './caller.js';
import type { McpOAuthConfig } from './config.js';
import { ErrorCode, JsonRpcError, errorMessage, parseBody, resultMessage, type JsonRpcMessage } from './jsonrpc.js';
import { answer, assumedVersion, batchesAllowed, supportedVersions } from './methods.js';
import type { CallContext, Governance } from './tool-call.js';

export interface EndpointOptions {
  governance: Governance;
  keyCheck: KeyCheck | undefined;
  oauth: McpOAuthConfig | undefined;
  /** Exact Origin values allowed, or '*' for any. */
  allowedOrigins: readonly string[];
  /** Whether a Host header value is served (DNS rebinding protection). */
  hostAllowed: (host: string | undefined) => boolean;
}

const jsonType: readonly [string, string] = ['content-type', 'application/json'];
const validRequestId = /^[A-Za-z0-9._:-]{1,128}$/;
const loopbackHost = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d+)?$/i;

/** Host names a loopback-bound gateway accepts by default (DNS rebinding protection). */
export function isLoopbackHost(host: string): boolean {
  return loopbackHost.test(host);
}

/** Host header values allowed: `mcp.allowed_hosts` (host or host:port), else loopback names when the gateway listens on loopback. */
export function hostPolicy(allowed: readonly string[] | undefined, listenHost: string): (host: string | undefined) => boolean {
  if (allowed === undefined) {
    if (!isLoopbackHost(listenHost) && listenHost !== '::1') return () => true;
    return (host) => host !== undefined && isLoopbackHost(host);
  }
  return (host) => {
    if (host === undefined) return false;
    const bare = host.replace(/:\d+$/, '');
    return allowed.some((a) => a === host || a === bare);
  };
}

function originAllowed(origin: string, allowed: readonly string[], host: string | undefined): boolean {
  if (allowed.includes('*') || allowed.includes(origin)) return true;
  // A page served by the gateway's own loopback address (local tools such as an inspector) is same-host.
  try {
    const url = new URL(origin);
    return host !== undefined && isLoopbackHost(url.host) && isLoopbackHost(host);
  } catch {
    return false;
  }
}

/** Accept: JSON unless the client accepts only SSE. Undefined when it accepts neither (406). */
function responseMode(accept: string | undefined): 'json' | 'sse' | undefined {
  if (accept === undefined || accept === '') return 'json';
  const a = accept.toLowerCase();
  if (a.includes('application/json') || a.includes('*/*') || a.includes('application/*')) return 'json';
  if (a.includes('text/event-stream')) return 'sse';
  return undefined;
}

function isJsonContentType(value: string | undefined): boolean {
  if (value === undefined) return false;
  const type = value.split(';', 1)[0]!.trim().toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

export function createMcpEndpoint(o: EndpointOptions): RequestHandler {
  const g = o.governance;

  function sendError(reply: Reply, headers: HeaderList, status: number, code: number, message: string, extra: HeaderList = []): void {
    reply.send(status, [jsonType, ...headers, ...extra], errorMessage(null, code, message));
  }

  return (head, body, reply) => {
    const requestId = head.headers['x-request-id'] !== undefined && validRequestId.test(head.headers['x-request-id']) ? head.headers['x-request-id'] : randomUUID();
    const base: Array<readonly [string, string]> = [['x-request-id', requestId]];
    const origin = head.headers['origin'];
    if (!o.hostAllowed(head.headers['host'])) {
      return sendError(reply, base, 403, ErrorCode.forbidden, `Host '${head.headers['host'] ?? ''}' is not allowed.`);
    }
    if (origin !== undefined) {
      if (!originAllowed(origin, o.allowedOrigins, head.headers['host'])) {
        return sendError(reply, base, 403, ErrorCode.forbidden, `Origin '${origin}' is not allowed.`);
      }
      base.push(['access-control-allow-origin', origin], ['vary', 'Origin']);
    }
    if (head.method === 'OPTIONS' && origin !== undefined) {
      reply.send(204, [
        ...base,
        ['access-control-allow-methods', 'POST'],
        ['access-control-allow-headers', 'authorization, content-type, accept, mcp-protocol-version, x-api-key, x-request-id'],
        ['access-control-max-age', '600'],
      ], '');
      return;
    }
    if (head.method !== 'POST') {
      return sendError(reply, base, 405, ErrorCode.invalidRequest, `Method ${head.method} is not served here: send JSON-RPC messages with POST.`, [['allow', 'POST']]);
    }
    const rest = head.path.slice('/mcp'.length).replace(/^\/+|\/+$/g, '');
    let scope: string | undefined;
    if (rest !== '') {
      if (rest.includes('/') || g.catalog.source(rest) === undefined) {
        return sendError(reply, base, 404, ErrorCode.invalidRequest, `No MCP server or OpenAPI source is served at ${head.path}.`);
      }
      scope = rest;
    }
    let key: CallerKey | null = null;
    if (o.keyCheck) {
      const checked = o.keyCheck(head.headers);
      if ('refused' in checked) {
        const message = checked.refused === 'missing' ? 'Authentication required: send a Switchyard key as "Authorization: Bearer <key>".' : 'The key is not valid.';
        const challenge = wwwAuthenticate(head, o.oauth, head.path, checked.refused === 'invalid');
        return sendError(reply, base, 401, ErrorCode.unauthorized, message, [['www-authenticate', challenge]]);
      }
      key = checked;
    }
    const versionHeader = head.headers['mcp-protocol-version'];
    if (versionHeader !== undefined && !(supportedVersions as readonly string[]).includes(versionHeader)) {
      return sendError(reply, base, 400, ErrorCode.invalidRequest, `Unsupported MCP-Protocol-Version '${versionHeader}'; supported: ${supportedVersions.join(', ')}.`);
    }
    const mode = responseMode(head.headers['accept']);
    if (mode === undefined) {
      return sendError(reply, base, 406, ErrorCode.invalidRequest, 'Not Acceptable: accept application/json or text/event-stream.');
    }
    if (!isJsonContentType(head.headers['content-type'])) {
      return sendError(reply, base, 415, ErrorCode.invalidRequest, 'Unsupported Media Type: send Content-Type: application/json.');
    }
    const parsed = parseBody(body);
    if (!parsed.ok) return sendError(reply, base, 400, parsed.code, parsed.message);
    const first = parsed.messages[0]!;
    const version = versionHeader ?? (!parsed.batch && first.kind === 'request' && first.method === 'initialize' ? assumedVersionOf(first.params) : assumedVersion);
    if (parsed.batch && !batchesAllowed(version)) {
      return sendError(reply, base, 400, ErrorCode.invalidRequest, `Invalid Request: JSON-RPC batches are not part of MCP ${version}; send one message per request.`);
    }

    const abort = new AbortController();
    reply.onAbort(() => abort.abort());
    const ctx: CallContext = {
      requestId,
      receivedAtEpochMs: Date.now(),
      key,
      clientIp: head.remoteAddress,
      userAgent: head.headers['user-agent'],
      path: head.path,
      scope,
      requestBytes: body.length,
      signal: abort.signal,
    };
    const answers = parsed.messages.map((m) => respond(g, ctx, m, parsed.batch));
    void Promise.all(answers).then((lines) => {
      const replies = lines.filter((l): l is { status: number; text: string } => l !== undefined);
      if (replies.length === 0) return reply.send(202, base, '');
      const text = parsed.batch ? `[${replies.map((r) => r.text).join(',')}]` : replies[0]!.text;
      const status = parsed.batch ? 200 : replies[0]!.status;
      if (mode === 'json') return reply.send(status, [jsonType, ...base], text);
      reply.send(status, [['content-type', 'text/event-stream'], ['cache-control', 'no-cache'], ...base], `event: message\ndata: ${text}\n\n`);
    });
  };
}

/** An initialize without the header is answered in the revision it asks for, when the gateway speaks it. */
function assumedVersionOf(params: Record<string, unknown> | undefined): string {
  const asked = params?.protocolVersion;
  return typeof asked === 'string' && (supportedVersions as readonly string[]).includes(asked) ? asked : supportedVersions[0];
}

/** One message's answer line and the HTTP status it would carry alone; undefined for notifications and responses. */
async function respond(g: Governance, ctx: CallContext, m: JsonRpcMessage, inBatch: boolean): Promise<{ status: number; text: string } | undefined> {
  const method = m.kind === 'request' || m.kind === 'notification' ? m.method : m.kind;
  let failed = true;
  try {
    if (m.kind === 'notification' || m.kind === 'response') {
      failed = false;
      return undefined;
    }
    if (m.kind === 'invalid') return { status: 400, text: errorMessage(m.id, ErrorCode.invalidRequest, `Invalid Request: ${m.message}`) };
    if (inBatch && m.method === 'initialize') {
      return { status: 400, text: errorMessage(m.id, ErrorCode.invalidRequest, 'Invalid Request: initialize must not be part of a batch.') };
    }
    try {
      const text = resultMessage(m.id, await answer(g, ctx, m));
      failed = false;
      return { status: 200, text };
    } catch (err) {
      if (err instanceof JsonRpcError) return { status: 200, text: errorMessage(m.id, err.code, err.message, err.data) };
      return { status: 200, text: errorMessage(m.id, ErrorCode.internalError, `Internal error: ${(err as Error).message ?? String(err)}`) };
    }
  } finally {
    g.metrics?.message(method, failed);
  }
}
