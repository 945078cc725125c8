// Loading an OpenAPI source: the config entry's schema and defaults, reading a spec from a file or a URL,
// and the specs that are refused (Swagger 2, invalid, fan-out bombs, redirects, no base URL).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { Agent } from 'undici';
import { createOpenApiSource, OpenApiLoadError, openApiSourceSchema, parseOpenApiSourceConfig } from '../../src/mcp/openapi/index.js';
import { loadSpec } from '../../src/mcp/openapi/load.js';
import { setLogLevel } from '../../src/shared/log.js';
import { startRestFixture, type RestFixture } from '../helpers/rest-fixture.js';

setLogLevel('error');
const fixtures = fileURLToPath(new URL('../../../test/fixtures/mcp/', import.meta.url));
const petstorePath = `${fixtures}petstore-3.0.yaml`;
const catalogPath = `${fixtures}catalog-3.1.json`;
let rest: RestFixture;
let dir: string;
const agent = new Agent();

before(async () => {
  rest = await startRestFixture();
  rest.files.set('/specs/petstore.yaml', readFileSync(petstorePath, 'utf8'));
  dir = mkdtempSync(join(tmpdir(), 'mcp-openapi-'));
});
after(async () => {
  await rest.close();
  await agent.close();
  rmSync(dir, { recursive: true, force: true });
});

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof OpenApiLoadError, String(err));
    return err.problems;
  }
  assert.fail('expected an OpenApiLoadError');
}

async function loadProblems(config: Record<string, unknown>): Promise<string[]> {
  try {
    const { source } = await createOpenApiSource(config);
    await source.close();
  } catch (err) {
    assert.ok(err instanceof OpenApiLoadError, String(err));
    return err.problems;
  }
  assert.fail('expected an OpenApiLoadError');
}

function writeSpec(name: string, doc: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(doc));
  return path;
}

test('config: defaults filled, the schema usable by the gateway config loader (draft-07 Ajv, useDefaults)', () => {
  const validate = new Ajv({ allErrors: true, useDefaults: true, strict: false }).compile(openApiSourceSchema);
  const entry: Record<string, unknown> = { name: 'pets', spec: 'x.yaml', auth: { type: 'oauth2_client_credentials', token_url: 'https://id.example/token', client_id: 'a', client_secret: 'b' } };
  assert.equal(validate(entry), true, JSON.stringify(validate.errors));
  assert.equal(entry.timeout_ms, 30000);
  assert.equal(entry.max_response_bytes, 1048576);
  assert.deepEqual(entry.headers, {});
  assert.equal(entry.output_schema, true);
  const config = parseOpenApiSourceConfig({ name: 'pets', spec: 'x.yaml', auth: { type: 'oauth2_client_credentials', token_url: 'https://id.example/token', client_id: 'a', client_secret: 'b' } });
  assert.equal(config.auth?.type === 'oauth2_client_credentials' && config.auth.client_auth, 'basic');
});

test('config: each problem is named with its path', () => {
  const problems = (entry: Record<string, unknown>) => problemsOf(() => parseOpenApiSourceConfig(entry, {})).join('\n');
  assert.match(problems({ name: 'a b', spec: 'x' }), /name: must match pattern/);
  assert.match(problems({ name: 'a' }), /spec|exactly one/);
  assert.match(problems({ name: 'a', spec: 'x', spec_url: 'https://h/x' }), /exactly one|oneOf/);
  assert.match(problems({ name: 'a', spec: 'x', auth: { type: 'bearer' } }), /auth: must have required property 'token'/);
  assert.match(problems({ name: 'a', spec: 'x', auth: { type: 'header', name: 'X-Key', value: 'v', token: 't' } }), /auth: property name must be valid/);
  assert.match(problems({ name: 'a', spec: 'x', auth: { type: 'kerberos' } }), /auth.type: must be equal to one of the allowed values/);
  assert.match(problems({ name: 'a', spec: 'x', timeout_ms: 0 }), /timeout_ms: must be >= 1/);
  assert.match(problems({ name: 'a', spec: 'x', base_url: 'ftp://h' }), /base_url: must match pattern/);
  assert.match(problems({ name: 'a', spec: 'x', headers: { Host: 'evil' } }), /headers: 'Host' cannot be configured/);
  assert.match(problems({ name: 'a', spec: 'x', surprise: 1 }), /must NOT have additional properties 'surprise'/);
});

test('config: ${ENV} references are resolved at load; an unset one is refused', () => {
  const config = parseOpenApiSourceConfig({ name: 'a', spec: 'x', auth: { type: 'bearer', token: '${PETS_TOKEN}' }, headers: { 'X-Env': 'v-${STAGE:-dev}' } }, { PETS_TOKEN: 'tok-from-env' });
  assert.deepEqual(config.auth, { type: 'bearer', token: 'tok-from-env' });
  assert.deepEqual(config.headers, { 'X-Env': 'v-dev' });
  assert.match(problemsOf(() => parseOpenApiSourceConfig({ name: 'a', spec: 'x', auth: { type: 'bearer', token: '${NOPE_UNSET}' } }, {})).join(), /NOPE_UNSET is not set/);
});

