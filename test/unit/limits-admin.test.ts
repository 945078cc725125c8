// Keys end to end inside one process: admin routes → registry → shared table → auth and admission stages → store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLimitsMain, startLimitsThread, type LimitsMain } from '../../src/limits/feature.js';
import { hashKey } from '../../src/limits/keys.js';
import { GatewayError } from '../../src/shared/errors.js';
import type { Stage } from '../../src/pipeline/stage.js';
import type { RequestContext } from '../../src/pipeline/context.js';
import { makeContext } from './helpers/limits-context.js';
import { TestHosts, testConfig } from './helpers/limits-host.js';

interface Gateway {
  hosts: TestHosts;
  main: LimitsMain;
  stages: Stage[];
  /** Runs the stages like the handler: auth, then request phase; returns the refusal if any. */
  run(ctx: RequestContext): GatewayError | undefined;
  finish(ctx: RequestContext, usage?: { prompt: number; completion: number }): void;
}

async function start(yaml: string, dataDir: string): Promise<Gateway> {
  const config = testConfig(yaml, dataDir);
  const hosts = new TestHosts(dataDir);
  const main = await startLimitsMain(config, hosts.main);
  const { stages } = startLimitsThread(config, structuredClone(main.shared), hosts.thread());
  return {
    hosts,
    main,
    stages,
    run(ctx) {
      try {
        for (const s of stages.filter((x) => x.phase === 'auth')) void s.onRequest?.(ctx);
        for (const s of stages.filter((x) => x.phase !== 'auth')) void s.onRequest?.(ctx);
        return undefined;
      } catch (err) {
        if (err instanceof GatewayError) return err;
        throw err;
      }
    },
    finish(ctx, usage) {
      if (usage) {
        ctx.result.usage = { promptTokens: usage.prompt, completionTokens: usage.completion, totalTokens: usage.prompt + usage.completion, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 };
      }
      ctx.result.status = 200;
      ctx.result.attempts = 1;
      for (const s of stages) s.onComplete?.(ctx);
    },
  };
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'sy-limits-'));
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/** rpm windows are fixed UTC minutes: a test counting requests in one must not straddle two. */
async function awayFromMinuteEnd(marginMs = 5000): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < marginMs) await new Promise((r) => setTimeout(r, left + 50));
}

