// Reloading the limits feature on the Redis backend (real Redis): counters stay in Redis across a reload,
// the connection's settings need a restart, the rest changes live.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { makeContext } from './helpers/limits-context.js';
import { startReloadRig } from './helpers/limits-host.js';
import { awayFromMinuteEnd, dropPrefix, REDIS_URL } from './helpers/limits-redis.js';

const TEAM = 'sk-sy-team-key-0123456789';
const prefix = `syreload:${process.pid}:${randomBytes(4).toString('hex')}`;
const yaml = (rpm: number, redis = '') => `auth: keys
limits:
  backend: redis
  redis: { url: "${REDIS_URL}", key_prefix: "${prefix}"${redis} }
keys:
  - name: team
    key: ${TEAM}
    limits: { rpm: ${rpm} }
`;
const team = () => makeContext({ headers: { authorization: `Bearer ${TEAM}` } });

test('redis backend: a declared key\'s new rpm counts what Redis holds; the prefix needs a restart, on_down does not', async () => {
  await awayFromMinuteEnd();
  const rig = await startReloadRig(yaml(3));
  try {
    const created = (await rig.admin('POST', '/admin/keys', { name: 'api', limits: { rpm: 5 } })).body as { id: string; key: string };
    assert.equal(created.id.startsWith('key_'), true);
    assert.equal(await rig.run(team()), undefined);
    assert.equal(await rig.run(team()), undefined);

    const report = await rig.reload(yaml(2, ', on_down: open, key_refresh_ms: 300'));
    assert.equal(report.result, 'applied', report.problems.join('\n'));
    const refused = team();
    assert.equal((await rig.run(refused))?.code, 'rate_limit_exceeded', 'the two requests before the reload are in Redis');
    assert.equal(Object.fromEntries(refused.responseHeaders)['x-ratelimit-limit-requests'], '2');
    const shown = (await rig.admin('GET', '/admin/keys/cfg_team')).body as { usage: { requests_this_minute: number } };
    assert.equal(shown.usage.requests_this_minute, 2);

    const moved = await rig.reload(yaml(10, ', key_prefix: "elsewhere"').replace(`key_prefix: "${prefix}", `, ''));
    assert.equal(moved.result, 'rejected');
    assert.match(moved.problems.join('\n'), /limits\.redis\.key_prefix: changed; this setting is read only at start, so it needs a restart/);
    assert.equal((await rig.run(team()))?.code, 'rate_limit_exceeded', 'rpm 2 still in force');

    const ctx = makeContext({ headers: { authorization: `Bearer ${created.key}` } });
    assert.equal(await rig.run(ctx), undefined, 'the API key is untouched');
    assert.equal(Object.fromEntries(ctx.responseHeaders)['x-ratelimit-limit-requests'], '5');
  } finally {
    await rig.close();
    await dropPrefix(prefix);
  }
});
