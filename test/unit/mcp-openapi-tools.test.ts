// OpenAPI → MCP tools: names, schemas, annotations, filters and the skipped report, from the test specs in
// test/fixtures/mcp/. Expectations are written from the specs by hand.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { generateTools, type GeneratedTool } from '../../src/mcp/openapi/tools.js';
import type { McpTool } from '../../src/mcp/tool-source.js';

const fixtures = fileURLToPath(new URL('../../../test/fixtures/mcp/', import.meta.url));
const petstore = parse(readFileSync(`${fixtures}petstore-3.0.yaml`, 'utf8')) as Record<string, unknown>;
const catalog = JSON.parse(readFileSync(`${fixtures}catalog-3.1.json`, 'utf8')) as Record<string, unknown>;
const toolNamePattern = /^[A-Za-z0-9_.-]{1,128}$/;

function byName(tools: GeneratedTool[], name: string): McpTool {
  const found = tools.find((t) => t.tool.name === name);
  assert.ok(found, `tool ${name} exists`);
  return found.tool;
}

const petSchemaOut = {
  type: 'object',
  required: ['id', 'name'],
  properties: {
    id: { type: 'integer', format: 'int64', readOnly: true },
    name: { type: 'string', minLength: 1 },
    tag: { type: ['string', 'null'] },
    status: { type: 'string', enum: ['available', 'sold'] },
  },
};

test('petstore 3.0: one tool per eligible operation, in document order, named from operationId or method and path', () => {
  const { tools } = generateTools(petstore);
  assert.deepEqual(
    tools.map((t) => t.tool.name),
    ['listPets', 'createPet', 'getPet', 'deletePet', 'get_store_inventory', 'store.orders_replace', 'store.orders_replace_2', 'getAdminStats', 'followRedirect', 'getHuge', 'getSlow', 'echoHeaders'],
  );
  for (const { tool } of tools) assert.match(tool.name, toolNamePattern);
});

test('listPets: query and plain header parameters are arguments; the apiKey header and the cookie are not', () => {
  const tool = byName(generateTools(petstore).tools, 'listPets');
  assert.equal(tool.title, 'List pets');
  assert.equal(tool.description, 'List pets\n\nPets in the store, newest first.');
  assert.deepEqual(tool.inputSchema, {
    type: 'object',
    properties: {
      limit: { type: 'integer', minimum: 1, maximum: 100, description: 'How many to return.' },
      tag: { type: 'array', items: { type: 'string' } },
      'X-Trace': { type: 'string' },
    },
    additionalProperties: false,
  });
  assert.deepEqual(tool.annotations, { readOnlyHint: true, idempotentHint: true });
  assert.equal(tool.outputSchema, undefined, 'an array answer is no outputSchema');
});

test('createPet: a body argument from the $ref, readOnly id dropped, nullable as a type union; Pet as outputSchema', () => {
  const tool = byName(generateTools(petstore).tools, 'createPet');
  assert.deepEqual(tool.inputSchema, {
    type: 'object',
    properties: {
      body: {
        type: 'object',
        required: ['name'],
        properties: { name: { type: 'string', minLength: 1 }, tag: { type: ['string', 'null'] }, status: { type: 'string', enum: ['available', 'sold'] } },
      },
    },
    additionalProperties: false,
    required: ['body'],
  });
  assert.deepEqual(tool.outputSchema, petSchemaOut);
  assert.deepEqual(tool.annotations, { readOnlyHint: false, idempotentHint: false, destructiveHint: false });
});

test('getPet and deletePet: the path-level parameter $ref; an error response does not stop outputSchema, a 204 has none', () => {
  const { tools } = generateTools(petstore);
  const getPet = byName(tools, 'getPet');
  const petId = { type: 'object', properties: { petId: { type: 'string', description: "The pet's id." } }, additionalProperties: false, required: ['petId'] };
  assert.deepEqual(getPet.inputSchema, petId);
  assert.deepEqual(getPet.outputSchema, petSchemaOut);
  const deletePet = byName(tools, 'deletePet');
  assert.deepEqual(deletePet.inputSchema, petId);
  assert.equal(deletePet.outputSchema, undefined);
  assert.deepEqual(deletePet.annotations, { readOnlyHint: false, idempotentHint: true, destructiveHint: true });
  const inventory = byName(tools, 'get_store_inventory');
  assert.deepEqual(inventory.outputSchema, { type: 'object', additionalProperties: { type: 'integer' } });
  assert.equal(inventory.description, 'Inventory counts by status');
  assert.equal(byName(tools, 'getAdminStats').description, 'GET /admin/stats');
  assert.deepEqual(byName(tools, 'store.orders_replace').annotations, { readOnlyHint: false, idempotentHint: true, destructiveHint: true });
});

