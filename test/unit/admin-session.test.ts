// Admin credentials and sessions on a real admin listener: bearer and named tokens, read-only refusals,
// login cookie, CSRF, logout, expiry, token removal, and the streaming route form.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdminServer } from '../../src/server/admin.js';
import { SessionStore } from '../../src/admin/console/sessions.js';
import { AdminCredentials } from '../../src/admin/console/credentials.js';
import type { AdminActor } from '../../src/pipeline/stage.js';
import type { AdminTokenSource } from '../../src/admin/console/credentials.js';

const mainToken = 'main-admin-token-0123456789';
const opsToken = 'ops-token-0123456789abcdef';
const viewerToken = 'viewer-token-0123456789abc';

interface Server {
  url: string;
  admin: AdminServer;
  seen: AdminActor[];
  tokens: { current: AdminTokenSource };
  close(): void;
}

async function startServer(): Promise<Server> {
  const admin = new AdminServer(mainToken, () => true);
  const tokens = {
    current: {
      tokens: [
        { name: 'ops', token: opsToken, read_only: false },
        { name: 'viewer', token: viewerToken, read_only: true },
      ],
    } as AdminTokenSource,
  };
  admin.useTokens(() => tokens.current);
  const seen: AdminActor[] = [];
  admin.add({ method: 'GET', path: '/admin/thing', handle: (req) => (seen.push(req.actor), { status: 200, body: { actor: req.actor } }) });
  admin.add({ method: 'POST', path: '/admin/thing', handle: (req) => (seen.push(req.actor), { status: 201, body: { actor: req.actor, got: req.body } }) });
  admin.add({
    method: 'POST',
    path: '/admin/streamed',
    handle: () => ({ status: 500, body: 'not the streaming form' }),
    stream(req, reply) {
      const body = req.body as { fail?: boolean; parts?: number };
      if (body?.fail) throw new Error('boom before the answer began');
      reply.start(200, [['content-type', 'text/plain']]);
      for (let i = 0; i < (body?.parts ?? 3); i++) reply.write(`part ${i}\n`);
      reply.end();
    },
  });
  const port = await admin.listen('127.0.0.1', 0);
  return { url: `http://127.0.0.1:${port}`, admin, seen, tokens, close: () => admin.close() };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function json(res: Response): Promise<Record<string, any>> {
  return (await res.json()) as Record<string, any>;
}

async function login(s: Server, token: string, headers: Record<string, string> = {}): Promise<{ cookie: string; setCookie: string; body: Record<string, any> }> {
  const res = await fetch(`${s.url}/admin/session`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ token }) });
  assert.equal(res.status, 200);
  const setCookie = res.headers.get('set-cookie') ?? '';
  const cookie = setCookie.split(';')[0];
  return { cookie, setCookie, body: await json(res) };
}

test('bearer credentials: the main token and named tokens name the actor; a wrong or missing one is a 401', async () => {
  const s = await startServer();
  try {
    const main = await json(await fetch(`${s.url}/admin/thing`, { headers: bearer(mainToken) }));
    assert.deepEqual(main.actor, { name: 'admin', readOnly: false });
    const ops = await fetch(`${s.url}/admin/thing`, { method: 'POST', headers: { ...bearer(opsToken), 'content-type': 'application/json' }, body: '{"x":1}' });
    assert.equal(ops.status, 201);
    assert.deepEqual((await json(ops)).actor, { name: 'ops', readOnly: false });
    const viewer = await json(await fetch(`${s.url}/admin/thing`, { headers: bearer(viewerToken) }));
    assert.deepEqual(viewer.actor, { name: 'viewer', readOnly: true });
    assert.equal(s.seen.length, 3);

    for (const headers of [{}, bearer('wrong-token-0123456789'), { authorization: 'Basic abc' }, bearer('')]) {
      const res = await fetch(`${s.url}/admin/thing`, { headers });
      assert.equal(res.status, 401);
      const body = await json(res);
      assert.equal(body.error.code, 'invalid_admin_token');
      assert.equal(body.error.type, 'authentication_error');
    }
    assert.equal(s.seen.length, 3, 'refused requests never reach the route');
  } finally {
    s.close();
  }
});

test('a read-only token may read but every write is refused with 403 read_only_token', async () => {
  const s = await startServer();
  try {
    assert.equal((await fetch(`${s.url}/admin/thing`, { headers: bearer(viewerToken) })).status, 200);
    const res = await fetch(`${s.url}/admin/thing`, { method: 'POST', headers: { ...bearer(viewerToken), 'content-type': 'application/json' }, body: '{}' });
    assert.equal(res.status, 403);
    const body = await json(res);
    assert.equal(body.error.code, 'read_only_token');
    assert.equal(body.error.type, 'permission_error');
    assert.equal(s.seen.length, 1);
  } finally {
    s.close();
  }
});

