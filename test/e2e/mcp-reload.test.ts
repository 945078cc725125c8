// The server list changed at runtime: a config reload gives /mcp the new servers' tools without a
// restart, and a reload that leaves the mcp section alone keeps the running catalog (and its processes).
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { opsKey, startMcpStack, type McpStack } from '../helpers/mcp-stack.js';

const script = fileURLToPath(new URL('../helpers/mcp-stdio-server.js', import.meta.url));
const server = (name: string) => ({ name, command: process.execPath, args: [script, '--serve'], restart_delay_ms: 100 });

describe('mcp gateway: servers changed by a config reload', () => {
  let stack: McpStack;
  before(async () => {
    stack = await startMcpStack({ tools_cache_ms: 0, servers: [server('first')] }, { threads: 2 });
  });
  after(() => stack?.stop());

  const toolNames = async () => {
    const client = await stack.mcpClient(opsKey);
    const names = (await client.listTools()).tools.map((t) => t.name).sort();
    await client.close();
    return names;
  };
  const pidOf = async (tool: string) => {
    const client = await stack.mcpClient(opsKey);
    const result = await client.callTool({ name: tool, arguments: {} });
    await client.close();
    return (result.content as Array<{ text?: string }>)[0]?.text;
  };
  /** The config as it stands after the reloads so far. */
  let serving: Record<string, unknown> | undefined;
  const reloadWith = async (mutate: (raw: Record<string, unknown>) => void) => {
    const raw = structuredClone(serving ?? (stack.config as unknown as Record<string, unknown>));
    mutate(raw);
    const report = await stack.gateway.reload({ text: JSON.stringify(raw), source: 'test' });
    if (report.result === 'applied') serving = raw;
    return report;
  };

  test('a server added by a reload is listed and callable on every thread; one removed is gone', async () => {
    assert.deepEqual(await toolNames(), ['first__crash', 'first__env', 'first__pid']);
    const added = await reloadWith((raw) => {
      (raw.mcp as { servers: unknown[] }).servers.push(server('second'));
    });
    assert.equal(added.result, 'applied', added.problems.join('; '));
    // Fresh connections land on either server thread: each must have the new catalog.
    for (let i = 0; i < 4; i++) assert.ok((await toolNames()).includes('second__pid'));
    assert.match((await pidOf('second__pid')) ?? '', /^\d+$/);
    const removed = await reloadWith((raw) => {
      (raw.mcp as { servers: Array<{ name: string }> }).servers = [server('second')];
    });
    assert.equal(removed.result, 'applied', removed.problems.join('; '));
    for (let i = 0; i < 4; i++) assert.deepEqual(await toolNames(), ['second__crash', 'second__env', 'second__pid']);
  });

  test('a reload that leaves the mcp section alone keeps the running servers', async () => {
    const before = await pidOf('second__pid');
    const other = await reloadWith((raw) => {
      (raw.models as Array<Record<string, unknown>>).push({ name: 'another-model', provider: 'sim' });
    });
    assert.equal(other.result, 'applied', other.problems.join('; '));
    assert.equal(await pidOf('second__pid'), before, 'the same stdio process answers');
  });
});