test('petstore: multipart, form-encoded and required-cookie operations are skipped with their reasons', () => {
  assert.deepEqual(generateTools(petstore).skipped, [
    { operation: 'POST /pets/{petId}/photo (uploadPhoto)', reason: 'request body multipart/form-data is not supported (only JSON bodies are)' },
    { operation: 'POST /pets/search', reason: 'request body application/x-www-form-urlencoded is not supported (only JSON bodies are)' },
    { operation: 'GET /pets/{petId}/visits (listVisits)', reason: "required cookie parameter 'vet_session' is not supported" },
  ]);
});

test('catalog 3.1: $refs to components (request bodies, responses, parameters) resolve; a remote $ref and multipart are skipped', () => {
  const { tools, skipped } = generateTools(catalog);
  assert.deepEqual(
    tools.map((t) => t.tool.name),
    ['createCategory', 'getCategory', 'listItems', 'getReport', 'plantTree'],
  );
  assert.deepEqual(skipped, [
    { operation: 'POST /imports (importCatalog)', reason: 'request body multipart/form-data is not supported (only JSON bodies are)' },
    { operation: 'GET /external (getExternal)', reason: 'remote $ref refused: https://example.com/schemas/thing.json' },
  ]);
  const listItems = byName(tools, 'listItems');
  assert.deepEqual(listItems.inputSchema, {
    type: 'object',
    properties: {
      categoryId: { type: 'integer' },
      page: { type: 'integer', minimum: 1, default: 1 },
      filter: { type: 'object', properties: { color: { type: 'string' }, size: { type: 'string' } } },
      fields: { type: 'array', items: { type: 'string' } },
    },
    additionalProperties: false,
    required: ['categoryId'],
  });
  assert.deepEqual(listItems.outputSchema, {
    type: 'object',
    required: ['items'],
    properties: {
      items: { type: 'array', items: { type: 'object', required: ['sku'], properties: { sku: { type: 'string' }, price: { type: 'number' } } } },
      next: { type: ['string', 'null'] },
    },
  });
  // A 3.1 $ref with a sibling description; a +json media type counts as JSON.
  const getReport = byName(tools, 'getReport');
  assert.deepEqual(getReport.inputSchema.properties, { reportId: { type: 'string', pattern: '^r-[0-9]+$', description: 'The report to fetch.' } });
  assert.deepEqual(getReport.outputSchema, { type: 'object', properties: { id: { type: 'string', pattern: '^r-[0-9]+$' }, rows: { type: 'integer' } } });
  // default (an error answer) beside 200 does not count as a success shape.
  assert.equal(byName(tools, 'getCategory').outputSchema?.type, 'object');
});

test('a recursive schema is cut where it recurs: Category.children holds a stub, not another Category', () => {
  const { tools } = generateTools(catalog);
  const body = (byName(tools, 'createCategory').inputSchema.properties as Record<string, Record<string, unknown>>).body;
  assert.deepEqual(body, {
    type: 'object',
    required: ['name'],
    properties: {
      name: { type: 'string' },
      description: { type: ['string', 'null'] },
      children: { type: 'array', items: { type: 'object', description: 'Recursive Category (not expanded again here).' } },
    },
  });
});

/** Schema objects in a JSON value. */
function countSchemas(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + countSchemas(v), 0);
  if (value === null || typeof value !== 'object') return 0;
  return 1 + Object.values(value).reduce((n: number, v) => n + countSchemas(v), 0);
}

