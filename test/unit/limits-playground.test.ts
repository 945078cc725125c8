// The Playground's credential on the public side: the process's token runs a request as the Playground (no key
// limits) or, with x-switchyard-playground-key, as that key; and host.services.keyView for the console.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { threadKeyCheck } from '../../src/limits/stages.js';
import { PLAYGROUND_KEY_HEADER } from '../../src/limits/playground.js';
import type { RequestContext } from '../../src/pipeline/context.js';
import { makeContext } from './helpers/limits-context.js';
import { startReloadRig } from './helpers/limits-host.js';

const TOKEN = `sy-playground-${randomBytes(24).toString('base64url')}`;
const TEAM = 'sk-sy-team-key-0123456789';
const OTHER = 'sk-sy-other-key-0123456789';
const yaml = `auth: keys
keys:
  - name: team
    key: ${TEAM}
    models: [gpt-4o-mini]
    limits: { rpm: 1 }
  - name: other
    key: ${OTHER}
limits:
  models:
    gpt-4o: { rpm: 1 }
`;

const asPlayground = (model: string, keyId?: string, token = TOKEN) =>
  makeContext({ headers: { authorization: `Bearer ${token}`, ...(keyId === undefined ? {} : { [PLAYGROUND_KEY_HEADER]: keyId }) }, model });
const header = (ctx: RequestContext, name: string) => Object.fromEntries(ctx.responseHeaders)[name];

/** rpm windows are fixed UTC minutes: a test counting requests in one must not straddle two. */
async function awayFromMinuteEnd(marginMs = 5000): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < marginMs) await new Promise((r) => setTimeout(r, left + 50));
}

test('the token alone runs as the built-in identity: every model, no key limits, model limits still count', async () => {
  await awayFromMinuteEnd();
  const rig = await startReloadRig(yaml, TOKEN);
  try {
    const ctx = asPlayground('gpt-4o-mini');
    assert.equal(await rig.run(ctx), undefined);
    assert.deepEqual(ctx.key, { id: 'playground', name: 'playground' });
    assert.equal(header(ctx, 'x-ratelimit-limit-requests'), undefined, 'no key limit applies');
    for (let i = 0; i < 3; i++) assert.equal(await rig.run(asPlayground('gpt-4o-mini')), undefined);
    assert.equal(await rig.run(asPlayground('gpt-4o')), undefined);
    const second = await rig.run(asPlayground('gpt-4o'));
    assert.equal(second?.code, 'rate_limit_exceeded');
    assert.match(second?.message ?? '', /model 'gpt-4o'/);
    // Through the head screen too, as the listener runs it.
    const screened = asPlayground('gpt-4o-mini');
    const auth = rig.serving().find((s) => s.phase === 'auth')!;
    assert.equal(auth.onHead?.(screened.head), undefined);
    assert.equal(await rig.run(screened), undefined);
    assert.equal(screened.key?.id, 'playground');
  } finally {
    await rig.close();
  }
});

test('with the key header the request runs as that key: its models, limits and counters', async () => {
  await awayFromMinuteEnd();
  const rig = await startReloadRig(yaml, TOKEN);
  try {
    assert.equal((await rig.run(asPlayground('gpt-4o', 'cfg_team')))?.code, 'model_not_allowed');
    const ctx = asPlayground('gpt-4o-mini', 'cfg_team');
    assert.equal(await rig.run(ctx), undefined);
    assert.deepEqual(ctx.key, { id: 'cfg_team', name: 'team', models: new Set(['gpt-4o-mini']) });
    assert.equal(header(ctx, 'x-ratelimit-limit-requests'), '1');
    const limited = await rig.run(asPlayground('gpt-4o-mini', 'cfg_team'));
    assert.match(limited?.message ?? '', /key 'team'/);
    assert.equal((await rig.run(makeContext({ headers: { authorization: `Bearer ${TEAM}` } })))?.code, 'rate_limit_exceeded', 'one budget with the key itself');
    const shown = (await rig.admin('GET', '/admin/keys/cfg_team')).body as { usage: { requests_this_minute: number } };
    assert.equal(shown.usage.requests_this_minute, 1);

    const created = (await rig.admin('POST', '/admin/keys', { name: 'api' })).body as { id: string };
    assert.equal((await rig.run(asPlayground('gpt-4o', created.id)))?.code, undefined);
    assert.equal((await rig.admin('DELETE', `/admin/keys/${created.id}`)).status, 200);
    assert.equal((await rig.run(asPlayground('gpt-4o-mini', created.id)))?.code, 'invalid_api_key', 'revoked');
    assert.equal((await rig.run(asPlayground('gpt-4o-mini', 'key_0000000000000000')))?.code, 'invalid_api_key', 'unknown');
    assert.equal((await rig.run(asPlayground('gpt-4o-mini', '')))?.code, 'invalid_api_key', 'empty');
    const auth = rig.serving().find((s) => s.phase === 'auth')!;
    assert.equal(auth.onHead?.(asPlayground('gpt-4o-mini', 'nope').head)?.status, 401, 'refused from the head alone');
  } finally {
    await rig.close();
  }
});