test('login: HttpOnly SameSite=Strict cookie, a CSRF token, no token in the answer; cookie writes need x-csrf-token', async () => {
  const s = await startServer();
  try {
    const { cookie, setCookie, body } = await login(s, opsToken);
    assert.match(setCookie, /^sy_admin=[A-Za-z0-9_-]{40,}; /);
    for (const attribute of ['HttpOnly', 'SameSite=Strict', 'Path=/', `Max-Age=${12 * 3600}`]) assert.ok(setCookie.split('; ').includes(attribute), `${attribute} in ${setCookie}`);
    assert.ok(!setCookie.includes('Secure'), 'no Secure over plain http');
    assert.equal(body.name, 'ops');
    assert.equal(body.read_only, false);
    assert.match(body.csrf_token, /^[A-Za-z0-9_-]{40,}$/);
    const expiresIn = Date.parse(body.expires_at) - Date.now();
    assert.ok(expiresIn > 59 * 60_000 && expiresIn <= 60 * 60_000, `idle expiry about an hour away, got ${expiresIn} ms`);
    assert.ok(!JSON.stringify(body).includes(opsToken) && !setCookie.includes(opsToken), 'the token is never echoed');

    // Reading with the cookie alone works and names the session's credential.
    const read = await json(await fetch(`${s.url}/admin/thing`, { headers: { cookie } }));
    assert.deepEqual(read.actor, { name: 'ops', readOnly: false });
    const again = await fetch(`${s.url}/admin/session`, { headers: { cookie } });
    assert.equal(again.status, 200);
    assert.equal((await json(again)).csrf_token, body.csrf_token, 'GET /admin/session hands back the same CSRF token');

    const post = (headers: Record<string, string>) =>
      fetch(`${s.url}/admin/thing`, { method: 'POST', headers: { cookie, 'content-type': 'application/json', ...headers }, body: '{"v":2}' });
    for (const headers of [{}, { 'x-csrf-token': 'wrong' }, { 'x-csrf-token': String(body.csrf_token).slice(1) }] as Array<Record<string, string>>) {
      const refused = await post(headers);
      assert.equal(refused.status, 403);
      assert.equal((await json(refused)).error.code, 'csrf_token_invalid');
    }
    const ok = await post({ 'x-csrf-token': body.csrf_token });
    assert.equal(ok.status, 201);
    assert.deepEqual((await json(ok)).got, { v: 2 });
  } finally {
    s.close();
  }
});