test('a schema whose $refs fan out is cut at the node budget, not expanded to 2^10 leaves', () => {
  const full = generateTools(catalog, { limits: { maxDepth: 32, maxNodes: 100_000 } });
  const fullSize = countSchemas(byName(full.tools, 'plantTree').inputSchema);
  assert.ok(fullSize > 3000, `unbounded it is large (${fullSize})`);
  const bounded = generateTools(catalog, { limits: { maxDepth: 32, maxNodes: 200 } });
  const schema = byName(bounded.tools, 'plantTree').inputSchema;
  // Each $ref expansion can finish the object it is in: the budget plus one object per level at most.
  assert.ok(countSchemas(schema) < 2 * 200 + 40, `bounded (${countSchemas(schema)})`);
  assert.match(JSON.stringify(schema), /L\d+ \(not expanded: schema size limit\)/);
  const shallow = generateTools(catalog, { limits: { maxDepth: 3, maxNodes: 100_000 } });
  assert.match(JSON.stringify(byName(shallow.tools, 'plantTree').inputSchema), /L3 \(not expanded: schema size limit\)/);
});

test('include and exclude by tag, path glob and operationId', () => {
  const names = (options: Parameters<typeof generateTools>[1]) => generateTools(petstore, options).tools.map((t) => t.tool.name);
  assert.deepEqual(names({ include: { tags: ['store'] } }), ['get_store_inventory', 'store.orders_replace', 'store.orders_replace_2']);
  assert.deepEqual(names({ include: { paths: ['/pets/*'] } }), ['getPet', 'deletePet'], '* is one segment');
  assert.deepEqual(names({ include: { paths: ['/pets/**'] } }), ['getPet', 'deletePet'], 'the others under /pets/ are skipped');
  assert.deepEqual(names({ include: { operations: ['getPet', 'echoHeaders'], paths: ['/store/inventory'] } }), ['getPet', 'get_store_inventory', 'echoHeaders']);
  assert.deepEqual(names({ include: { tags: ['pets'] }, exclude: { operations: ['deletePet'] } }), ['listPets', 'createPet', 'getPet']);
  assert.deepEqual(names({ exclude: { tags: ['admin', 'pets'] } }), ['get_store_inventory', 'store.orders_replace', 'store.orders_replace_2']);
  // Operations filtered out by the config are not "skipped".
  assert.deepEqual(generateTools(petstore, { include: { tags: ['store'] } }).skipped, []);
  assert.deepEqual(generateTools(petstore, { include: { paths: ['/pets/**'] } }).skipped.length, 3);
});

test('prefix and length: names stay within the bound and unique after truncation', () => {
  assert.equal(generateTools(petstore, { tool_prefix: 'pets_' }).tools[0].tool.name, 'pets_listPets');
  const long = 'a'.repeat(200);
  const doc = {
    openapi: '3.1.0',
    info: { title: 't', version: '1' },
    paths: {
      '/one': { get: { operationId: long, responses: { '200': { description: 'ok' } } } },
      '/two': { get: { operationId: `${long}b`, responses: { '200': { description: 'ok' } } } },
      '/': { get: { operationId: '¿¡!', responses: { '200': { description: 'ok' } } } },
      '/v2/users/{userId}/pets:batch': { post: { responses: { '200': { description: 'ok' } } } },
    },
  };
  const names = generateTools(doc, { tool_prefix: 'x-', maxNameLength: 100 }).tools.map((t) => t.tool.name);
  assert.deepEqual(names, [`x-${'a'.repeat(98)}`, `x-${'a'.repeat(96)}_2`, 'x-get', 'x-post_v2_users_userId_pets_batch']);
  for (const name of names) assert.ok(name.length <= 100 && toolNamePattern.test(name), name);
});

