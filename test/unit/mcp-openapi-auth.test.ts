// The gateway's credential on OpenAPI tool calls, per auth type, seen by a real REST fixture; OAuth 2
// client credentials: one token for many calls, renewal before expiry and after a 401, token errors.
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Agent } from 'undici';
import type { OAuth2ClientCredentials } from '../../src/mcp/openapi/config.js';
import { ClientCredentialsToken } from '../../src/mcp/openapi/credentials.js';
import { createOpenApiSource, type OpenApiToolSource } from '../../src/mcp/openapi/index.js';
import type { ToolCallResult } from '../../src/mcp/tool-source.js';
import { setLogLevel } from '../../src/shared/log.js';
import { startRestFixture, type RestFixture } from '../helpers/rest-fixture.js';

setLogLevel('error');
const spec = fileURLToPath(new URL('../../../test/fixtures/mcp/petstore-3.0.yaml', import.meta.url));
let rest: RestFixture;
const opened: OpenApiToolSource[] = [];

before(async () => {
  rest = await startRestFixture();
});
after(async () => {
  for (const source of opened) await source.close();
  await rest.close();
});
beforeEach(() => rest.reset());

async function source(auth: Record<string, unknown> | undefined): Promise<OpenApiToolSource> {
  const created = await createOpenApiSource({ name: 'pets', spec, base_url: `${rest.origin}/v1`, ...(auth ? { auth } : {}) });
  opened.push(created.source);
  return created.source;
}

function oauth(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'oauth2_client_credentials', token_url: `${rest.origin}/oauth/token`, client_id: rest.clientId, client_secret: rest.clientSecret, ...extra };
}

function text(result: ToolCallResult): string {
  return (result.content[0] as { text: string }).text;
}

test('static credentials: header, bearer and basic reach the API as configured; no auth sends none', async () => {
  await (await source({ type: 'header', name: 'X-Api-Key', value: 'static-key-123456' })).callTool('getPet', { petId: '1' });
  await (await source({ type: 'bearer', token: 'bearer-token-123456' })).callTool('getPet', { petId: '1' });
  await (await source({ type: 'basic', username: 'svc user', password: 'pä:ss' })).callTool('getPet', { petId: '1' });
  await (await source(undefined)).callTool('getPet', { petId: '1' });
  const [header, bearer, basic, none] = rest.requests;
  assert.equal(header.headers['x-api-key'], 'static-key-123456');
  assert.equal(header.headers.authorization, undefined);
  assert.equal(bearer.headers.authorization, 'Bearer bearer-token-123456');
  assert.equal(basic.headers.authorization, `Basic ${Buffer.from('svc user:pä:ss', 'utf8').toString('base64')}`);
  assert.equal(none.headers.authorization, undefined);
  assert.equal(none.headers['x-api-key'], undefined);
});

test('a static credential refused (401) is an error result; it is not retried', async () => {
  rest.requireToken = true;
  const result = await (await source({ type: 'bearer', token: 'not-a-live-token' })).callTool('getPet', { petId: '1' });
  assert.equal(result.isError, true);
  assert.match(text(result), /^HTTP 401 Unauthorized: \{"error":"invalid_token"\}/);
  assert.equal(rest.requests.length, 1);
});

test('OAuth 2 client credentials (client_secret_basic): one token request serves many calls, concurrent ones too', async () => {
  rest.requireToken = true;
  const pets = await source(oauth({ scope: 'pets.read pets.write', audience: 'https://pets.example' }));
  const results = await Promise.all([1, 2, 3, 4, 5].map(() => pets.callTool('getPet', { petId: '1' })));
  for (const result of [...results, await pets.callTool('listPets', {})]) assert.equal(result.isError, undefined, text(result));
  assert.equal(rest.tokenRequests.length, 1);
  const [tokenRequest] = rest.tokenRequests;
  assert.equal(tokenRequest.method, 'POST');
  assert.equal(tokenRequest.headers['content-type'], 'application/x-www-form-urlencoded');
  assert.equal(tokenRequest.headers.authorization, `Basic ${Buffer.from(`${rest.clientId}:${rest.clientSecret}`).toString('base64')}`);
  assert.deepEqual(Object.fromEntries(new URLSearchParams(tokenRequest.body)), { grant_type: 'client_credentials', scope: 'pets.read pets.write', audience: 'https://pets.example' });
  const tokens = new Set(rest.requests.map((r) => r.headers.authorization));
  assert.equal(rest.requests.length, 6);
  assert.deepEqual([...tokens], [`Bearer tok-1-${'0123456789abcdef'.repeat(2)}`]);
});