test('the header means nothing without the token; the token means nothing where the host has none, and on /mcp', async () => {
  const rig = await startReloadRig(yaml, TOKEN);
  try {
    // A normal key naming another key runs as itself.
    const ctx = makeContext({ headers: { authorization: `Bearer ${OTHER}`, [PLAYGROUND_KEY_HEADER]: 'cfg_team' }, model: 'gpt-4o-mini' });
    assert.equal(await rig.run(ctx), undefined);
    assert.equal(ctx.key?.id, 'cfg_other');
    assert.equal((await rig.run(makeContext({ headers: { authorization: 'Bearer sk-sy-guess', [PLAYGROUND_KEY_HEADER]: 'cfg_team' } })))?.code, 'invalid_api_key');
    assert.equal((await rig.run(makeContext({ headers: { [PLAYGROUND_KEY_HEADER]: 'cfg_team' } })))?.code, 'missing_api_key');
    assert.equal((await rig.run(asPlayground('gpt-4o-mini', undefined, TOKEN + 'x')))?.code, 'invalid_api_key');
    assert.deepEqual(threadKeyCheck()!({ authorization: `Bearer ${TOKEN}` }), { refused: 'invalid' });
  } finally {
    await rig.close();
  }
  const without = await startReloadRig(yaml);
  try {
    assert.equal((await without.run(asPlayground('gpt-4o-mini')))?.code, 'invalid_api_key');
  } finally {
    await without.close();
  }
});

test('the credential carries over a reload, and keyView follows the keys as they change', async () => {
  const rig = await startReloadRig(yaml, TOKEN);
  try {
    const keyView = rig.hosts.main.services?.keyView;
    assert.ok(keyView, 'the limits feature sets host.services.keyView');
    assert.deepEqual(keyView('cfg_team'), { id: 'cfg_team', name: 'team', models: ['gpt-4o-mini'], revoked: false });
    assert.deepEqual(keyView('cfg_other'), { id: 'cfg_other', name: 'other', models: null, revoked: false });
    assert.equal(keyView('cfg_nobody'), undefined);
    const created = (await rig.admin('POST', '/admin/keys', { name: 'api', models: ['gpt-4o'] })).body as { id: string };
    assert.deepEqual(keyView(created.id), { id: created.id, name: 'api', models: ['gpt-4o'], revoked: false });
    await rig.admin('DELETE', `/admin/keys/${created.id}`);
    assert.equal(keyView(created.id)?.revoked, true);

    const report = await rig.reload(yaml.replace('models: [gpt-4o-mini]', 'models: [gpt-4o]'));
    assert.equal(report.result, 'applied', report.problems.join('\n'));
    assert.deepEqual(keyView('cfg_team')?.models, ['gpt-4o']);
    assert.equal((rig.feature.sharedForNewThread!() as { playgroundToken?: string }).playgroundToken, TOKEN);
    assert.equal(await rig.run(asPlayground('gpt-4o', 'cfg_team')), undefined);
    assert.equal((await rig.run(asPlayground('gpt-4o-mini', 'cfg_team')))?.code, 'model_not_allowed');
    assert.equal((await rig.run(asPlayground('gpt-4o-mini')))?.code, undefined);

    assert.equal((await rig.reload(yaml.replace('auth: keys', 'auth: none'))).result, 'applied');
    const open = asPlayground('gpt-4o-mini', 'cfg_team');
    assert.equal(await rig.run(open), undefined);
    assert.equal(open.key, undefined, 'auth: none has no identities');
  } finally {
    await rig.close();
  }
});