test('admin-created key: auth, limits, headers, usage and spend, persisted without the plaintext', async () => {
  await awayFromMinuteEnd();
  const dir = tempDir();
  const gw = await start('auth: keys\n', dir);
  try {
    const created = await gw.hosts.call('POST', '/admin/keys', {
      name: 'team-a',
      models: ['gpt-4o-mini'],
      limits: { rpm: 2, tpm: 10_000_000 },
      budget: { daily_usd: 5 },
    });
    assert.equal(created.status, 201);
    const body = created.body as { id: string; key: string; hash?: string };
    assert.match(body.key, /^sk-sy-[A-Za-z0-9_-]{32}$/);
    assert.equal(body.hash, undefined);

    assert.equal(gw.run(makeContext({}))?.code, 'missing_api_key');
    assert.equal(gw.run(makeContext({ headers: bearer('sk-sy-wrong') }))?.status, 401);
    const forbidden = gw.run(makeContext({ headers: bearer(body.key), model: 'gpt-4o' }));
    assert.equal(forbidden?.status, 403);
    assert.equal(forbidden?.type, 'permission_error');

    const ok = makeContext({ headers: bearer(body.key), maxOutputTokens: 50 });
    assert.equal(gw.run(ok), undefined);
    assert.deepEqual(ok.key, { id: body.id, name: 'team-a', models: new Set(['gpt-4o-mini']) });
    assert.equal(ok.promptTokens?.exact, false);
    const headers = Object.fromEntries(ok.responseHeaders);
    assert.equal(headers['x-ratelimit-limit-requests'], '2');
    assert.equal(headers['x-ratelimit-remaining-requests'], '1');
    assert.equal(headers['x-ratelimit-limit-tokens'], '10000000');
    assert.equal(headers['x-ratelimit-remaining-tokens'], String(10_000_000 - ok.promptTokens!.count - 50));
    gw.finish(ok, { prompt: 1_000_000, completion: 1_000_000 });

    assert.equal(gw.run(makeContext({ headers: { 'x-api-key': body.key } })), undefined, 'Anthropic-style header');
    const limited = makeContext({ headers: { 'api-key': body.key } });
    const refused = gw.run(limited);
    assert.equal(refused?.status, 429);
    assert.equal(refused?.code, 'rate_limit_exceeded');
    assert.ok(Number(refused?.headers?.['retry-after']) >= 1);
    assert.equal(Object.fromEntries(limited.responseHeaders)['x-ratelimit-remaining-requests'], '0');
    gw.finish(limited); // onComplete of a refused request must not release anything

    const shown = await gw.hosts.call('GET', `/admin/keys/${body.id}`);
    const view = shown.body as { usage: Record<string, number>; spend: Record<string, number> };
    assert.equal(view.usage.requests_this_minute, 2);
    assert.equal(view.usage.concurrent, 1, 'the x-api-key request is still in flight');
    assert.equal(view.usage.total_prompt_tokens, 1_000_000);
    assert.ok(Math.abs(view.spend.total_usd - (0.15 + 0.6)) < 1e-9, `gpt-4o-mini list price, got ${view.spend.total_usd}`);

    await gw.main.close();
    const stored = readFileSync(join(dir, 'limits', 'limits.json'), 'utf8');
    assert.ok(!stored.includes(body.key), 'plaintext key never stored');
    assert.ok(stored.includes(hashKey(body.key)));

    // Restart on the same data dir: key and spend are back.
    const again = await start('auth: keys\n', dir);
    const after = (await again.hosts.call('GET', `/admin/keys/${body.id}`)).body as { spend: { total_usd: number }; usage: Record<string, number> };
    assert.ok(Math.abs(after.spend.total_usd - 0.75) < 1e-9);
    assert.equal(after.usage.requests_today, 2, 'window counters survive too');
    assert.equal(again.run(makeContext({ headers: bearer(body.key) }))?.status ?? 200, after.usage.requests_this_minute === 2 ? 429 : 200);
    await again.main.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('revocation: the shared row flips before DELETE answers, even for a thread that missed the snapshot', async () => {
  const dir = tempDir();
  const gw = await start('auth: keys\n', dir);
  try {
    const { id, key } = (await gw.hosts.call('POST', '/admin/keys', { name: 'b' })).body as { id: string; key: string };
    // A second thread whose key map is never updated: only shared memory can tell it.
    const stale = startLimitsThread(testConfig('auth: keys\n', dir), gw.main.sharedForNewThread(), undefined);
    const staleRun = (ctx: RequestContext) => {
      try {
        void stale.stages[0]!.onRequest?.(ctx);
      } catch (err) {
        return err as GatewayError;
      }
      return undefined;
    };
    assert.equal(staleRun(makeContext({ headers: bearer(key) })), undefined);
    const del = await gw.hosts.call('DELETE', `/admin/keys/${id}`);
    assert.equal(del.status, 200);
    assert.equal((del.body as { revoked: boolean }).revoked, true);
    assert.equal(gw.run(makeContext({ headers: bearer(key) }))?.code, 'invalid_api_key');
    assert.equal(staleRun(makeContext({ headers: bearer(key) }))?.code, 'invalid_api_key');
    assert.equal((await gw.hosts.call('PATCH', `/admin/keys/${id}`, { name: 'x' })).status, 409);
    assert.equal((await gw.hosts.call('GET', '/admin/keys/key_nope')).status, 404);
  } finally {
    await gw.main.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('PATCH changes limits on every thread at once; key×model and model limits combine, strictest wins', async () => {
  await awayFromMinuteEnd();
  const dir = tempDir();
  const gw = await start(
    `auth: keys
limits:
  models:
    gpt-4o: { rpm: 3 }
`,
    dir,
  );
  try {
    const { id, key } = (await gw.hosts.call('POST', '/admin/keys', {
      name: 'c',
      model_limits: { 'gpt-4o-mini': { rpm: 1 } },
    })).body as { id: string; key: string };
    assert.equal(gw.run(makeContext({ headers: bearer(key) })), undefined);
    const second = gw.run(makeContext({ headers: bearer(key) }));
    assert.match(second?.message ?? '', /key 'c' on model 'gpt-4o-mini'/);
    for (let i = 0; i < 3; i++) assert.equal(gw.run(makeContext({ headers: bearer(key), model: 'gpt-4o' })), undefined);
    assert.match(gw.run(makeContext({ headers: bearer(key), model: 'gpt-4o' }))?.message ?? '', /model 'gpt-4o'/);

    const bad = await gw.hosts.call('PATCH', `/admin/keys/${id}`, { limits: { rpm: -1 } });
    assert.equal(bad.status, 400);
    const patched = await gw.hosts.call('PATCH', `/admin/keys/${id}`, { model_limits: {}, limits: { rpm: 0 } });
    assert.equal(patched.status, 200);
    assert.equal(gw.run(makeContext({ headers: bearer(key) }))?.message.includes("key 'c' on requests per minute"), true);
  } finally {
    await gw.main.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('keys declared in YAML work, are read-only through the API, and budgets refuse with insufficient_quota', async () => {
  const dir = tempDir();
  const gw = await start(
    `auth: keys
keys:
  - name: ci
    key: sk-sy-from-yaml-0123456789
    budget: { total_usd: 0.000001 }
  - name: hashed
    key_sha256: ${hashKey('sk-sy-hashed-key-abcdef')}
`,
    dir,
  );
  try {
    const list = (await gw.hosts.call('GET', '/admin/keys')).body as { data: Array<{ id: string; source: string }> };
    assert.deepEqual(list.data.map((k) => k.id).sort(), ['cfg_ci', 'cfg_hashed']);
    assert.equal((await gw.hosts.call('DELETE', '/admin/keys/cfg_ci')).status, 409);
    assert.equal(gw.run(makeContext({ headers: bearer('sk-sy-hashed-key-abcdef') })), undefined);
    const first = makeContext({ headers: bearer('sk-sy-from-yaml-0123456789') });
    assert.equal(gw.run(first), undefined);
    gw.finish(first, { prompt: 100, completion: 100 });
    const broke = gw.run(makeContext({ headers: bearer('sk-sy-from-yaml-0123456789') }));
    assert.equal(broke?.status, 429);
    assert.equal(broke?.type, 'insufficient_quota');
    assert.equal(broke?.code, 'insufficient_quota');
  } finally {
    await gw.main.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('auth: none keeps the gateway open while model limits still apply; aborted requests are charged what was produced', async () => {
  const dir = tempDir();
  const gw = await start(
    `limits:
  models:
    gpt-4o-mini: { tpm: 10000 }
`,
    dir,
  );
  try {
    assert.equal(gw.stages.some((s) => s.phase === 'auth'), false);
    const ctx = makeContext({ maxOutputTokens: 1000 });
    assert.equal(gw.run(ctx), undefined);
    ctx.result.outcome = 'aborted';
    ctx.result.chunks = 7;
    ctx.result.attempts = 1;
    for (const s of gw.stages) s.onComplete?.(ctx);
    for (const s of gw.stages) s.onComplete?.(ctx); // a second call must not settle twice
    const row = gw.main.shared.modelRows['gpt-4o-mini']!;
    const usage = gw.main.registry.usageOf(`m:gpt-4o-mini`)!;
    assert.ok(row > 0);
    assert.equal(usage.minuteTokens, ctx.promptTokens!.count + 7);
    assert.equal(usage.concurrent, 0);
  } finally {
    await gw.main.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('config defaults: open gateway, memory backend, empty tables', () => {
  const config = testConfig('', '/tmp/unused');
  assert.equal(config.auth, 'none');
  assert.deepEqual(config.keys, []);
  assert.equal(config.limits.backend, 'memory');
  assert.equal(config.limits.default_max_output_tokens, 1024);
  assert.equal(config.limits.redis.on_down, 'closed');
  assert.deepEqual(config.prices, {});
  assert.throws(() => testConfig('keys:\n  - name: x\n', '/tmp/unused'), /keys/);
  assert.throws(() => testConfig('limits:\n  models:\n    gpt-4o: { rpm: -1 }\n', '/tmp/unused'), /rpm/);
});

test('admission reserves the output limit once per completion: n (or best_of) multiplies it', async () => {
  const dir = tempDir();
  const gw = await start(
    `limits:
  models:
    gpt-4o-mini: { tpm: 2000 }
`,
    dir,
  );
  try {
    const many = Object.assign(makeContext({ maxOutputTokens: 100 }), { choices: 100 });
    const refused = gw.run(many);
    assert.equal(refused?.status, 429);
    assert.match(refused?.message ?? '', /Requested 10\d{3}\b/);
    const unset = Object.assign(makeContext({}), { choices: 2 }); // limits.default_max_output_tokens (1024) × 2
    assert.equal(gw.run(unset)?.status, 429);
    const one = makeContext({ maxOutputTokens: 100 });
    assert.equal(gw.run(one), undefined);
    assert.equal(gw.main.registry.usageOf('m:gpt-4o-mini')!.minuteTokens, one.promptTokens!.count + 100);
  } finally {
    await gw.main.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
