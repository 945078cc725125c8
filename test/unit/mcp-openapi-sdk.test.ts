// The OpenAPI source's tools and results as the official MCP SDK client sees them, through an SDK server over
// the in-memory transport: the tool list parses, the client's outputSchema check accepts every structured
// result, and error results reach it as results. (The gateway's /mcp endpoint is tested elsewhere.)
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { validateToolName } from '@modelcontextprotocol/sdk/shared/toolNameValidation.js';
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { createOpenApiSource, type OpenApiToolSource } from '../../src/mcp/openapi/index.js';
import { ToolSourceError } from '../../src/mcp/tool-source.js';
import { setLogLevel } from '../../src/shared/log.js';
import { startRestFixture, type RestFixture } from '../helpers/rest-fixture.js';

setLogLevel('error');
const fixtures = fileURLToPath(new URL('../../../test/fixtures/mcp/', import.meta.url));
let rest: RestFixture;
let source: OpenApiToolSource;
let client: Client;

before(async () => {
  rest = await startRestFixture();
  source = (await createOpenApiSource({ name: 'pets', spec: `${fixtures}petstore-3.0.yaml`, base_url: `${rest.origin}/v1` })).source;
  const server = new Server({ name: 'openapi-test', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: (await source.listTools()) as Tool[] }));
  server.setRequestHandler(CallToolRequestSchema, async (request) => {
    try {
      return (await source.callTool(request.params.name, request.params.arguments ?? {})) as CallToolResult;
    } catch (err) {
      if (err instanceof ToolSourceError) throw new McpError(err.code, err.message);
      throw err;
    }
  });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  client = new Client({ name: 'sdk-client', version: '1.0.0' });
  await client.connect(clientSide);
});
after(async () => {
  await client.close();
  await source.close();
  await rest.close();
});

test('the SDK client lists every tool; each name passes the SDK tool-name check', async () => {
  const { tools } = await client.listTools();
  assert.equal(tools.length, 12);
  for (const tool of tools) assert.equal(validateToolName(tool.name).isValid, true, tool.name);
  assert.deepEqual(
    tools.filter((t) => t.outputSchema).map((t) => t.name),
    ['createPet', 'getPet', 'get_store_inventory'],
  );
});

test('structured results pass the SDK client outputSchema validation; a mismatch arrives as an error result, not a throw', async () => {
  await client.listTools();
  const ok = await client.callTool({ name: 'getPet', arguments: { petId: '1' } });
  assert.deepEqual(ok.structuredContent, { id: 1, name: 'Rex', tag: null, status: 'available' });
  const created = await client.callTool({ name: 'createPet', arguments: { body: { name: 'Tom' } } });
  assert.deepEqual(created.structuredContent, { id: 42, name: 'Tom' });
  const odd = await client.callTool({ name: 'getPet', arguments: { petId: 'odd' } });
  assert.equal(odd.isError, true);
  const missing = await client.callTool({ name: 'getPet', arguments: { petId: 'nope' } });
  assert.equal(missing.isError, true);
  assert.match((missing.content as Array<{ text: string }>)[0].text, /^HTTP 404 Not Found/);
});

test('refused arguments reach the SDK client as a JSON-RPC error -32602', async () => {
  await assert.rejects(client.callTool({ name: 'getPet', arguments: { petId: '../admin' } }), (err: unknown) => {
    assert.ok(err instanceof McpError);
    assert.equal(err.code, ErrorCode.InvalidParams);
    assert.match(err.message, /would change the path/);
    return true;
  });
  assert.equal(rest.hits('/v1/admin/stats').length, 0);
});
