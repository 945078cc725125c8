// MCP servers built with the official SDK, for the gateway's tests and bench: one stateless, one with
// sessions it can expire, both recording every request they receive (headers, method, tool, arguments).
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';

export interface FixtureTool {
  tool: Tool;
  run(args: Record<string, unknown>, headers: IncomingMessage['headers']): CallToolResult | Promise<CallToolResult>;
}

export interface RecordedRequest {
  method: string;
  headers: IncomingMessage['headers'];
  /** JSON-RPC method of each message in the body. */
  rpc: string[];
  sessionId: string | undefined;
}

export interface RecordedCall {
  tool: string;
  arguments: Record<string, unknown>;
  headers: IncomingMessage['headers'];
}

export interface FixtureServer {
  readonly url: string;
  readonly port: number;
  readonly requests: RecordedRequest[];
  readonly calls: RecordedCall[];
  /** Sessioned servers: forget every session (the next request with an old id gets 404). */
  expireSessions(): void;
  /** How many sessions were initialised so far (sessioned servers). */
  sessionCount(): number;
  close(): Promise<void>;
}

export interface FixtureOptions {
  name: string;
  tools: FixtureTool[];
  sessions?: boolean;
  /** tools/list pages of this many tools (nextCursor in between); default: all in one page. */
  pageSize?: number;
  port?: number;
  /** false: keep no record of requests and calls (bench). Default true. */
  record?: boolean;
}

const text = (t: string): CallToolResult => ({ content: [{ type: 'text', text: t }] });

/** echo, add, and whoami (tells which Authorization header reached it). */
export function basicTools(prefix = ''): FixtureTool[] {
  return [
    {
      tool: { name: `${prefix}echo`, description: 'Echoes its text.', inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] } },
      run: (args) => text(String(args.text)),
    },
    {
      tool: {
        name: `${prefix}add`,
        description: 'Adds two numbers.',
        inputSchema: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] },
        outputSchema: { type: 'object', properties: { sum: { type: 'number' } }, required: ['sum'] },
      },
      run: (args) => {
        const sum = Number(args.a) + Number(args.b);
        return { content: [{ type: 'text', text: String(sum) }], structuredContent: { sum } };
      },
    },
    {
      tool: { name: `${prefix}whoami`, description: 'Returns the Authorization header it received.', inputSchema: { type: 'object', properties: {} } },
      run: (_args, headers) => text(`authorization=${headers.authorization ?? ''}`),
    },
    {
      tool: { name: `${prefix}fail`, description: 'Always reports a tool error.', inputSchema: { type: 'object', properties: {} } },
      run: () => ({ content: [{ type: 'text', text: 'this tool always fails' }], isError: true }),
    },
  ];
}

function mcpServer(o: FixtureOptions, calls: RecordedCall[], headersOf: () => IncomingMessage['headers']): Server {
  const server = new Server({ name: o.name, version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, (request) => {
    const all = o.tools.map((t) => t.tool);
    if (o.pageSize === undefined) return { tools: all };
    const start = Number(request.params?.cursor ?? 0);
    const next = start + o.pageSize;
    return next < all.length ? { tools: all.slice(start, next), nextCursor: String(next) } : { tools: all.slice(start) };
  });
  server.setRequestHandler(CallToolRequestSchema, async (request) => {
    const headers = headersOf();
    const args = (request.params.arguments ?? {}) as Record<string, unknown>;
    if (o.record !== false) calls.push({ tool: request.params.name, arguments: args, headers });
    const found = o.tools.find((t) => t.tool.name === request.params.name);
    if (!found) return { content: [{ type: 'text', text: `unknown tool ${request.params.name}` }], isError: true };
    return found.run(args, headers);
  });
  return server;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  try {
    return raw === '' ? undefined : JSON.parse(raw);
  } catch {
    return undefined;
  }
}

export async function startFixtureServer(o: FixtureOptions): Promise<FixtureServer> {
  const requests: RecordedRequest[] = [];
  const calls: RecordedCall[] = [];
  const sessions = new Map<string, { transport: StreamableHTTPServerTransport; server: Server; headers: IncomingMessage['headers'] }>();
  let initialised = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = req.method === 'POST' ? await readJson(req) : undefined;
    const messages = Array.isArray(body) ? body : body === undefined ? [] : [body];
    const sessionId = req.headers['mcp-session-id'] as string | undefined;
    if (o.record !== false) requests.push({ method: req.method ?? '', headers: req.headers, rpc: messages.map((m) => String((m as { method?: unknown }).method ?? 'response')), sessionId });
    if (!o.sessions) {
      if (req.method !== 'POST') {
        res.writeHead(405, { allow: 'POST' }).end();
        return;
      }
      const server = mcpServer(o, calls, () => req.headers);
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      await server.connect(transport);
      res.on('close', () => void transport.close().then(() => server.close()));
      await transport.handleRequest(req, res, body);
      return;
    }
    if (sessionId !== undefined) {
      const session = sessions.get(sessionId);
      if (!session) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }));
        return;
      }
      session.headers = req.headers;
      await session.transport.handleRequest(req, res, body);
      return;
    }
    if (req.method !== 'POST' || !messages.some((m) => (m as { method?: unknown }).method === 'initialize')) {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'Bad Request: no session' }, id: null }));
      return;
    }
    const entry = { transport: undefined as unknown as StreamableHTTPServerTransport, server: undefined as unknown as Server, headers: req.headers };
    entry.server = mcpServer(o, calls, () => entry.headers);
    entry.transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: true,
      onsessioninitialized: (id) => {
        initialised++;
        sessions.set(id, entry);
      },
    });
    await entry.server.connect(entry.transport);
    await entry.transport.handleRequest(req, res, body);
  };

  const http: HttpServer = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    });
  });
  await new Promise<void>((resolve) => http.listen(o.port ?? 0, '127.0.0.1', resolve));
  const port = (http.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    port,
    requests,
    calls,
    expireSessions() {
      for (const s of sessions.values()) void s.transport.close();
      sessions.clear();
    },
    sessionCount: () => initialised,
    async close() {
      for (const s of sessions.values()) await s.transport.close().catch(() => {});
      sessions.clear();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
