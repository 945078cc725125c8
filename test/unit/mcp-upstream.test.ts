// UpstreamServer (the SDK client as a ToolSource) against SDK-built fixture servers.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { basicTools, startFixtureServer } from '../helpers/mcp-fixtures.js';
import type { McpServerConfig } from '../../src/mcp/config.js';
import { ToolSourceError } from '../../src/mcp/tool-source.js';
import { UpstreamServer } from '../../src/mcp/upstream-server.js';

const config = (over: Partial<McpServerConfig>): McpServerConfig => ({
  name: 'up', headers: {}, args: [], env: {}, timeout_ms: 5000, restart_delay_ms: 200, max_restart_delay_ms: 1000, ...over,
});
const closers: Array<() => Promise<void>> = [];
after(async () => {
  for (const close of closers) await close();
});

test('every page of a paginated tools/list is merged in order', async () => {
  const server = await startFixtureServer({ name: 'p', tools: basicTools(), pageSize: 1 });
  const up = new UpstreamServer(config({ url: server.url }));
  closers.push(() => up.close(), () => server.close());
  assert.deepEqual((await up.listTools()).map((t) => t.name), ['echo', 'add', 'whoami', 'fail']);
  assert.equal(server.requests.filter((r) => r.rpc.includes('tools/list')).length, 4);
});

test('an expired session is re-initialised once and the call answered', async () => {
  const server = await startFixtureServer({ name: 's', tools: basicTools(), sessions: true });
  const up = new UpstreamServer(config({ url: server.url }));
  closers.push(() => up.close(), () => server.close());
  await up.callTool('echo', { text: 'a' });
  server.expireSessions();
  const r = await up.callTool('add', { a: 1, b: 2 });
  assert.deepEqual(r.structuredContent, { sum: 3 });
  assert.equal(server.sessionCount(), 2);
});

test('configured headers are sent; nothing else identifies the caller', async () => {
  const server = await startFixtureServer({ name: 'h', tools: basicTools() });
  const up = new UpstreamServer(config({ url: server.url, headers: { authorization: 'Bearer upstream-token', 'x-tenant': 't1' } }));
  closers.push(() => up.close(), () => server.close());
  await up.callTool('whoami', {});
  assert.ok(server.requests.every((r) => r.headers.authorization === 'Bearer upstream-token' && r.headers['x-tenant'] === 't1'));
});

test('an unreachable server fails with a clear ToolSourceError, then fast until its retry delay is over', async () => {
  const server = await startFixtureServer({ name: 'gone', tools: basicTools() });
  const url = server.url;
  await server.close();
  const up = new UpstreamServer(config({ url, restart_delay_ms: 60_000 }));
  closers.push(() => up.close());
  await assert.rejects(up.listTools(), (err: unknown) => err instanceof ToolSourceError && err.code === -32050 && /MCP server 'up' is unavailable/.test(err.message));
  const started = Date.now();
  await assert.rejects(up.callTool('echo', { text: 'x' }), (err: unknown) => err instanceof ToolSourceError && /unavailable/.test(err.message));
  assert.ok(Date.now() - started < 1000, 'the second attempt did not wait for a connection');
});

test('thousands of calls on one client leave no listeners behind on the transport signal', async () => {
  const server = await startFixtureServer({ name: 'many', tools: basicTools(), record: false });
  const up = new UpstreamServer(config({ url: server.url }));
  closers.push(() => up.close(), () => server.close());
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  try {
    // Every request is handed the transport's one signal; a listener left on it per call would make Node warn past 1,500.
    for (let i = 0; i < 1600; i++) await up.callTool('echo', { text: String(i) });
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off('warning', onWarning);
  }
  assert.deepEqual(warnings.filter((w) => w.includes('MaxListeners')), []);
});