test('OpenAPI 3.0 schema dialect becomes JSON Schema; extensions and OpenAPI-only keywords go; data is not searched for $refs', () => {
  const doc = {
    openapi: '3.0.3',
    info: { title: 't', version: '1' },
    paths: {
      '/things': {
        post: {
          operationId: 'makeThing',
          requestBody: {
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  'x-internal': true,
                  discriminator: { propertyName: 'kind' },
                  properties: {
                    size: { type: 'number', minimum: 0, exclusiveMinimum: true, maximum: 10, exclusiveMaximum: false, example: 5 },
                    kind: { type: 'string', enum: ['a', 'b'], nullable: true, default: 'a' },
                    meta: { type: 'object', default: { $ref: '#/not/a/schema' } },
                    secret: { type: 'string', writeOnly: true },
                  },
                },
              },
            },
          },
          responses: { '204': { description: 'made' } },
        },
      },
    },
  };
  const body = (generateTools(doc).tools[0].tool.inputSchema.properties as Record<string, unknown>).body;
  assert.deepEqual(body, {
    type: 'object',
    properties: {
      size: { type: 'number', exclusiveMinimum: 0, maximum: 10, examples: [5] },
      kind: { type: ['string', 'null'], enum: ['a', 'b', null], default: 'a' },
      meta: { type: 'object', default: { $ref: '#/not/a/schema' } },
      secret: { type: 'string', writeOnly: true },
    },
  });
});

test('parameter clashes and unsupported parameters skip the operation with a reason', () => {
  const op = (parameters: unknown[], requestBody?: unknown) => ({
    openapi: '3.1.0',
    info: { title: 't', version: '1' },
    paths: { '/a/{id}': { get: { operationId: 'op', parameters, requestBody, responses: { '200': { description: 'ok' } } } } },
  });
  const reason = (doc: Record<string, unknown>) => generateTools(doc).skipped[0]?.reason;
  const id = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
  assert.match(reason(op([id, { name: 'id', in: 'query', schema: { type: 'string' } }])) ?? '', /'id' is used twice/);
  assert.match(reason(op([id, { name: 'body', in: 'query' }], { content: { 'application/json': { schema: {} } } })) ?? '', /named 'body'/);
  assert.match(reason(op([{ ...id, style: 'matrix' }])) ?? '', /style matrix/);
  assert.match(reason(op([id, { name: 'q', in: 'query', content: { 'application/json': {} } }])) ?? '', /uses content/);
  assert.match(reason(op([id, { $ref: '#/components/parameters/Missing' }])) ?? '', /unresolvable \$ref/);
  // Authorization as a parameter is ignored (OpenAPI says so), an optional cookie dropped: both still callable.
  const kept = generateTools(op([id, { name: 'Authorization', in: 'header' }, { name: 'c', in: 'cookie' }]));
  assert.deepEqual(Object.keys(kept.tools[0].tool.inputSchema.properties as object), ['id']);
  // The reserved headers given by the loader (the credential's, the configured ones) are not arguments either.
  const reserved = generateTools(op([id, { name: 'X-Tenant', in: 'header' }]), { reservedHeaders: ['x-tenant'] });
  assert.deepEqual(Object.keys(reserved.tools[0].tool.inputSchema.properties as object), ['id']);
});

test('outputSchema only when every success answer is the same JSON object schema', () => {
  const pet = { type: 'object', properties: { id: { type: 'integer' } } };
  const withResponses = (responses: Record<string, unknown>) =>
    generateTools({ openapi: '3.1.0', info: { title: 't', version: '1' }, paths: { '/p': { get: { operationId: 'p', responses } } } }).tools[0].tool.outputSchema;
  const json = (schema: unknown) => ({ description: 'x', content: { 'application/json': { schema } } });
  assert.deepEqual(withResponses({ '200': json(pet), '404': json({ type: 'string' }) }), pet);
  assert.deepEqual(withResponses({ '200': json(pet), '201': json(pet) }), pet);
  assert.equal(withResponses({ '200': json(pet), '204': { description: 'none' } }), undefined);
  assert.equal(withResponses({ '200': json(pet), '2XX': json({ type: 'object' }) }), undefined);
  assert.equal(withResponses({ '200': json({ type: 'array', items: pet }) }), undefined);
  assert.equal(withResponses({ '200': json({ ...pet, nullable: true }) }), undefined);
  assert.equal(withResponses({ '200': { description: 'x', content: { 'text/plain': { schema: { type: 'string' } } } } }), undefined);
  assert.equal(generateTools(petstore, { outputSchemas: false }).tools.some((t) => t.tool.outputSchema), false);
});
