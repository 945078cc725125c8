// The gateway's own /mcp transport against the SDK's server transport, in process and on the same
// request: a tools/call of an in-memory tool answered as JSON. Direct: createMcpEndpoint over a fake
// Reply (what the uWS adapter calls). SDK: WebStandardStreamableHTTPServerTransport in stateless mode, a
// new Server and transport per request as the SDK requires, over a web Request (the uWS request would
// still have to be turned into one, which is not counted here). Both in one run, alternating rounds.
// Run alone: node dist/bench/mcp-transport.js [--quick]
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { AccessControl } from '../src/mcp/acl.js';
import { ToolCatalog } from '../src/mcp/catalog.js';
import { createMcpEndpoint } from '../src/mcp/endpoint.js';
import type { ToolSource } from '../src/mcp/tool-source.js';
import type { IncomingHead, Reply } from '../src/server/http.js';
import { round } from './lib/stats.js';

const tool = { name: 'echo', description: 'Echoes its text.', inputSchema: { type: 'object', properties: { text: { type: 'string' } } } };
const echo = (args: Record<string, unknown>) => ({ content: [{ type: 'text' as const, text: String(args.text) }] });
const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18', host: '127.0.0.1' };
const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'hello' } } });

function directHandler(): (head: IncomingHead, body: Buffer) => Promise<string> {
  const source: ToolSource = { name: 'mem', listTools: async () => [tool], callTool: async (_n, args) => echo(args), close: async () => {} };
  const endpoint = createMcpEndpoint({
    governance: { catalog: new ToolCatalog([source], 60_000), access: new AccessControl([]), limiter: undefined, guards: undefined, audit: undefined, metrics: undefined },
    keyCheck: undefined,
    oauth: undefined,
    allowedOrigins: [],
    hostAllowed: () => true,
  });
  return (head, bytes) =>
    new Promise((resolve) => {
      const reply = { done: false, onAbort() {}, send: (_s: number, _h: unknown, b: string | Uint8Array) => resolve(String(b)) } as unknown as Reply;
      endpoint(head, bytes, reply);
    });
}

async function sdkRequest(): Promise<string> {
  const server = new Server({ name: 'bench', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: [tool] }));
  server.setRequestHandler(CallToolRequestSchema, (r) => echo((r.params.arguments ?? {}) as Record<string, unknown>));
  const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  await server.connect(transport);
  const response = await transport.handleRequest(new Request('http://127.0.0.1/mcp/mem', { method: 'POST', headers, body }));
  const text = await response.text();
  await transport.close();
  return text;
}

async function timeIt(n: number, one: () => Promise<string>): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < n; i++) await one();
  return ((performance.now() - started) * 1000) / n;
}

export async function runMcpTransportBench(opts: { quick?: boolean; log?: (line: string) => void } = {}): Promise<Record<string, unknown>> {
  const log = opts.log ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const n = opts.quick ? 2000 : 20_000;
  const rounds = opts.quick ? 2 : 5;
  const direct = directHandler();
  const head: IncomingHead = { method: 'POST', path: '/mcp/mem', query: '', headers, remoteAddress: '' };
  const bytes = Buffer.from(body);
  const a = await direct(head, bytes);
  const b = await sdkRequest();
  if (JSON.parse(a).result.content[0].text !== 'hello' || JSON.parse(b).result.content[0].text !== 'hello') throw new Error(`unexpected answers: ${a} / ${b}`);
  await timeIt(n / 4, () => direct(head, bytes));
  await timeIt(n / 4, sdkRequest);
  const directUs: number[] = [];
  const sdkUs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    directUs.push(await timeIt(n, () => direct(head, bytes)));
    sdkUs.push(await timeIt(n, sdkRequest));
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  const result = {
    requests_per_round: n,
    rounds,
    direct_us_per_request: round(median(directUs), 1),
    sdk_us_per_request: round(median(sdkUs), 1),
    sdk_to_direct: round(median(sdkUs) / median(directUs), 1),
  };
  log(`  mcp transport, one tools/call in process: direct ${result.direct_us_per_request} µs, SDK stateless ${result.sdk_us_per_request} µs (×${result.sdk_to_direct})`);
  return result;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runMcpTransportBench({ quick: process.argv.includes('--quick') });
}
