// The MCP gateway end to end: official SDK clients against /mcp, SDK-built fixture servers upstream
// (one stateless and paginated, one with sessions it expires, one stopped).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { basicTools, startFixtureServer, type FixtureServer } from '../helpers/mcp-fixtures.js';
import { auditRecords, opsKey, postMcp, startMcpStack, teamAKey, teamBKey, type McpStack } from '../helpers/mcp-stack.js';

type CallResult = Awaited<ReturnType<Client['callTool']>>;
const textOf = (r: CallResult) => (r.content as Array<{ type: string; text?: string }>).map((c) => c.text ?? '').join('');

async function mcpError(p: Promise<unknown>): Promise<McpError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof McpError) return err;
    throw err;
  }
  assert.fail('the call succeeded');
}

const upstreamSecret = 'alpha-upstream-secret-4711';
// switchyard_mcp_* reach /metrics through the observability feature's hook (proposed in the issue-15 report).

describe('mcp gateway: two upstream servers behind one governed endpoint', () => {
  let alpha: FixtureServer;
  let beta: FixtureServer;
  let stack: McpStack;

  before(async () => {
    alpha = await startFixtureServer({ name: 'alpha', tools: basicTools(), pageSize: 2 });
    beta = await startFixtureServer({ name: 'beta', tools: basicTools('b_'), sessions: true });
    stack = await startMcpStack({
      tools_cache_ms: 0,
      servers: [
        { name: 'alpha', url: alpha.url, headers: { authorization: `Bearer ${upstreamSecret}` } },
        { name: 'beta', url: beta.url },
      ],
      access: [
        { keys: ['team-a'], allow: ['alpha', 'beta'], deny: ['beta__b_whoami'] },
        { keys: ['team-b'], allow: ['alpha__echo'] },
        { keys: ['ops'], allow: ['*'] },
      ],
      rate_limits: [{ name: 'echo-per-key', tools: ['beta__b_echo'], rpm: 3 }],
    });
  });
  after(async () => {
    await stack?.stop();
    await alpha?.close();
    await beta?.close();
  });

  test('tools/list merges both servers, prefixed, with every page of the paginated one', async () => {
    const client = await stack.mcpClient(opsKey);
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name).sort();
    assert.deepEqual(names, ['alpha__add', 'alpha__echo', 'alpha__fail', 'alpha__whoami', 'beta__b_add', 'beta__b_echo', 'beta__b_fail', 'beta__b_whoami']);
    const add = tools.find((t) => t.name === 'alpha__add')!;
    assert.deepEqual(add.outputSchema, { type: 'object', properties: { sum: { type: 'number' } }, required: ['sum'] });
    assert.ok(alpha.requests.filter((r) => r.rpc.includes('tools/list')).length >= 2, 'the paginated server was asked for its second page');
  });

  test('tools/call reaches the right server under its own name; a tool error stays a result', async () => {
    const client = await stack.mcpClient(opsKey);
    const r = await client.callTool({ name: 'beta__b_add', arguments: { a: 2, b: 40 } });
    assert.deepEqual(r.structuredContent, { sum: 42 });
    assert.equal(beta.calls.at(-1)?.tool, 'b_add');
    assert.equal(textOf(await client.callTool({ name: 'alpha__echo', arguments: { text: 'hi' } })), 'hi');
    const failed = await client.callTool({ name: 'alpha__fail', arguments: {} });
    assert.equal(failed.isError, true);
    assert.equal(textOf(failed), 'this tool always fails');
  });

  test('the scoped endpoint lists and calls one server with plain names', async () => {
    const client = await stack.mcpClient(opsKey, '/mcp/beta');
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), ['b_add', 'b_echo', 'b_fail', 'b_whoami']);
    assert.equal(textOf(await client.callTool({ name: 'b_echo', arguments: { text: 'scoped' } })), 'scoped');
  });

  test('denied tools are not listed, and a denied call never reaches the upstream', async () => {
    const b = await stack.mcpClient(teamBKey);
    assert.deepEqual((await b.listTools()).tools.map((t) => t.name), ['alpha__echo']);
    const hitsBefore = alpha.calls.length + beta.calls.length;
    const denied = await mcpError(b.callTool({ name: 'alpha__whoami', arguments: {} }));
    assert.equal(denied.code, -32602);
    assert.match(denied.message, /not allowed for this key/);
    const a = await stack.mcpClient(teamAKey);
    const listed = (await a.listTools()).tools.map((t) => t.name);
    assert.ok(listed.includes('beta__b_echo') && !listed.includes('beta__b_whoami'), listed.join(','));
    await mcpError(a.callTool({ name: 'beta__b_whoami', arguments: {} }));
    assert.equal(alpha.calls.length + beta.calls.length, hitsBefore, 'no upstream saw a denied call');
  });

  test("upstreams see the gateway's credential, never the caller's key", async () => {
    const client = await stack.mcpClient(opsKey);
    const r = await client.callTool({ name: 'alpha__whoami', arguments: {} });
    assert.equal(textOf(r), `authorization=Bearer ${upstreamSecret}`);
    const seen = JSON.stringify([...alpha.requests, ...beta.requests].map((q) => q.headers));
    for (const key of [opsKey, teamAKey, teamBKey]) assert.ok(!seen.includes(key), 'a caller key reached an upstream');
    assert.ok(beta.requests.every((q) => q.headers.authorization === undefined), 'beta has no credential configured and got none');
  });

  test('a session the upstream expired is re-initialised and the call still succeeds', async () => {
    const client = await stack.mcpClient(opsKey);
    await client.callTool({ name: 'beta__b_echo', arguments: { text: 'before' } });
    const sessions = beta.sessionCount();
    beta.expireSessions();
    const r = await client.callTool({ name: 'beta__b_add', arguments: { a: 1, b: 1 } });
    assert.deepEqual(r.structuredContent, { sum: 2 });
    assert.ok(beta.sessionCount() > sessions, 'a new session was initialised');
    assert.ok(beta.requests.some((q) => q.sessionId !== undefined), 'the server saw its session ids');
  });

  test('a per-tool rate limit refuses the call past its limit before the upstream sees it', async () => {
    const client = await stack.mcpClient(teamAKey);
    const before = beta.calls.filter((c) => c.tool === 'b_echo').length;
    for (let i = 0; i < 3; i++) await client.callTool({ name: 'beta__b_echo', arguments: { text: `n${i}` } });
    const refused = await mcpError(client.callTool({ name: 'beta__b_echo', arguments: { text: 'one too many' } }));
    assert.equal(refused.code, -32029);
    assert.match(refused.message, /Rate limit reached for MCP limit 'echo-per-key' for key 'team-a' on calls per minute: limit 3/);
    assert.equal(beta.calls.filter((c) => c.tool === 'b_echo').length - before, 3);
    // Another key has a window of its own; another tool of the same server is not limited.
    const other = await stack.mcpClient(teamBKey, '/mcp');
    await mcpError(other.callTool({ name: 'beta__b_echo', arguments: { text: 'x' } })); // team-b may not use beta at all
    assert.deepEqual((await client.callTool({ name: 'beta__b_add', arguments: { a: 1, b: 2 } })).structuredContent, { sum: 3 });
  });

  test('every tools/call is audited: key, server, tool, arguments, excerpt, outcome; no secrets', async () => {
    const client = await stack.mcpClient(teamAKey);
    await client.callTool({ name: 'alpha__echo', arguments: { text: 'audit me' } });
    const records = await auditRecords(stack, 'model=alpha__echo&key=team-a');
    const r = records.find((x) => (x.mcp as { arguments?: { text?: string } }).arguments?.text === 'audit me');
    assert.ok(r, JSON.stringify(records));
    assert.equal(r.operation, 'mcp.tools_call');
    assert.equal(r.outcome, 'ok');
    assert.deepEqual(r.key, { id: 'cfg_team-a', name: 'team-a' });
    const mcp = r.mcp as Record<string, unknown>;
    assert.equal(mcp.server, 'alpha');
    assert.equal(mcp.tool, 'echo');
    assert.equal(mcp.is_error, false);
    assert.equal(mcp.result_excerpt, 'audit me');
    assert.ok((mcp.request_bytes as number) > 0 && (mcp.response_bytes as number) > 0);
    assert.ok(typeof r.duration_ms === 'number' && typeof r.upstream_ms === 'number');
    await mcpError(client.callTool({ name: 'beta__b_whoami', arguments: {} }));
    const denied = await auditRecords(stack, 'model=beta__b_whoami');
    assert.ok(denied.some((x) => x.outcome === 'denied'), 'the denied call was audited too');
    const all = JSON.stringify(await auditRecords(stack, 'limit=1000'));
    for (const secret of [upstreamSecret, teamAKey, teamBKey, opsKey]) assert.ok(!all.includes(secret), `a secret reached the audit log: ${all.slice(Math.max(0, all.indexOf(secret) - 300), all.indexOf(secret) + 100)}`);
  });

  test('tool calls are metered as switchyard_mcp_* with bounded labels', async () => {
    const client = await stack.mcpClient(opsKey);
    await client.listTools();
    await client.callTool({ name: 'alpha__echo', arguments: { text: 'count me' } });
    assert.equal((await client.callTool({ name: 'alpha__no_such_tool', arguments: {} })).isError, true);
    const text = await (await fetch(`http://127.0.0.1:${stack.gateway.adminPort}/metrics`)).text();
    assert.match(text, /switchyard_mcp_tool_calls_total\{server="alpha",tool="echo",outcome="ok"\} [1-9]/);
    assert.match(text, /switchyard_mcp_tool_call_duration_seconds_count\{server="alpha"\} [1-9]/);
    assert.match(text, /switchyard_mcp_messages_total\{method="tools\/call",error="false"\} [1-9]/);
    assert.ok(!/tool="no_such_tool/.test(text), 'a tool name no server lists became a label');
  });

  test('no key: 401 with a Bearer challenge; a wrong key: 401 invalid_token', async () => {
    const missing = await postMcp(stack.origin, { jsonrpc: '2.0', id: 1, method: 'ping' });
    assert.equal(missing.status, 401);
    assert.match(missing.headers.get('www-authenticate') ?? '', /^Bearer /);
    const wrong = await postMcp(stack.origin, { jsonrpc: '2.0', id: 1, method: 'ping' }, { authorization: 'Bearer sk-sy-nope-nope-nope' });
    assert.equal(wrong.status, 401);
    assert.match(wrong.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    assert.equal((wrong.json as { error: { code: number } }).error.code, -32001);
  });
});

