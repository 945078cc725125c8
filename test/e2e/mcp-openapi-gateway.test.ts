// OpenAPI-backed tools through the gateway's /mcp, end to end: an official SDK client, the gateway, and a
// recording REST fixture behind it; ACLs and audit apply to them like to any other tool.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { startRestFixture, type RestFixture } from '../helpers/rest-fixture.js';
import { auditRecords, opsKey, startMcpStack, teamAKey, type McpStack } from '../helpers/mcp-stack.js';

const petstore = fileURLToPath(new URL('../../../test/fixtures/mcp/petstore-3.0.yaml', import.meta.url));
const apiKey = 'petstore-gateway-key-0042';
type CallResult = Awaited<ReturnType<Client['callTool']>>;
const textOf = (r: CallResult) => (r.content as Array<{ type: string; text?: string }>).map((c) => c.text ?? '').join('');

describe('mcp gateway: an OpenAPI file as tools', () => {
  let rest: RestFixture;
  let stack: McpStack;

  before(async () => {
    rest = await startRestFixture();
    stack = await startMcpStack({
      openapi: [{ name: 'petstore', spec: petstore, base_url: `${rest.origin}/v1`, auth: { type: 'header', name: 'X-API-Key', value: apiKey } }],
      access: [
        { keys: ['team-a'], allow: ['petstore__*Pet*'], deny: ['petstore__deletePet'] },
        { keys: ['ops'], allow: ['*'] },
      ],
    });
  });
  after(async () => {
    await stack?.stop();
    await rest?.close();
  });

  test('operations are listed as <source>__<operationId>, filtered by the ACL', async () => {
    const ops = await stack.mcpClient(opsKey);
    const all = (await ops.listTools()).tools.map((t) => t.name);
    for (const name of ['petstore__listPets', 'petstore__getPet', 'petstore__createPet', 'petstore__deletePet']) assert.ok(all.includes(name), all.join(','));
    const a = await stack.mcpClient(teamAKey);
    const mine = (await a.listTools()).tools.map((t) => t.name).sort();
    assert.ok(mine.includes('petstore__getPet') && mine.includes('petstore__listPets') && !mine.includes('petstore__deletePet'), mine.join(','));
  });

  test("a call reaches the API with the gateway's credential and never the caller's", async () => {
    rest.reset();
    const client = await stack.mcpClient(teamAKey);
    const r = await client.callTool({ name: 'petstore__getPet', arguments: { petId: '1' } });
    assert.notEqual(r.isError, true);
    assert.match(textOf(r), /"name":"Rex"/);
    const hit = rest.hits('/v1/pets/1');
    assert.equal(hit.length, 1);
    assert.equal(hit[0]!.headers['x-api-key'], apiKey);
    assert.ok(!JSON.stringify(hit[0]!.headers).includes(teamAKey), 'the caller key reached the API');
  });

  test('a non-2xx answer is a tool result with isError; a denied operation never reaches the API', async () => {
    const client = await stack.mcpClient(teamAKey);
    const missing = await client.callTool({ name: 'petstore__getPet', arguments: { petId: '404' } });
    assert.equal(missing.isError, true);
    assert.match(textOf(missing), /404/);
    rest.reset();
    await assert.rejects(client.callTool({ name: 'petstore__deletePet', arguments: { petId: '1' } }), (err: unknown) => err instanceof McpError && /not allowed/.test(err.message));
    assert.equal(rest.requests.length, 0);
  });

  test('OpenAPI tool calls are audited without the API credential', async () => {
    const client = await stack.mcpClient(opsKey);
    await client.callTool({ name: 'petstore__echoHeaders', arguments: {} });
    const records = await auditRecords(stack, 'model=petstore__echoHeaders');
    assert.ok(records.length >= 1);
    assert.equal((records[0]!.mcp as { server: string }).server, 'petstore');
    assert.ok(!JSON.stringify(records).includes(apiKey), 'the API key reached the audit log');
  });
});
