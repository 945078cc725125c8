// Deployment capacity shared by two gateway nodes through a real Redis: each node's state table learns
// what the other sent the deployment this minute, and its router stops picking a deployment the two
// together have filled.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { compileRoutes } from '../../src/config/compile.js';
import { parseConfig } from '../../src/config/load.js';
import { CapacitySync, cappedMembers } from '../../src/routing/capacity-sync.js';
import { dropPrefix, REDIS_URL } from './helpers/limits-redis.js';

const prefix = `sy-test-${randomBytes(4).toString('hex')}`;
after(() => dropPrefix(prefix));

function node() {
  const config = parseConfig(
    JSON.stringify({
      providers: [{ name: 'p', base_url: 'http://127.0.0.1:9/v1' }],
      models: [{ name: 'g', deployments: [{ provider: 'p', model: 'capped', rpm: 40, tpm: 100_000 }] }],
    }),
    'test',
  );
  const routes = compileRoutes(config);
  const member = (routes.groups.get('g') as NonNullable<ReturnType<typeof routes.groups.get>>).members[0];
  const redis = new Redis(REDIS_URL);
  return { member, redis, sync: new CapacitySync(redis, routes.state, cappedMembers(routes.groups.values()), prefix) };
}

test('two nodes see each other\'s requests to a deployment and stop at its rpm together', async () => {
  const a = node();
  const b = node();
  try {
    // Mid-minute, so the counts cannot roll over between the calls.
    const now = Math.floor(Date.now() / 60000) * 60000 + 30_000;
    for (let i = 0; i < 25; i++) a.member.begin(now, 10);
    for (let i = 0; i < 10; i++) b.member.begin(now, 10);
    assert.equal(b.member.hasRoom(now, 10), true, 'alone, node b is at 10 of 40');
    await a.sync.syncOnce(now);
    await b.sync.syncOnce(now);
    await a.sync.syncOnce(now);
    const seenByB = b.member.capacity.used(now);
    assert.equal(Math.round(seenByB.requests), 35);
    assert.equal(Math.round(a.member.capacity.used(now).requests), 35);
    for (let i = 0; i < 5; i++) b.member.begin(now, 10);
    assert.equal(b.member.hasRoom(now, 10), false, 'together they sent 40 of 40');
    // A second round adds only what is new: nothing is counted twice.
    await b.sync.syncOnce(now);
    await a.sync.syncOnce(now);
    assert.equal(Math.round(a.member.capacity.used(now).requests), 40);
  } finally {
    a.redis.disconnect();
    b.redis.disconnect();
  }
});
