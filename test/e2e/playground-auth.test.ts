// The Playground's credential on the public listener, end to end: the admin console's proxy
// (POST /admin/playground/chat) calls the gateway with the process's token, as the Playground or as a key;
// a normal client gains nothing from the key header.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI, { APIError } from 'openai';
import { expectErrorShape, startStack, type Stack } from '../helpers/stack.js';

const TEAM = 'sk-sy-pg-team-0123456789';
const OTHER = 'sk-sy-pg-other-0123456789';
const KEY_HEADER = 'x-switchyard-playground-key';
const user = [{ role: 'user' as const, content: 'hello there' }];

/** rpm windows are fixed UTC minutes: a test counting requests in one must not straddle two. */
async function awayFromMinuteEnd(marginMs = 10_000): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < marginMs) await new Promise((r) => setTimeout(r, left + 50));
}

describe('the Playground credential', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      config: {
        auth: 'keys',
        keys: [
          { name: 'team', key: TEAM, models: ['gpt-4o-mini'], limits: { rpm: 2 } },
          { name: 'other', key: OTHER, limits: { rpm: 50 } },
        ],
      },
    });
  });
  after(() => stack.stop());

  const adminFetch = (path: string, init: RequestInit = {}) =>
    fetch(`http://127.0.0.1:${stack.gateway.adminPort}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${stack.gateway.adminToken}`, 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) },
    });
  const playgroundChat = (body: Record<string, unknown>) => adminFetch('/admin/playground/chat', { method: 'POST', body: JSON.stringify(body) });
  const client = (key: string, headers: Record<string, string> = {}) =>
    new OpenAI({ baseURL: stack.baseURL, apiKey: key, maxRetries: 0, defaultHeaders: headers });

  async function metricSum(name: string, label: string): Promise<number> {
    const text = await (await adminFetch('/metrics')).text();
    return text
      .split('\n')
      .filter((l) => l.startsWith(`${name}{`) && l.includes(label))
      .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  }

  test('without a key it runs as the built-in identity `playground`: any model, counted under that key label', async () => {
    const before = await metricSum('switchyard_requests_total', 'key="playground"');
    for (const model of ['gpt-4o-mini', 'gpt-4o']) {
      const res = await playgroundChat({ model, messages: user });
      assert.equal(res.status, 200);
      const body = (await res.json()) as { object: string };
      assert.equal(body.object, 'chat.completion');
      assert.equal(res.headers.get('x-ratelimit-limit-requests'), null, 'no key limits');
    }
    // Counted when the request completes, just after its last byte.
    let after = await metricSum('switchyard_requests_total', 'key="playground"');
    for (let i = 0; i < 100 && after < before + 2; i++) {
      await new Promise((r) => setTimeout(r, 20));
      after = await metricSum('switchyard_requests_total', 'key="playground"');
    }
    assert.equal(after, before + 2);
  });

  test("with key_id it runs as that key: its models, its rpm, its counters, streamed or not", async () => {
    await awayFromMinuteEnd();
    const denied = await playgroundChat({ model: 'gpt-4o', messages: user, key_id: 'cfg_team' });
    assert.equal(denied.status, 403);
    assert.equal(expectErrorShape(await denied.json()).error.code, 'model_not_allowed');

    const ok = await playgroundChat({ model: 'gpt-4o-mini', messages: user, key_id: 'cfg_team' });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('x-ratelimit-limit-requests'), '2');
    assert.equal(ok.headers.get('x-ratelimit-remaining-requests'), '1');
    await ok.json();

    const streamed = await playgroundChat({ model: 'gpt-4o-mini', messages: user, key_id: 'cfg_team', stream: true });
    assert.equal(streamed.status, 200);
    assert.match(streamed.headers.get('content-type') ?? '', /text\/event-stream/);
    const text = await streamed.text();
    assert.match(text, /^data: \{/m);
    assert.match(text, /^data: \[DONE\]$/m);

    const limited = await playgroundChat({ model: 'gpt-4o-mini', messages: user, key_id: 'cfg_team' });
    assert.equal(limited.status, 429);
    assert.equal(expectErrorShape(await limited.json()).error.code, 'rate_limit_exceeded');
    // The key's own client shares that budget.
    const err = await client(TEAM).chat.completions.create({ model: 'gpt-4o-mini', messages: user }).catch((e: unknown) => e);
    assert.ok(err instanceof APIError && err.status === 429);
    const shown = (await (await adminFetch('/admin/keys/cfg_team')).json()) as { usage: { requests_this_minute: number } };
    assert.equal(shown.usage.requests_this_minute, 2);
    assert.ok((await metricSum('switchyard_requests_total', 'key="cfg_team"')) >= 3);
  });

  test('an unknown or revoked key id is refused, and no request runs for it', async () => {
    const unknown = await playgroundChat({ model: 'gpt-4o-mini', messages: user, key_id: 'key_0000000000000000' });
    assert.ok(unknown.status === 401 || unknown.status === 404, `status ${unknown.status}`);
    expectErrorShape(await unknown.json());
    const created = (await (await adminFetch('/admin/keys', { method: 'POST', body: JSON.stringify({ name: 'short-lived' }) })).json()) as { id: string };
    assert.equal((await adminFetch(`/admin/keys/${created.id}`, { method: 'DELETE' })).status, 200);
    const revoked = await playgroundChat({ model: 'gpt-4o-mini', messages: user, key_id: created.id });
    assert.ok(revoked.status >= 400 && revoked.status < 500, `status ${revoked.status}`);
    expectErrorShape(await revoked.json());
    const view = (await (await adminFetch(`/admin/keys/${created.id}`)).json()) as { usage: { total_requests: number } };
    assert.equal(view.usage.total_requests, 0);
  });

  test('the key header is ignored without the token: a normal key runs as itself, a wrong one gets 401', async () => {
    // `other` may use gpt-4o; run as `team` it could not.
    const { data, response } = await client(OTHER, { [KEY_HEADER]: 'cfg_team' }).chat.completions.create({ model: 'gpt-4o', messages: user }).withResponse();
    assert.equal(data.object, 'chat.completion');
    assert.equal(response.headers.get('x-ratelimit-limit-requests'), '50');
    const wrong = await client('sk-sy-not-a-key', { [KEY_HEADER]: 'cfg_team' }).chat.completions.create({ model: 'gpt-4o-mini', messages: user }).catch((e: unknown) => e);
    assert.ok(wrong instanceof OpenAI.AuthenticationError);
    assert.equal(wrong.code, 'invalid_api_key');
    const missing = await fetch(`${stack.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [KEY_HEADER]: 'cfg_team' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: user }),
    });
    assert.equal(missing.status, 401);
    assert.equal(expectErrorShape(await missing.json()).error.code, 'missing_api_key');
  });
});
