// Tool calls of an OpenAPI source against a real REST fixture that records what it received: the exact
// request line, headers and body; results and errors; traversal, redirects, timeouts and size bounds.
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createOpenApiSource, InvalidToolArguments, type OpenApiToolSource } from '../../src/mcp/openapi/index.js';
import { ToolSourceError, type ToolCallResult } from '../../src/mcp/tool-source.js';
import { freePort } from '../../src/shared/free-port.js';
import { setLogLevel } from '../../src/shared/log.js';
import { startRestFixture, type RestFixture } from '../helpers/rest-fixture.js';

setLogLevel('error');
const fixtures = fileURLToPath(new URL('../../../test/fixtures/mcp/', import.meta.url));
const apiKey = 'gw-api-key-0123456789';
let rest: RestFixture;
let pets: OpenApiToolSource;
let catalog: OpenApiToolSource;

before(async () => {
  rest = await startRestFixture();
  const base = { base_url: `${rest.origin}/v1`, auth: { type: 'header', name: 'X-API-Key', value: apiKey }, headers: { 'X-Tenant': 'acme' } };
  pets = (await createOpenApiSource({ name: 'pets', spec: `${fixtures}petstore-3.0.yaml`, ...base })).source;
  catalog = (await createOpenApiSource({ name: 'catalog', spec: `${fixtures}catalog-3.1.json`, ...base })).source;
});
after(async () => {
  await pets.close();
  await catalog.close();
  await rest.close();
});
beforeEach(() => rest.reset());

function text(result: ToolCallResult, index = 0): string {
  const item = result.content[index];
  assert.equal(item?.type, 'text');
  return (item as { text: string }).text;
}

async function rejection(promise: Promise<unknown>): Promise<ToolSourceError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ToolSourceError, String(err));
    return err;
  }
  assert.fail('expected a ToolSourceError');
}

test('listPets: GET with the query form-encoded and arrays exploded; a header argument; the gateway credential and static headers', async () => {
  const result = await pets.callTool('listPets', { limit: 5, tag: ['a b', 'c&d'], 'X-Trace': 't-1' });
  assert.equal(rest.requests.length, 1);
  const [seen] = rest.requests;
  assert.equal(seen.method, 'GET');
  assert.equal(seen.url, '/v1/pets?limit=5&tag=a%20b&tag=c%26d');
  assert.deepEqual(seen.query, { limit: ['5'], tag: ['a b', 'c&d'] });
  assert.equal(seen.body, '');
  assert.equal(seen.headers['x-api-key'], apiKey);
  assert.equal(seen.headers['x-tenant'], 'acme');
  assert.equal(seen.headers['x-trace'], 't-1');
  // Exactly these and nothing of any caller's: the source never receives the MCP request's headers.
  assert.deepEqual(Object.keys(seen.headers).sort(), ['accept', 'connection', 'host', 'user-agent', 'x-api-key', 'x-tenant', 'x-trace']);
  assert.equal(result.isError, undefined);
  assert.deepEqual(JSON.parse(text(result)), [{ id: 1, name: 'Rex', tag: null, status: 'available' }]);
  assert.equal(result.structuredContent, undefined);
});

test('createPet: POST with the body as JSON; the answer matches the outputSchema, so it is structuredContent too', async () => {
  const result = await pets.callTool('createPet', { body: { name: 'Tom', tag: null } });
  const [seen] = rest.requests;
  assert.equal(seen.method, 'POST');
  assert.equal(seen.url, '/v1/pets');
  assert.equal(seen.headers['content-type'], 'application/json');
  assert.equal(seen.body, '{"name":"Tom","tag":null}');
  assert.equal(result.isError, undefined);
  assert.deepEqual(result.structuredContent, { id: 42, name: 'Tom', tag: null });
  assert.deepEqual(JSON.parse(text(result)), result.structuredContent);
});

