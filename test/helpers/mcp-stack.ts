// A gateway with an `mcp` section in front of SDK-built fixture servers, and official SDK clients for it.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startStack, type Stack, type StackOptions } from './stack.js';

export const teamAKey = 'sk-sy-team-a-0123456789';
export const teamBKey = 'sk-sy-team-b-0123456789';
export const opsKey = 'sk-sy-ops-0123456789abc';

export const testKeys = [
  { name: 'team-a', key: teamAKey },
  { name: 'team-b', key: teamBKey },
  { name: 'ops', key: opsKey },
];

export interface McpStack extends Stack {
  /** http://127.0.0.1:PORT of the gateway (no /v1). */
  origin: string;
  /** A connected SDK client for `path` (/mcp or /mcp/<source>) with `key` as its bearer token. */
  mcpClient(key: string | undefined, path?: string): Promise<Client>;
}

/** Starts the stack with `mcp` (and keys, auth: keys unless `config` overrides them). */
export async function startMcpStack(mcp: Record<string, unknown>, opts: StackOptions = {}): Promise<McpStack> {
  const stack = await startStack({ ...opts, config: { auth: 'keys', keys: testKeys, mcp, ...opts.config } });
  const origin = `http://127.0.0.1:${stack.gateway.port}`;
  const clients: Client[] = [];
  return {
    ...stack,
    origin,
    async mcpClient(key, path = '/mcp') {
      const client = new Client({ name: 'switchyard-test', version: '1.0.0' });
      const headers: Record<string, string> = key === undefined ? {} : { authorization: `Bearer ${key}` };
      await client.connect(new StreamableHTTPClientTransport(new URL(origin + path), { requestInit: { headers } }));
      clients.push(client);
      return client;
    },
    async stop() {
      await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
      await stack.stop();
    },
  };
}

/** A raw POST to the gateway's /mcp endpoint (for transport-level checks the SDK client never sends). */
export async function postMcp(
  origin: string,
  body: unknown,
  headers: Record<string, string> = {},
  path = '/mcp',
  method = 'POST',
): Promise<{ status: number; headers: Headers; text: string; json: unknown }> {
  const res = await fetch(origin + path, {
    method,
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: method === 'POST' || method === 'PUT' ? (typeof body === 'string' ? body : JSON.stringify(body)) : undefined,
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** Audit records from GET /admin/audit (newest first), waiting up to `timeoutMs` for at least `min` of them. */
export async function auditRecords(stack: Stack, query: string, min = 1, timeoutMs = 5000): Promise<Array<Record<string, unknown>>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`http://127.0.0.1:${stack.gateway.adminPort}/admin/audit?${query}&full=true`, {
      headers: { authorization: `Bearer ${stack.gateway.adminToken}` },
    });
    const body = (await res.json()) as { data: Array<Record<string, unknown>> };
    if (body.data.length >= min || Date.now() > deadline) return body.data;
    await new Promise((r) => setTimeout(r, 50));
  }
}
