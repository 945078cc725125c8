// The Playground with `auth: keys`: the public listener accepts the process's Playground token, and
// with key_id the chat runs as that key (its allowed models); GET /admin/playground/models filters by key.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { expectErrorShape, startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
let admin: string;

before(async () => {
  stack = await startStack({ threads: 1, config: { auth: 'keys' } });
  admin = `http://127.0.0.1:${stack.gateway.adminPort}`;
});

after(async () => {
  await stack?.stop();
});

const headers = () => ({ authorization: `Bearer ${stack.gateway.adminToken}`, 'content-type': 'application/json' });

async function createKey(body: Record<string, unknown>): Promise<{ id: string; key: string }> {
  const res = await fetch(`${admin}/admin/keys`, { method: 'POST', headers: headers(), body: JSON.stringify(body) });
  assert.equal(res.status, 201);
  return (await res.json()) as { id: string; key: string };
}

test('the public listener still refuses a request without a key (the Playground token is not public)', async () => {
  const res = await fetch(`${stack.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }) });
  assert.equal(res.status, 401);
});

test('with auth: keys the Playground chats as its own identity', async () => {
  const res = await fetch(`${admin}/admin/playground/chat`, { method: 'POST', headers: headers(), body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] }) });
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(((await res.json()) as { object: string }).object, 'chat.completion');
});

test('with key_id the chat runs as that key: its models only', async () => {
  const key = await createKey({ name: 'only-mini', models: ['gpt-4o-mini'] });
  const allowed = await fetch(`${admin}/admin/playground/chat`, { method: 'POST', headers: headers(), body: JSON.stringify({ key_id: key.id, model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }) });
  assert.equal(allowed.status, 200, await allowed.clone().text());
  const refused = await fetch(`${admin}/admin/playground/chat`, { method: 'POST', headers: headers(), body: JSON.stringify({ key_id: key.id, model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }) });
  assert.ok(refused.status === 403 || refused.status === 404, `a model the key may not use: ${refused.status}`);
  expectErrorShape(await refused.json());

  const models = await fetch(`${admin}/admin/playground/models?key_id=${encodeURIComponent(key.id)}`, { headers: headers() });
  assert.equal(models.status, 200);
  assert.deepEqual(((await models.json()) as { data: Array<{ name: string }> }).data.map((m) => m.name), ['gpt-4o-mini']);

  const unknown = await fetch(`${admin}/admin/playground/models?key_id=no-such-key`, { headers: headers() });
  assert.equal(unknown.status, 404);
  assert.equal(expectErrorShape(await unknown.json()).error.param, 'key_id');
});
