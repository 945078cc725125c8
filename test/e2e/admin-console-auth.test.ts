// The admin console's credentials on a real gateway: log in, use the cookie, a CSRF-protected write,
// read-only tokens refused, the listeners kept apart.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { expectErrorShape, startStack, type Stack } from '../helpers/stack.js';

const opsToken = 'ops-admin-token-e2e-0123456789';
const viewerToken = 'viewer-admin-token-e2e-0123456789';

let stack: Stack;
let admin: string;

before(async () => {
  stack = await startStack({
    threads: 1,
    config: {
      admin: {
        host: '127.0.0.1',
        port: 0,
        tokens: [
          { name: 'ops', token: opsToken },
          { name: 'viewer', token: viewerToken, read_only: true },
        ],
      },
    },
  });
  admin = `http://127.0.0.1:${stack.gateway.adminPort}`;
});

after(async () => {
  await stack?.stop();
});

const jsonHeaders = { 'content-type': 'application/json' };

async function login(token: string): Promise<{ cookie: string; csrf: string; body: Record<string, unknown> }> {
  const res = await fetch(`${admin}/admin/session`, { method: 'POST', headers: jsonHeaders, body: JSON.stringify({ token }) });
  assert.equal(res.status, 200);
  const body = (await res.json()) as Record<string, unknown>;
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0];
  assert.match(cookie, /^sy_admin=.+/);
  return { cookie, csrf: String(body.csrf_token), body };
}

test('login → cookie → a CSRF-protected write creates a key; without the CSRF token nothing is created', async () => {
  const { cookie, csrf, body } = await login(opsToken);
  assert.equal(body.name, 'ops');
  assert.equal(body.read_only, false);

  const list = async () => {
    const res = await fetch(`${admin}/admin/keys`, { headers: { cookie } });
    assert.equal(res.status, 200);
    return ((await res.json()) as { data: Array<{ name: string }> }).data.map((k) => k.name);
  };
  const before = await list();

  const refused = await fetch(`${admin}/admin/keys`, { method: 'POST', headers: { ...jsonHeaders, cookie }, body: JSON.stringify({ name: 'via-cookie-no-csrf' }) });
  assert.equal(refused.status, 403);
  assert.equal(expectErrorShape(await refused.json()).error.code, 'csrf_token_invalid');
  assert.deepEqual(await list(), before);

  const created = await fetch(`${admin}/admin/keys`, { method: 'POST', headers: { ...jsonHeaders, cookie, 'x-csrf-token': csrf }, body: JSON.stringify({ name: 'via-cookie' }) });
  assert.equal(created.status, 201);
  assert.ok((await list()).includes('via-cookie'));

  // The main token from start (RunningGateway.adminToken) still works as a bearer, with no CSRF token.
  const bearer = await fetch(`${admin}/admin/keys`, { method: 'POST', headers: { ...jsonHeaders, authorization: `Bearer ${stack.gateway.adminToken}` }, body: JSON.stringify({ name: 'via-bearer' }) });
  assert.equal(bearer.status, 201);

  const out = await fetch(`${admin}/admin/session`, { method: 'DELETE', headers: { cookie, 'x-csrf-token': csrf } });
  assert.equal(out.status, 204);
  assert.equal((await fetch(`${admin}/admin/keys`, { headers: { cookie } })).status, 401);
});

test('a read-only token reads but cannot write, as a bearer and through a session', async () => {
  const auth = { authorization: `Bearer ${viewerToken}` };
  assert.equal((await fetch(`${admin}/admin/keys`, { headers: auth })).status, 200);
  assert.equal((await fetch(`${admin}/admin/deployments`, { headers: auth })).status, 200);
  const refused = await fetch(`${admin}/admin/keys`, { method: 'POST', headers: { ...jsonHeaders, ...auth }, body: JSON.stringify({ name: 'by-viewer' }) });
  assert.equal(refused.status, 403);
  const error = expectErrorShape(await refused.json()).error;
  assert.equal(error.code, 'read_only_token');
  assert.equal(error.type, 'permission_error');

  const { cookie, csrf, body } = await login(viewerToken);
  assert.equal(body.read_only, true);
  const viaSession = await fetch(`${admin}/admin/keys`, { method: 'POST', headers: { ...jsonHeaders, cookie, 'x-csrf-token': csrf }, body: JSON.stringify({ name: 'by-viewer' }) });
  assert.equal(viaSession.status, 403);
  assert.equal(expectErrorShape(await viaSession.json()).error.code, 'read_only_token');
  const names = ((await (await fetch(`${admin}/admin/keys`, { headers: auth })).json()) as { data: Array<{ name: string }> }).data.map((k) => k.name);
  assert.ok(!names.includes('by-viewer'));
});

test('wrong tokens are refused and never echoed; the console lives on the admin listener only', async () => {
  const wrong = await fetch(`${admin}/admin/session`, { method: 'POST', headers: jsonHeaders, body: JSON.stringify({ token: 'not-a-real-admin-token' }) });
  assert.equal(wrong.status, 401);
  const text = await wrong.text();
  assert.ok(!text.includes('not-a-real-admin-token'));
  assert.equal(expectErrorShape(JSON.parse(text)).error.code, 'invalid_admin_token');

  assert.equal((await fetch(`${admin}/admin/stats`)).status, 401);
  assert.equal((await fetch(`${admin}/admin/playground/models`)).status, 401);

  const redirect = await fetch(`${admin}/`, { redirect: 'manual' });
  assert.equal(redirect.status, 302);
  assert.equal(redirect.headers.get('location'), '/ui/');

  // The public listener serves the API, not the console.
  const publicOrigin = `http://127.0.0.1:${stack.gateway.port}`;
  for (const path of ['/admin/session', '/ui/', '/admin/stats']) {
    const res = await fetch(`${publicOrigin}${path}`, { method: path === '/admin/session' ? 'POST' : 'GET', headers: jsonHeaders, body: path === '/admin/session' ? JSON.stringify({ token: opsToken }) : undefined });
    assert.ok(res.status === 404 || res.status === 401, `${path} on the public listener: ${res.status}`);
    assert.equal(res.headers.get('set-cookie'), null);
  }
});
