// A stdio MCP server launched and supervised by the gateway: its tools are served like any other, and
// a process that exits is started again.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { opsKey, startMcpStack, type McpStack } from '../helpers/mcp-stack.js';

const script = fileURLToPath(new URL('../helpers/mcp-stdio-server.js', import.meta.url));
type CallResult = Awaited<ReturnType<Client['callTool']>>;
const textOf = (r: CallResult) => (r.content as Array<{ type: string; text?: string }>).map((c) => c.text ?? '').join('');

async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await fn();
      if (ok(v) || Date.now() > deadline) return v;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('mcp gateway: a stdio server', () => {
  let stack: McpStack;

  before(async () => {
    stack = await startMcpStack(
      {
        tools_cache_ms: 0,
        servers: [{ name: 'local', command: process.execPath, args: [script, '--serve'], env: { FIXTURE_GREETING: 'hello from env' }, restart_delay_ms: 100 }],
      },
      { threads: 1 },
    );
  });
  after(async () => {
    await stack?.stop();
  });

  test('its tools are listed and called; the process gets the configured environment', async () => {
    const client = await stack.mcpClient(opsKey);
    const names = (await eventually(() => client.listTools(), (l) => l.tools.length > 0)).tools.map((t) => t.name).sort();
    assert.deepEqual(names, ['local__crash', 'local__env', 'local__pid']);
    assert.equal(textOf(await client.callTool({ name: 'local__env', arguments: {} })), 'hello from env');
  });

  test('a process that exits is restarted and serves again', async () => {
    const client = await stack.mcpClient(opsKey);
    const first = textOf(await client.callTool({ name: 'local__pid', arguments: {} }));
    await client.callTool({ name: 'local__crash', arguments: {} });
    const second = await eventually(
      () => client.callTool({ name: 'local__pid', arguments: {} }).then(textOf),
      (pid) => pid !== first && /^\d+$/.test(pid),
    );
    assert.match(second, /^\d+$/);
    assert.notEqual(second, first);
  });
});