test('login failures: wrong token 401, missing token 400, non-object body 400; Secure behind https', async () => {
  const s = await startServer();
  try {
    const wrong = await fetch(`${s.url}/admin/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"token":"nope-nope-nope-nope"}' });
    assert.equal(wrong.status, 401);
    assert.equal((await json(wrong)).error.code, 'invalid_admin_token');
    assert.equal(wrong.headers.get('set-cookie'), null);
    const missing = await fetch(`${s.url}/admin/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(missing.status, 400);
    assert.equal((await json(missing)).error.param, 'token');
    const list = await fetch(`${s.url}/admin/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[1]' });
    assert.equal(list.status, 400);
    const noSession = await fetch(`${s.url}/admin/session`);
    assert.equal(noSession.status, 401);

    const { setCookie } = await login(s, mainToken, { 'x-forwarded-proto': 'https' });
    assert.ok(setCookie.split('; ').includes('Secure'), setCookie);
  } finally {
    s.close();
  }
});

test('a read-only session reads, and its writes are refused even with the CSRF token', async () => {
  const s = await startServer();
  try {
    const { cookie, body } = await login(s, viewerToken);
    assert.equal(body.read_only, true);
    assert.equal((await fetch(`${s.url}/admin/thing`, { headers: { cookie } })).status, 200);
    const res = await fetch(`${s.url}/admin/thing`, { method: 'POST', headers: { cookie, 'x-csrf-token': body.csrf_token, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(res.status, 403);
    assert.equal((await json(res)).error.code, 'read_only_token');
  } finally {
    s.close();
  }
});

test('logout needs the CSRF token, clears the cookie and ends the session', async () => {
  const s = await startServer();
  try {
    const { cookie, body } = await login(s, opsToken);
    const refused = await fetch(`${s.url}/admin/session`, { method: 'DELETE', headers: { cookie } });
    assert.equal(refused.status, 403);
    assert.equal((await fetch(`${s.url}/admin/thing`, { headers: { cookie } })).status, 200, 'still logged in');
    const out = await fetch(`${s.url}/admin/session`, { method: 'DELETE', headers: { cookie, 'x-csrf-token': body.csrf_token } });
    assert.equal(out.status, 204);
    assert.match(out.headers.get('set-cookie') ?? '', /^sy_admin=; .*Max-Age=0/);
    assert.equal((await fetch(`${s.url}/admin/thing`, { headers: { cookie } })).status, 401);
    assert.equal((await fetch(`${s.url}/admin/session`, { headers: { cookie } })).status, 401);
    // Logging out again (no session) still clears the cookie.
    assert.equal((await fetch(`${s.url}/admin/session`, { method: 'DELETE', headers: { cookie } })).status, 204);
  } finally {
    s.close();
  }
});

test('a token removed from the config (rotation) ends its sessions; a bearer header is not rescued by a cookie', async () => {
  const s = await startServer();
  try {
    const ops = await login(s, opsToken);
    const viewer = await login(s, viewerToken);
    s.tokens.current = { tokens: [{ name: 'viewer', token: viewerToken, read_only: true }, { name: 'ops2', token: 'ops-token-rotated-0123456789', read_only: false }] };
    assert.equal((await fetch(`${s.url}/admin/thing`, { headers: { cookie: ops.cookie } })).status, 401);
    assert.equal((await fetch(`${s.url}/admin/thing`, { headers: bearer(opsToken) })).status, 401);
    assert.equal((await fetch(`${s.url}/admin/thing`, { headers: bearer('ops-token-rotated-0123456789') })).status, 200);
    assert.equal((await fetch(`${s.url}/admin/thing`, { headers: { cookie: viewer.cookie } })).status, 200);
    assert.equal((await fetch(`${s.url}/admin/thing`, { headers: { cookie: viewer.cookie, ...bearer('wrong-0123456789abc') } })).status, 401);
    // admin.token in the config replaces the one resolved at start.
    s.tokens.current = { token: 'new-main-token-0123456789' };
    assert.equal((await fetch(`${s.url}/admin/thing`, { headers: bearer(mainToken) })).status, 401);
    assert.equal((await fetch(`${s.url}/admin/thing`, { headers: bearer('new-main-token-0123456789') })).status, 200);
  } finally {
    s.close();
  }
});

test('sessions expire after an idle hour and after 12 hours whatever the use', () => {
  let now = 1_000_000;
  const store = new SessionStore(undefined, () => now);
  const credential = { name: 'ops', readOnly: false, digest: Buffer.alloc(32) };
  const idle = store.create(credential);
  now += 59 * 60_000;
  assert.ok(store.get(idle.id), 'used within the hour');
  now += 59 * 60_000;
  assert.ok(store.get(idle.id), 'the idle clock restarted on use');
  now += 60 * 60_000;
  assert.equal(store.get(idle.id), undefined, 'an hour without use ends it');

  const busy = store.create(credential);
  const started = now;
  while (now - started < 12 * 60 * 60_000 - 30 * 60_000) {
    now += 30 * 60_000;
    assert.ok(store.get(busy.id), `alive at ${(now - started) / 3_600_000} h`);
  }
  now = started + 12 * 60 * 60_000;
  assert.equal(store.get(busy.id), undefined, 'never beyond 12 hours');
});

test('credentials match in constant time by digest and skip malformed entries', () => {
  const creds = AdminCredentials.build(mainToken, [
    { name: 'ops', token: opsToken, read_only: false },
    { name: 'broken', token: '', read_only: false },
    null as unknown as { name: string; token: string; read_only: boolean },
  ]);
  assert.equal(creds.match(mainToken)?.name, 'admin');
  assert.equal(creds.match(opsToken)?.name, 'ops');
  assert.equal(creds.match(''), undefined);
  assert.equal(creds.match('x'), undefined);
});

test('streaming route form: the route writes its own answer; a throw before it starts is an OpenAI-shaped 500', async () => {
  const s = await startServer();
  try {
    const res = await fetch(`${s.url}/admin/streamed`, { method: 'POST', headers: { ...bearer(mainToken), 'content-type': 'application/json' }, body: '{"parts":4}' });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'part 0\npart 1\npart 2\npart 3\n');
    const failed = await fetch(`${s.url}/admin/streamed`, { method: 'POST', headers: { ...bearer(mainToken), 'content-type': 'application/json' }, body: '{"fail":true}' });
    assert.equal(failed.status, 500);
    const body = await json(failed);
    assert.equal(typeof body.error.message, 'string');
    // Streaming routes are still behind the credential and the read-only rule.
    assert.equal((await fetch(`${s.url}/admin/streamed`, { method: 'POST', body: '{}' })).status, 401);
    assert.equal((await fetch(`${s.url}/admin/streamed`, { method: 'POST', headers: bearer(viewerToken), body: '{}' })).status, 403);
  } finally {
    s.close();
  }
});
