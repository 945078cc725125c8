// The Redis backend against the real Redis on 127.0.0.1:6379: scripts, reconciliation, budgets, two processes, Redis down.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { awayFromMinuteEnd, dropPrefix, redisConfig, redisLimiter } from './helpers/limits-redis.js';

const prefix = `sytest:${process.pid}:${randomBytes(4).toString('hex')}`;
after(() => dropPrefix(prefix));

test('redis: rpm exact, all-or-nothing across subjects, header view', async () => {
  await awayFromMinuteEnd();
  const p = `${prefix}:a`;
  const { limiter, subjects, redis } = await redisLimiter(redisConfig(p), [{ rpm: 3, tpm: 1000 }, { rpm: 2 }]);
  try {
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await limiter.admit(subjects, 100));
    assert.deepEqual(results.map((r) => r.ok), [true, true, false, false]);
    const refused = results[2]!;
    assert.ok(!refused.ok && refused.refusal);
    if (!refused.ok && refused.refusal) {
      assert.equal(refused.refusal.kind, 'rpm');
      assert.equal(refused.refusal.subject.row, 2);
      assert.ok(refused.refusal.retryAfterMs > 0 && refused.refusal.retryAfterMs <= 60_000);
    }
    const first = results[0]!;
    assert.ok(first.ok);
    if (first.ok) assert.deepEqual(first.view.requests && { limit: first.view.requests.limit, remaining: first.view.requests.remaining }, { limit: 2, remaining: 1 });
    const u = await limiter.usage('s1');
    assert.equal(u.minuteRequests, 2, 'refused requests charged nothing');
    assert.equal(u.minuteTokens, 200);
    assert.equal(u.concurrent, 2);
  } finally {
    redis.disconnect();
  }
});

test('redis: reconciliation leaves counters at the real usage; spend accrues on the key; budget refuses', async () => {
  const p = `${prefix}:b`;
  const { limiter, subjects, redis } = await redisLimiter(redisConfig(p), [{ tpm: 100_000, budgetTotal: 0.5 }, { tpd: 100_000 }]);
  try {
    let real = 0;
    const charges = [];
    for (let i = 0; i < 20; i++) {
      const a = await limiter.admit(subjects, 500);
      assert.ok(a.ok);
      if (a.ok) charges.push(a.charge);
    }
    charges.forEach((c, i) => {
      real += 10 + i + 20;
      limiter.settle(c, { promptTokens: 10 + i, completionTokens: 20, costUsd: 0.025 });
    });
    await redis.ping(); // settle is fire-and-forget on the same connection: ping runs after it
    const key = await limiter.usage('s1');
    const model = await limiter.usage('s2');
    assert.equal(key.dayTokens, real);
    assert.equal(model.dayTokens, real);
    assert.equal(key.concurrent, 0);
    assert.equal(key.totalPromptTokens + key.totalCompletionTokens, real);
    assert.ok(Math.abs(key.spendTotal - 0.5) < 1e-9, `spend ${key.spendTotal}`);
    assert.equal(model.spendTotal, 0);
    const broke = await limiter.admit(subjects, 1);
    assert.ok(!broke.ok && broke.refusal?.kind === 'budget_total');
  } finally {
    redis.disconnect();
  }
});

test('redis: two processes hammering one key with rpm=N admit at most N (+1%)', async () => {
  await awayFromMinuteEnd(15);
  const p = `${prefix}:c`;
  const N = 400;
  const child = fileURLToPath(new URL('./helpers/limits-redis-child.js', import.meta.url));
  const children = [0, 1].map(() => spawn(process.execPath, [child, p, String(N), '600', '16'], { stdio: ['pipe', 'pipe', 'inherit'] }));
  const lines = children.map((c) => {
    const out: string[] = [];
    let ready: () => void;
    const readyP = new Promise<void>((r) => (ready = r));
    c.stdout.setEncoding('utf8');
    c.stdout.on('data', (text: string) => {
      out.push(text);
      if (out.join('').includes('ready\n')) ready();
    });
    return { readyP, done: new Promise<string>((r) => c.once('exit', () => r(out.join('')))) };
  });
  await Promise.all(lines.map((l) => l.readyP));
  for (const c of children) c.stdin.end('go\n');
  const outs = await Promise.all(lines.map((l) => l.done));
  const results = outs.map((o) => JSON.parse(o.split('\n').find((l) => l.startsWith('{'))!) as { admitted: number; errors: number });
  const admitted = results.reduce((s, r) => s + r.admitted, 0);
  assert.deepEqual(results.map((r) => r.errors), [0, 0]);
  assert.ok(results.every((r) => r.admitted > 0), `both processes got some: ${results.map((r) => r.admitted)}`);
  assert.ok(admitted <= N * 1.01, `admitted ${admitted} of limit ${N}`);
  assert.equal(admitted, N, 'no leases: the Lua script is exact');
});