describe('mcp gateway: one upstream down', () => {
  let alpha: FixtureServer;
  let gamma: FixtureServer;
  let stack: McpStack;

  before(async () => {
    alpha = await startFixtureServer({ name: 'alpha', tools: basicTools() });
    gamma = await startFixtureServer({ name: 'gamma', tools: basicTools('g_') });
    stack = await startMcpStack({
      tools_cache_ms: 0,
      servers: [
        { name: 'alpha', url: alpha.url },
        { name: 'gamma', url: gamma.url, timeout_ms: 2000, restart_delay_ms: 50 },
      ],
    });
  });
  after(async () => {
    await stack?.stop();
    await alpha?.close();
  });

  test('the others are still listed and callable, and its tools get a clear error', async () => {
    const client = await stack.mcpClient(opsKey);
    assert.ok((await client.listTools()).tools.some((t) => t.name === 'gamma__g_echo'));
    await gamma.close();
    const listing = await client.listTools();
    const names = listing.tools.map((t) => t.name);
    assert.ok(names.includes('alpha__echo') && !names.some((n) => n.startsWith('gamma__')), names.join(','));
    const unavailable = (listing._meta as Record<string, Array<{ server: string }>>)['io.switchyard/unavailable'];
    assert.deepEqual(unavailable.map((u) => u.server), ['gamma']);
    assert.equal(textOf(await client.callTool({ name: 'alpha__echo', arguments: { text: 'still here' } })), 'still here');
    const err = await mcpError(client.callTool({ name: 'gamma__g_echo', arguments: { text: 'x' } }));
    assert.equal(err.code, -32050);
    assert.match(err.message, /MCP server 'gamma'/);
  });
});
