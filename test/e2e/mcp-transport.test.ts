// The Streamable HTTP transport of /mcp at the HTTP level: what the SDK client never sends (wrong
// methods, versions, origins, hosts, media types, broken JSON-RPC, batches) and the OAuth metadata.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { basicTools, startFixtureServer, type FixtureServer } from '../helpers/mcp-fixtures.js';
import { opsKey, postMcp, startMcpStack, type McpStack } from '../helpers/mcp-stack.js';

const auth = { authorization: `Bearer ${opsKey}` };
const ping = { jsonrpc: '2.0', id: 7, method: 'ping' };
const errorOf = (json: unknown) => (json as { error: { code: number; message: string } }).error;

/** A request with a Host header of our choosing (fetch does not allow setting it). */
function rawPost(port: number, headers: Record<string, string>, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/mcp', method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', ...headers } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('mcp transport', () => {
  let alpha: FixtureServer;
  let stack: McpStack;

  before(async () => {
    alpha = await startFixtureServer({ name: 'alpha', tools: basicTools() });
    stack = await startMcpStack({
      servers: [{ name: 'alpha', url: alpha.url }],
      allowed_origins: ['https://app.example.com'],
      oauth: { authorization_servers: ['https://auth.example.com'], resource: 'https://gw.example.com/mcp', scopes_supported: ['mcp:tools'] },
    });
  });
  after(async () => {
    await stack?.stop();
    await alpha?.close();
  });

  test('initialize answers the revision asked for when spoken, else the newest', async () => {
    for (const version of ['2025-03-26', '2025-06-18', '2025-11-25']) {
      const r = await postMcp(stack.origin, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 't', version: '1' } } }, auth);
      assert.equal(r.status, 200);
      const result = (r.json as { result: { protocolVersion: string; capabilities: Record<string, unknown> } }).result;
      assert.equal(result.protocolVersion, version);
      assert.ok(result.capabilities.tools);
    }
    const old = await postMcp(stack.origin, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2099-01-01', capabilities: {}, clientInfo: { name: 't', version: '1' } } }, auth);
    assert.equal((old.json as { result: { protocolVersion: string } }).result.protocolVersion, '2025-11-25');
  });

  test('MCP-Protocol-Version: unsupported → 400, absent → served as 2025-03-26', async () => {
    const bad = await postMcp(stack.origin, ping, { ...auth, 'mcp-protocol-version': '2024-01-01' });
    assert.equal(bad.status, 400);
    assert.match(errorOf(bad.json).message, /Unsupported MCP-Protocol-Version/);
    const none = await postMcp(stack.origin, ping, auth);
    assert.equal(none.status, 200);
    assert.deepEqual(none.json, { jsonrpc: '2.0', id: 7, result: {} });
  });

  test('GET and DELETE → 405 with Allow: POST', async () => {
    for (const method of ['GET', 'DELETE']) {
      const r = await postMcp(stack.origin, undefined, auth, '/mcp', method);
      assert.equal(r.status, 405, method);
      assert.equal(r.headers.get('allow'), 'POST');
    }
  });

  test('notifications and client responses → 202 with no body', async () => {
    const n = await postMcp(stack.origin, { jsonrpc: '2.0', method: 'notifications/initialized' }, auth);
    assert.equal(n.status, 202);
    assert.equal(n.text, '');
    const r = await postMcp(stack.origin, { jsonrpc: '2.0', id: 3, result: {} }, auth);
    assert.equal(r.status, 202);
  });

  test('JSON-RPC errors: parse error, invalid request, method not found, invalid params', async () => {
    const parse = await postMcp(stack.origin, '{"jsonrpc":"2.0",', auth);
    assert.equal(parse.status, 400);
    assert.equal(errorOf(parse.json).code, -32700);
    const invalid = await postMcp(stack.origin, { jsonrpc: '1.0', id: 1, method: 'ping' }, auth);
    assert.equal(invalid.status, 400);
    assert.equal(errorOf(invalid.json).code, -32600);
    const unknown = await postMcp(stack.origin, { jsonrpc: '2.0', id: 2, method: 'resources/list' }, auth);
    assert.equal(unknown.status, 200);
    assert.deepEqual(unknown.json, { jsonrpc: '2.0', id: 2, error: { code: -32601, message: 'Method not found: resources/list' } });
    const params = await postMcp(stack.origin, { jsonrpc: '2.0', id: 'x', method: 'tools/call', params: { arguments: {} } }, auth);
    assert.equal(errorOf(params.json).code, -32602);
    const args = await postMcp(stack.origin, { jsonrpc: '2.0', id: 'y', method: 'tools/call', params: { name: 'alpha__echo', arguments: 'text' } }, auth);
    assert.equal(errorOf(args.json).code, -32602);
    const tool = await postMcp(stack.origin, { jsonrpc: '2.0', id: 'z', method: 'tools/call', params: { name: 'nosuch__tool' } }, auth);
    assert.match(errorOf(tool.json).message, /Unknown tool: nosuch__tool/);
  });

  test('batches: answered under 2025-03-26, refused from 2025-06-18 on', async () => {
    const batch = [ping, { jsonrpc: '2.0', method: 'notifications/initialized' }, { jsonrpc: '2.0', id: 8, method: 'tools/call', params: { name: 'alpha__echo', arguments: { text: 'b' } } }];
    const old = await postMcp(stack.origin, batch, { ...auth, 'mcp-protocol-version': '2025-03-26' });
    assert.equal(old.status, 200);
    const answers = old.json as Array<{ id: number; result: unknown }>;
    assert.deepEqual(answers.map((a) => a.id), [7, 8]);
    assert.deepEqual(answers[1]!.result, { content: [{ type: 'text', text: 'b' }] });
    const onlyNotes = await postMcp(stack.origin, [{ jsonrpc: '2.0', method: 'notifications/x' }], { ...auth, 'mcp-protocol-version': '2025-03-26' });
    assert.equal(onlyNotes.status, 202);
    const empty = await postMcp(stack.origin, [], auth);
    assert.equal(errorOf(empty.json).code, -32600);
    const newer = await postMcp(stack.origin, batch, { ...auth, 'mcp-protocol-version': '2025-06-18' });
    assert.equal(newer.status, 400);
    assert.equal(errorOf(newer.json).code, -32600);
  });

  test('Accept: SSE only → one SSE event; neither JSON nor SSE → 406; Content-Type must be JSON → 415', async () => {
    const sse = await postMcp(stack.origin, ping, { ...auth, accept: 'text/event-stream' });
    assert.equal(sse.status, 200);
    assert.equal(sse.headers.get('content-type'), 'text/event-stream');
    assert.equal(sse.text, 'event: message\ndata: {"jsonrpc":"2.0","id":7,"result":{}}\n\n');
    const html = await postMcp(stack.origin, ping, { ...auth, accept: 'text/html' });
    assert.equal(html.status, 406);
    const text = await postMcp(stack.origin, ping, { ...auth, 'content-type': 'text/plain' });
    assert.equal(text.status, 415);
  });

  test('Origin: a listed one is served (with CORS), another gets 403; a foreign Host gets 403', async () => {
    const ok = await postMcp(stack.origin, ping, { ...auth, origin: 'https://app.example.com' });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('access-control-allow-origin'), 'https://app.example.com');
    const evil = await postMcp(stack.origin, ping, { ...auth, origin: 'https://evil.example.com' });
    assert.equal(evil.status, 403);
    const rebinding = await rawPost(stack.gateway.port, { ...auth, host: 'evil.example.com' }, JSON.stringify(ping));
    assert.equal(rebinding.status, 403);
    const local = await rawPost(stack.gateway.port, { ...auth, host: `localhost:${stack.gateway.port}` }, JSON.stringify(ping));
    assert.equal(local.status, 200);
  });

  test('unknown scoped endpoint → 404', async () => {
    const r = await postMcp(stack.origin, ping, auth, '/mcp/nosuch');
    assert.equal(r.status, 404);
  });

  test('OAuth: 401 points at the protected-resource metadata, which names the authorization server', async () => {
    const r = await postMcp(stack.origin, ping, {});
    assert.equal(r.status, 401);
    assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="switchyard", resource_metadata="https://gw.example.com/.well-known/oauth-protected-resource/mcp"');
    for (const path of ['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp']) {
      const res = await fetch(stack.origin + path);
      assert.equal(res.status, 200, path);
      assert.deepEqual(await res.json(), {
        resource: 'https://gw.example.com/mcp',
        authorization_servers: ['https://auth.example.com'],
        bearer_methods_supported: ['header'],
        resource_name: 'Switchyard MCP gateway',
        scopes_supported: ['mcp:tools'],
      });
    }
    const scoped = await fetch(`${stack.origin}/.well-known/oauth-protected-resource/mcp/alpha`);
    assert.equal(((await scoped.json()) as { resource: string }).resource, 'https://gw.example.com/mcp/alpha');
  });

  test('the LLM path is untouched next to /mcp', async () => {
    const res = await fetch(`${stack.origin}/v1/models`, { headers: auth });
    assert.equal(res.status, 200);
  });
});