for (const mode of ['open', 'closed'] as const) {
  test(`redis down (closed port), on_down=${mode}: answers fast, never throws, counts it`, async () => {
    const cfg = redisConfig(`${prefix}:d`, { url: 'redis://127.0.0.1:1', on_down: mode, timeout_ms: 100 });
    const { limiter, subjects, table, redis } = await redisLimiter(cfg, [{ rpm: 1 }]);
    try {
      const started = Date.now();
      for (let i = 0; i < 5; i++) {
        const a = await limiter.admit(subjects, 10);
        if (mode === 'open') {
          assert.ok(a.ok, 'admitted without limits');
          if (a.ok) limiter.settle(a.charge, { promptTokens: 1, completionTokens: 1, costUsd: 1 });
        } else {
          assert.ok(!a.ok && !a.refusal && 'unavailable' in a);
        }
      }
      assert.ok(Date.now() - started < 2000, `took ${Date.now() - started}ms`);
      const counts = table.redisFailures();
      assert.equal(mode === 'open' ? counts.fail_open : counts.fail_closed, 5);
    } finally {
      redis.disconnect();
    }
  });
}

test('redis backend, two gateways: keys created on one authenticate on the other; limits and revocation are shared', async () => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { startLimitsMain, startLimitsThread } = await import('../../src/limits/feature.js');
  const { TestHosts, testConfig } = await import('./helpers/limits-host.js');
  const { makeContext } = await import('./helpers/limits-context.js');
  await awayFromMinuteEnd();
  const yaml = `auth: keys
limits:
  backend: redis
  redis: { url: "${redisConfig('x').url}", key_prefix: "${prefix}:e", key_refresh_ms: 100 }
`;
  const machines = await Promise.all(
    [0, 1].map(async () => {
      const dir = mkdtempSync(join(tmpdir(), 'sy-redis-'));
      const config = testConfig(yaml, dir);
      const hosts = new TestHosts(dir);
      const main = await startLimitsMain(config, hosts.main);
      const thread = startLimitsThread(config, main.shared, hosts.thread());
      assert.equal(await thread.ready, true);
      const run = async (key: string) => {
        const ctx = makeContext({ headers: { authorization: `Bearer ${key}` } });
        try {
          for (const s of thread.stages) await s.onRequest?.(ctx);
          return { status: 200, ctx };
        } catch (err) {
          return { status: (err as { status: number }).status, ctx };
        }
      };
      return { dir, hosts, main, thread, run };
    }),
  );
  const [a, b] = machines as [(typeof machines)[0], (typeof machines)[0]];
  try {
    const created = (await a.hosts.call('POST', '/admin/keys', { name: 'shared', limits: { rpm: 3 } })).body as { id: string; key: string };
    assert.equal((await b.run(created.key)).status, 401, 'not yet refreshed on b');
    await new Promise((r) => setTimeout(r, 400));
    const statuses = [];
    for (const m of [a, b, a, b]) statuses.push((await m.run(created.key)).status);
    assert.deepEqual(statuses, [200, 200, 200, 429], 'one rpm=3 budget across both machines');
    const shown = (await b.hosts.call('GET', `/admin/keys/${created.id}`)).body as { usage: { requests_this_minute: number } };
    assert.equal(shown.usage.requests_this_minute, 3);
    assert.equal((await a.hosts.call('DELETE', `/admin/keys/${created.id}`)).status, 200);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal((await b.run(created.key)).status, 401, 'revoked on b after the refresh interval');
  } finally {
    for (const m of machines) {
      await m.thread.thread.close();
      await m.main.close();
      rmSync(m.dir, { recursive: true, force: true });
    }
  }
});