test('a spec from a file: YAML 3.0 and JSON 3.1; the base URL from servers[0] with its variables at their defaults', async () => {
  const yaml = await loadSpec(parseOpenApiSourceConfig({ name: 'p', spec: petstorePath }), agent);
  assert.equal(yaml.baseUrl.href, 'http://127.0.0.1:9/v1');
  const json = await loadSpec(parseOpenApiSourceConfig({ name: 'c', spec: catalogPath }), agent);
  assert.equal(json.baseUrl.href, 'http://127.0.0.1:9/v1');
  assert.equal(json.document.openapi, '3.1.0');
  const overridden = await loadSpec(parseOpenApiSourceConfig({ name: 'c', spec: catalogPath, base_url: 'https://api.example.com/v2/' }), agent);
  assert.equal(overridden.baseUrl.href, 'https://api.example.com/v2/');
});

test('a spec from spec_url is fetched once at load; a redirect is refused, not followed', async () => {
  const { source } = await createOpenApiSource({ name: 'remote', spec_url: `${rest.origin}/specs/petstore.yaml`, base_url: `${rest.origin}/v1` });
  assert.equal((await source.listTools()).length, 12);
  await source.close();
  const problems = await loadProblems({ name: 'moved', spec_url: `${rest.origin}/specs/moved` });
  assert.match(problems.join(), /redirects \(HTTP 302\); redirects are not followed/);
  assert.match((await loadProblems({ name: 'gone', spec_url: `${rest.origin}/specs/absent.yaml` })).join(), /HTTP 404/);
});

test('refused specs: unreadable, not JSON or YAML, Swagger 2, other versions, invalid, no servers', async () => {
  assert.match((await loadProblems({ name: 'a', spec: join(dir, 'absent.yaml') })).join(), /cannot read spec/);
  const garbage = join(dir, 'garbage.yaml');
  writeFileSync(garbage, 'a: [1, 2\n');
  assert.match((await loadProblems({ name: 'a', spec: garbage })).join(), /neither JSON nor YAML/);
  assert.match((await loadProblems({ name: 'a', spec: writeSpec('sw.json', { swagger: '2.0', info: { title: 't', version: '1' }, paths: {} }) })).join(), /Swagger 2.0 is not supported/);
  assert.match((await loadProblems({ name: 'a', spec: writeSpec('v4.json', { openapi: '4.0.0', info: { title: 't', version: '1' }, paths: {} }) })).join(), /openapi version "4.0.0" is not supported/);
  const invalid = writeSpec('invalid.json', { openapi: '3.0.3', info: { title: 't' }, paths: {} });
  assert.match((await loadProblems({ name: 'a', spec: invalid, base_url: 'http://h' })).join(), /invalid spec: .*version/s);
  const brokenRef = writeSpec('ref.json', {
    openapi: '3.1.0',
    info: { title: 't', version: '1' },
    paths: { '/a': { get: { responses: { '200': { $ref: '#/components/responses/Missing' } } } } },
  });
  assert.match((await loadProblems({ name: 'a', spec: brokenRef, base_url: 'http://h' })).join(), /invalid spec/);
  const paths = { '/a': { get: { responses: { '200': { description: 'ok' } } } } };
  const serverless = writeSpec('noservers.json', { openapi: '3.1.0', info: { title: 't', version: '1' }, paths });
  assert.match((await loadProblems({ name: 'a', spec: serverless })).join(), /no servers; set base_url/);
  const relative = writeSpec('relative.json', { openapi: '3.1.0', info: { title: 't', version: '1' }, servers: [{ url: '/v1' }], paths });
  assert.match((await loadProblems({ name: 'a', spec: relative })).join(), /not an absolute URL/);
  assert.match((await loadProblems({ name: 'a', spec: serverless, base_url: 'http://user:pw@h/v1' })).join(), /must not carry credentials/);
});

test('a spec whose $refs fan out exponentially is refused at once, before the validator expands it', async () => {
  const schemas: Record<string, unknown> = {};
  for (let i = 0; i < 40; i++) {
    const next = i < 39 ? { $ref: `#/components/schemas/B${i + 1}` } : { type: 'string' };
    schemas[`B${i}`] = { type: 'object', properties: { a: next, b: next } };
  }
  const bomb = writeSpec('bomb.json', {
    openapi: '3.1.0',
    info: { title: 't', version: '1' },
    paths: { '/b': { post: { requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/B0' } } } }, responses: { '204': { description: 'ok' } } } } },
    components: { schemas },
  });
  const started = Date.now();
  assert.match((await loadProblems({ name: 'bomb', spec: bomb, base_url: 'http://h' })).join(), /expand to more than 1000000 values; refused/);
  assert.ok(Date.now() - started < 10_000, 'refused without expanding 2^40 nodes');
});

test('the skipped report comes back from createOpenApiSource', async () => {
  const { source, skipped } = await createOpenApiSource({ name: 'cat', spec: catalogPath, base_url: `${rest.origin}/v1` });
  assert.deepEqual(
    skipped.map((s) => s.operation),
    ['POST /imports (importCatalog)', 'GET /external (getExternal)'],
  );
  assert.equal(source.name, 'cat');
  await source.close();
});