test('OAuth 2 client_secret_post: the client id and secret travel in the form body, not in a header', async () => {
  await (await source(oauth({ client_auth: 'post' }))).callTool('getPet', { petId: '1' });
  const [tokenRequest] = rest.tokenRequests;
  assert.equal(tokenRequest.headers.authorization, undefined);
  assert.deepEqual(Object.fromEntries(new URLSearchParams(tokenRequest.body)), { grant_type: 'client_credentials', client_id: rest.clientId, client_secret: rest.clientSecret });
  assert.match(rest.requests[0].headers.authorization ?? '', /^Bearer tok-1-/);
});

test('a 401 from the API renews the token once and retries the call once', async () => {
  rest.requireToken = true;
  const pets = await source(oauth());
  assert.equal((await pets.callTool('getPet', { petId: '1' })).isError, undefined);
  rest.invalidateTokens();
  const result = await pets.callTool('getPet', { petId: '1' });
  assert.equal(result.isError, undefined, text(result));
  assert.deepEqual(result.structuredContent, { id: 1, name: 'Rex', tag: null, status: 'available' });
  assert.equal(rest.tokenRequests.length, 2);
  assert.deepEqual(
    rest.requests.map((r) => r.headers.authorization?.slice(0, 'Bearer tok-1'.length)),
    ['Bearer tok-1', 'Bearer tok-1', 'Bearer tok-2'],
  );
  // The next call uses the renewed token without asking again.
  await pets.callTool('getPet', { petId: '1' });
  assert.equal(rest.tokenRequests.length, 2);
});

test('an expiring token is renewed before the API would refuse it: no call meets a 401', async () => {
  rest.requireToken = true;
  rest.tokenLifetimeS = 1;
  const pets = await source(oauth());
  assert.equal((await pets.callTool('getPet', { petId: '1' })).isError, undefined);
  await new Promise((resolve) => setTimeout(resolve, 1100));
  assert.equal((await pets.callTool('getPet', { petId: '1' })).isError, undefined);
  assert.equal(rest.tokenRequests.length, 2);
  assert.equal(rest.requests.length, 2, 'no refused call, no retry');
});

test('a token endpoint that refuses the client is an error result; the API is never called', async () => {
  const result = await (await source(oauth({ client_secret: 'wrong-secret-123' }))).callTool('getPet', { petId: '1' });
  assert.equal(result.isError, true);
  assert.match(text(result), /^Could not authenticate to the API: token endpoint http:\/\/127\.0\.0\.1:\d+\/oauth\/token answered HTTP 401: \{"error":"invalid_client"\}/);
  assert.equal(rest.requests.length, 0);
});

test('the OAuth token and client secret are redacted from what the API echoes', async () => {
  const result = await (await source(oauth())).callTool('echoHeaders', {});
  assert.match(rest.requests[0].headers.authorization ?? '', /^Bearer tok-1-/);
  assert.equal(JSON.parse(text(result)).authorization, 'Bearer [REDACTED]');
});

test('a cached token is renewed shortly before it expires: a tenth of its lifetime early, at most a minute', async () => {
  const agent = new Agent();
  let clock = 1_000_000;
  const config: OAuth2ClientCredentials = { type: 'oauth2_client_credentials', token_url: `${rest.origin}/oauth/token`, client_id: rest.clientId, client_secret: rest.clientSecret, client_auth: 'basic' };
  try {
    rest.tokenLifetimeS = 100;
    const short = new ClientCredentialsToken(config, agent, 5000, () => clock);
    const first = await short.headers();
    clock += 89_000;
    assert.deepEqual(await short.headers(), first, 'reused at 89 s of 100');
    clock += 2_000;
    assert.notDeepEqual(await short.headers(), first, 'renewed at 91 s of 100');
    assert.equal(short.fetches, 2);

    rest.tokenLifetimeS = 3600;
    const long = new ClientCredentialsToken(config, agent, 5000, () => clock);
    await long.headers();
    clock += 3539_000;
    await long.headers();
    assert.equal(long.fetches, 1, 'reused a minute before expiry');
    clock += 2_000;
    await long.headers();
    assert.equal(long.fetches, 2);

    rest.tokenLifetimeS = undefined;
    const unknown = new ClientCredentialsToken(config, agent, 5000, () => clock);
    await unknown.headers();
    clock += 269_000;
    await unknown.headers();
    assert.equal(unknown.fetches, 1, 'no expires_in: kept 300 s less the margin');
    clock += 2_000;
    await unknown.headers();
    assert.equal(unknown.fetches, 2);
  } finally {
    await agent.close();
  }
});