test('getPet: structuredContent when the answer matches; a mismatching answer is an error result that still carries it', async () => {
  const ok = await pets.callTool('getPet', { petId: '1' });
  assert.equal(rest.requests[0].url, '/v1/pets/1');
  assert.deepEqual(ok.structuredContent, { id: 1, name: 'Rex', tag: null, status: 'available' });
  const odd = await pets.callTool('getPet', { petId: 'odd' });
  assert.equal(odd.isError, true);
  assert.equal(odd.structuredContent, undefined);
  assert.match(text(odd, 0), /does not match the tool's outputSchema \(\/id must be integer\)/);
  assert.deepEqual(JSON.parse(text(odd, 1)), { id: 'not-a-number', name: 'Odd' });
  const plain = await pets.callTool('getPet', { petId: 'text' });
  assert.equal(plain.isError, true);
  assert.match(text(plain), /content type is text\/plain/);
});

test('a non-2xx answer is a result with isError, the status and a body excerpt of at most 2 KB', async () => {
  const result = await pets.callTool('getPet', { petId: 'missing' });
  assert.equal(result.isError, true);
  const message = text(result);
  assert.ok(message.startsWith('HTTP 404 Not Found: {"error":"pet missing not found","padding":"xxx'), message.slice(0, 80));
  assert.ok(message.endsWith(' …(truncated)'));
  assert.ok(Buffer.byteLength(message) <= Buffer.byteLength('HTTP 404 Not Found:  …(truncated)') + 2048);
});

test('DELETE with an empty 204 answer, PUT with a path integer and a body, a name without operationId', async () => {
  const deleted = await pets.callTool('deletePet', { petId: '7' });
  assert.deepEqual(deleted, { content: [{ type: 'text', text: 'HTTP 204 No Content (empty body)' }] });
  const put = await pets.callTool('store.orders_replace', { orderId: 5, body: { quantity: 2 } });
  assert.deepEqual(JSON.parse(text(put)), { id: 5, quantity: 2 });
  const inventory = await pets.callTool('get_store_inventory', {});
  assert.deepEqual(inventory.structuredContent, { available: 3, sold: 1 });
  assert.deepEqual(
    rest.requests.map((r) => `${r.method} ${r.url} ${r.body}`),
    ['DELETE /v1/pets/7 ', 'PUT /v1/store/orders/5 {"quantity":2}', 'GET /v1/store/inventory '],
  );
});

test('catalog 3.1: deepObject and non-exploded query styles, a charset JSON body, a +json answer as structuredContent', async () => {
  const items = await catalog.callTool('listItems', { categoryId: 7, page: 2, filter: { color: 'red', size: 'L' }, fields: ['sku', 'price'] });
  assert.equal(rest.requests[0].url, '/v1/categories/7/items?page=2&filter[color]=red&filter[size]=L&fields=sku,price');
  assert.deepEqual(items.structuredContent, { items: [{ sku: 'ball-1', price: 2.5 }], next: null });
  const created = await catalog.callTool('createCategory', { body: { name: 'Games', children: [{ name: 'Chess', children: [] }] } });
  assert.equal(rest.requests[1].headers['content-type'], 'application/json; charset=utf-8');
  assert.equal(rest.requests[1].body, '{"name":"Games","children":[{"name":"Chess","children":[]}]}');
  assert.equal(created.structuredContent?.id, 10);
  const report = await catalog.callTool('getReport', { reportId: 'r-12' });
  assert.deepEqual(report.structuredContent, { id: 'r-12', rows: 3 });
  // A recursive answer validates against the cut schema.
  const category = await catalog.callTool('getCategory', { categoryId: 7 });
  assert.equal(category.isError, undefined);
  assert.equal((category.structuredContent?.children as unknown[]).length, 1);
});

test('arguments that do not fit the input schema are refused (-32602) and nothing is sent', async () => {
  const missing = await rejection(pets.callTool('getPet', {}));
  assert.ok(missing instanceof InvalidToolArguments);
  assert.equal(missing.code, -32602);
  assert.match(missing.message, /invalid arguments for tool 'getPet': arguments must have required property 'petId'/);
  assert.match((await rejection(pets.callTool('listPets', { limit: 0 }))).message, /'limit' must be >= 1/);
  assert.match((await rejection(pets.callTool('listPets', { nope: 1 }))).message, /must NOT have additional properties \('nope'\)/);
  assert.match((await rejection(pets.callTool('createPet', { body: { tag: 'x' } }))).message, /'body' must have required property 'name'/);
  assert.match((await rejection(catalog.callTool('getReport', { reportId: 'x' }))).message, /'reportId' must match pattern/);
  assert.match((await rejection(pets.callTool('listPets', { 'X-Trace': 'a\r\nX-Injected: 1' }))).message, /header parameter 'X-Trace'/);
  assert.match((await rejection(pets.callTool('getPet', { petId: 'x\uD800' }))).message, /cannot be percent-encoded/);
  assert.match((await rejection(pets.callTool('getPet', [] as unknown as Record<string, unknown>))).message, /arguments must be object/);
  const unknown = await rejection(pets.callTool('noSuchTool', {}));
  assert.equal(unknown.code, -32602);
  assert.match(unknown.message, /unknown tool 'noSuchTool'/);
  assert.equal(rest.requests.length, 0);
});

test('path traversal: values that would reach another path are refused in every encoding; the admin path is never hit', async () => {
  for (const petId of ['../admin/stats', '..', '.', '%2e%2e', '.%2E', '..%2fadmin', 'a/b', 'a%2Fb', 'a\\b', '%252e%252e', '%25252e%25252e/x']) {
    const error = await rejection(pets.callTool('getPet', { petId }));
    assert.equal(error.code, -32602, petId);
    assert.match(error.message, /would change the path/, petId);
  }
  assert.equal(rest.requests.length, 0);
  // Other reserved characters are percent-encoded and stay inside the one segment.
  await pets.callTool('getPet', { petId: 'a b?#&=..x' });
  assert.deepEqual(
    rest.requests.map((r) => r.url),
    ['/v1/pets/a%20b%3F%23%26%3D..x'],
  );
  assert.equal(rest.hits('/v1/admin/stats').length, 0);
});

test('a redirect is not followed: an error result, and its target is never requested', async () => {
  const result = await pets.callTool('followRedirect', {});
  assert.equal(result.isError, true);
  assert.equal(text(result), 'HTTP 302 Found: redirect to /v1/admin/stats not followed (the gateway does not follow redirects)');
  assert.equal(rest.hits('/v1/redirect').length, 1);
  assert.equal(rest.hits('/v1/admin/stats').length, 0);
});

test('an answer larger than max_response_bytes is cut off and reported, not returned', async () => {
  const result = await pets.callTool('getHuge', {});
  assert.equal(result.isError, true);
  assert.equal(text(result), 'HTTP 200 OK: the answer is larger than 1048576 bytes (max_response_bytes); it was cut off and is not returned');
});

test('a slow API hits timeout_ms: an error result, not a thrown error; a cancelled call likewise', async () => {
  const { source } = await createOpenApiSource({ name: 'slow', spec: `${fixtures}petstore-3.0.yaml`, base_url: `${rest.origin}/v1`, timeout_ms: 300 });
  try {
    const started = Date.now();
    const result = await source.callTool('getSlow', {});
    assert.ok(Date.now() - started >= 290, 'waited for the deadline');
    assert.equal(result.isError, true);
    assert.match(text(result), /^The API did not answer in time \(GET http:\/\/127\.0\.0\.1:\d+\/v1\/slow\): no complete answer within 300 ms/);
    const controller = new AbortController();
    const pending = pets.callTool('getSlow', {}, controller.signal);
    setTimeout(() => controller.abort(), 50);
    const cancelled = await pending;
    assert.equal(cancelled.isError, true);
    assert.match(text(cancelled), /^The call was cancelled/);
  } finally {
    await source.close();
  }
});

test('an unreachable API is an error result naming the failure', async () => {
  const port = await freePort('127.0.0.1');
  const { source } = await createOpenApiSource({ name: 'down', spec: `${fixtures}petstore-3.0.yaml`, base_url: `http://127.0.0.1:${port}/v1` });
  try {
    const result = await source.callTool('getPet', { petId: '1' });
    assert.equal(result.isError, true);
    assert.match(text(result), /^The API could not be reached \(GET http:\/\/127\.0\.0\.1:\d+\/v1\/pets\/1\): ECONNREFUSED/);
  } finally {
    await source.close();
  }
});

test('the gateway credential never comes back in a result, even when the API echoes it', async () => {
  const result = await pets.callTool('echoHeaders', {});
  assert.equal(rest.requests[0].headers['x-api-key'], apiKey, 'the API did receive it');
  assert.ok(!text(result).includes(apiKey));
  assert.equal(JSON.parse(text(result))['x-api-key'], '[REDACTED]');
});

test('a closed source refuses calls', async () => {
  const { source } = await createOpenApiSource({ name: 'closing', spec: `${fixtures}petstore-3.0.yaml`, base_url: `${rest.origin}/v1` });
  await source.close();
  assert.equal((await rejection(source.callTool('getPet', { petId: '1' }))).code, -32603);
});
