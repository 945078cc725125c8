// Virtual keys, limits, accounting and budgets through the whole gateway, with the official OpenAI SDK as the client.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI, { APIError } from 'openai';
import { parseConfig } from '../../src/config/load.js';
import { startGateway, type RunningGateway } from '../../src/server/main.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.js';
import { freePort, stackConfigObject } from '../helpers/stack.js';
import { dropPrefix, REDIS_URL } from '../unit/helpers/limits-redis.js';

interface LimitsStack {
  gateway: RunningGateway;
  baseURL: string;
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }>;
  client(key: string): OpenAI;
  stop(): Promise<void>;
}

async function startLimitsStack(sim: RunningSimulator, extra: Record<string, unknown>, threads = 2): Promise<LimitsStack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchyard-limits-'));
  const object = stackConfigObject(sim.port, dataDir);
  (object.models as unknown[]).push({ name: 'slow', provider: 'sim', model: 'sim-tps-40' });
  Object.assign(object, extra);
  (object.server as Record<string, unknown>).port = await freePort();
  const gateway = await startGateway(parseConfig(JSON.stringify(object), 'test'), { threads });
  const baseURL = `http://127.0.0.1:${gateway.port}/v1`;
  return {
    gateway,
    baseURL,
    async admin(method, path, body) {
      const res = await fetch(`http://127.0.0.1:${gateway.adminPort}${path}`, {
        method,
        headers: { authorization: `Bearer ${gateway.adminToken}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
    client: (key) => new OpenAI({ baseURL, apiKey: key, maxRetries: 0 }),
    async stop() {
      await gateway.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const user = (content: string) => [{ role: 'user' as const, content }];

async function apiError(p: Promise<unknown>): Promise<APIError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof APIError) return err;
    throw err;
  }
  assert.fail('the request succeeded');
}

/** rpm windows are fixed UTC minutes: a test counting requests in one must not straddle two. */
async function awayFromMinuteEnd(marginMs = 10_000): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < marginMs) await new Promise((r) => setTimeout(r, left + 50));
}

let sim: RunningSimulator;
before(async () => {
  sim = await startSimulator({});
});
after(() => sim.close());

describe('limits, memory backend, 2 server threads', () => {
  let stack: LimitsStack;
  before(async () => {
    stack = await startLimitsStack(sim, {
      auth: 'keys',
      limits: { models: { 'gpt-4o': { rpm: 1000 } } },
    });
  });
  after(() => stack.stop());

  test('rpm: headers on every answer, then a 429 the SDK surfaces as RateLimitError with Retry-After', async () => {
    await awayFromMinuteEnd();
    const created = await stack.admin('POST', '/admin/keys', { name: 'team-a', limits: { rpm: 3, tpm: 100_000 } });
    assert.equal(created.status, 201);
    const client = stack.client(created.body.key as string);
    const remaining: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { data, response } = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('hi') }).withResponse();
      assert.equal(data.object, 'chat.completion');
      assert.equal(response.headers.get('x-ratelimit-limit-requests'), '3');
      assert.equal(response.headers.get('x-ratelimit-limit-tokens'), '100000');
      // OpenAI's duration format ("20ms", "59s", "1m0s"); a minute window resets within 60 s.
      const reset = /^(?:(\d+)m)?(\d+)(ms|s)$/.exec(response.headers.get('x-ratelimit-reset-requests') ?? '');
      assert.ok(reset, `x-ratelimit-reset-requests: ${response.headers.get('x-ratelimit-reset-requests')}`);
      const resetMs = Number(reset[1] ?? 0) * 60_000 + Number(reset[2]) * (reset[3] === 's' ? 1000 : 1);
      assert.ok(resetMs > 0 && resetMs <= 60_000, `reset in ${resetMs} ms`);
      remaining.push(response.headers.get('x-ratelimit-remaining-requests') ?? '');
    }
    assert.deepEqual(remaining, ['2', '1', '0']);
    const err = await apiError(client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('hi') }));
    assert.ok(err instanceof OpenAI.RateLimitError);
    assert.equal(err.status, 429);
    assert.equal(err.type, 'rate_limit_error');
    assert.equal(err.code, 'rate_limit_exceeded');
    assert.ok(Number(err.headers?.get('retry-after')) >= 1);
    assert.equal(err.headers?.get('x-ratelimit-remaining-requests'), '0');
  });

  test('401 for a missing or wrong key, 403 for a model the key may not use', async () => {
    const noKey = await apiError(stack.client('sk-sy-not-a-real-key').chat.completions.create({ model: 'gpt-4o-mini', messages: user('x') }));
    assert.ok(noKey instanceof OpenAI.AuthenticationError);
    assert.equal(noKey.code, 'invalid_api_key');
    const created = await stack.admin('POST', '/admin/keys', { name: 'mini-only', models: ['gpt-4o-mini'] });
    const denied = await apiError(stack.client(created.body.key as string).chat.completions.create({ model: 'gpt-4o', messages: user('x') }));
    assert.ok(denied instanceof OpenAI.PermissionDeniedError);
    assert.equal(denied.type, 'permission_error');

    // The model list shows such a key only what it may use.
    const restricted = stack.client(created.body.key as string);
    const listed = [];
    for await (const model of restricted.models.list()) listed.push(model.id);
    assert.deepEqual(listed, ['gpt-4o-mini']);
    assert.equal((await restricted.models.retrieve('gpt-4o-mini')).id, 'gpt-4o-mini');
    assert.ok((await apiError(restricted.models.retrieve('gpt-4o'))) instanceof OpenAI.NotFoundError);
    const unrestricted = await stack.admin('POST', '/admin/keys', { name: 'all-models' });
    const all = [];
    for await (const model of stack.client(unrestricted.body.key as string).models.list()) all.push(model.id);
    assert.ok(all.includes('gpt-4o') && all.includes('gpt-4o-mini'), `unrestricted key lists ${all.join(', ')}`);
  });

  test('concurrent requests from both threads at rpm=N: exactly N admitted', async () => {
    await awayFromMinuteEnd();
    const N = 12;
    const created = await stack.admin('POST', '/admin/keys', { name: 'burst', limits: { rpm: N } });
    const key = created.body.key as string;
    // Separate clients (connections) so the kernel spreads them over both server threads.
    const results = await Promise.allSettled(
      Array.from({ length: 3 * N }, () => stack.client(key).chat.completions.create({ model: 'gpt-4o-mini', messages: user('x') })),
    );
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    const limited = results.filter((r) => r.status === 'rejected' && (r.reason as APIError).status === 429).length;
    assert.equal(ok, N);
    assert.equal(limited, 2 * N);
  });

  test('revocation is effective on every thread when DELETE answers', async () => {
    const created = await stack.admin('POST', '/admin/keys', { name: 'revoke-me' });
    const key = created.body.key as string;
    await stack.client(key).chat.completions.create({ model: 'gpt-4o-mini', messages: user('x') });
    const del = await stack.admin('DELETE', `/admin/keys/${created.body.id as string}`);
    assert.equal(del.status, 200);
    const after = await Promise.allSettled(
      Array.from({ length: 8 }, () => stack.client(key).chat.completions.create({ model: 'gpt-4o-mini', messages: user('x') })),
    );
    for (const r of after) assert.equal(r.status === 'rejected' && (r.reason as APIError).status, 401);
  });

  test('token accounting: real usage of non-stream and stream requests, spend at list price, GET shows it', async () => {
    const created = await stack.admin('POST', '/admin/keys', { name: 'acct', limits: { tpm: 1_000_000 } });
    const client = stack.client(created.body.key as string);
    const plain = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('one two three'), max_tokens: 500 });
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini', messages: user('four five'), stream: true, stream_options: { include_usage: true },
    });
    let streamUsage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) if (chunk.usage) streamUsage = chunk.usage;
    assert.ok(plain.usage && streamUsage);
    const prompt = plain.usage.prompt_tokens + streamUsage.prompt_tokens;
    const completion = plain.usage.completion_tokens + streamUsage.completion_tokens;
    await new Promise((r) => setTimeout(r, 50)); // onComplete runs right after the last byte
    const shown = await stack.admin('GET', `/admin/keys/${created.body.id as string}`);
    const usage = shown.body.usage as Record<string, number>;
    const spend = shown.body.spend as Record<string, number>;
    assert.equal(usage.total_requests, 2);
    assert.equal(usage.total_prompt_tokens, prompt);
    assert.equal(usage.total_completion_tokens, completion);
    assert.equal(usage.tokens_this_minute, prompt + completion, 'estimates replaced by real usage');
    assert.equal(usage.concurrent, 0);
    assert.ok(Math.abs(spend.total_usd - (prompt * 0.15 + completion * 0.6) / 1e6) < 1e-12);
  });

  test('an aborted stream is charged for what was produced', async () => {
    const created = await stack.admin('POST', '/admin/keys', { name: 'abort', limits: { tpm: 1_000_000 } });
    const client = stack.client(created.body.key as string);
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: 'slow', messages: user('tell me'), stream: true, max_tokens: 400 },
      { signal: controller.signal },
    );
    let chunks = 0;
    try {
      for await (const _ of stream) if (++chunks === 5) controller.abort();
    } catch {
      // the SDK throws on abort
    }
    await new Promise((r) => setTimeout(r, 300));
    const shown = await stack.admin('GET', `/admin/keys/${created.body.id as string}`);
    const usage = shown.body.usage as Record<string, number>;
    assert.equal(usage.concurrent, 0);
    assert.ok(usage.total_completion_tokens >= 4 && usage.total_completion_tokens < 40, `charged ${usage.total_completion_tokens} completion tokens`);
    assert.ok(usage.tokens_this_minute < 100, `the 400-token reservation was released: ${usage.tokens_this_minute}`);
  });

  test('budget used up → 429 insufficient_quota', async () => {
    const created = await stack.admin('POST', '/admin/keys', { name: 'poor', budget: { total_usd: 0.0000001 } });
    const client = stack.client(created.body.key as string);
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('x') });
    await new Promise((r) => setTimeout(r, 50));
    const err = await apiError(client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('x') }));
    assert.equal(err.status, 429);
    assert.equal(err.code, 'insufficient_quota');
    assert.equal(err.type, 'insufficient_quota');
  });
});

describe('limits, redis backend', () => {
  const prefix = `sye2e:${process.pid}:${randomBytes(4).toString('hex')}`;
  after(() => dropPrefix(prefix));

  test('rpm shared through Redis; 429 with headers', async () => {
    await awayFromMinuteEnd();
    const stack = await startLimitsStack(sim, {
      auth: 'keys',
      limits: { backend: 'redis', redis: { url: REDIS_URL, key_prefix: prefix } },
    });
    try {
      const created = await stack.admin('POST', '/admin/keys', { name: 'r', limits: { rpm: 2 } });
      const client = stack.client(created.body.key as string);
      const first = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('x') }).withResponse();
      assert.equal(first.response.headers.get('x-ratelimit-remaining-requests'), '1');
      await client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('x') });
      const err = await apiError(client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('x') }));
      assert.equal(err.status, 429);
      assert.equal(err.headers?.get('x-ratelimit-remaining-requests'), '0');
    } finally {
      await stack.stop();
    }
  });

  test('Redis down and on_down=closed → 503, fast, the gateway keeps serving', async () => {
    const stack = await startLimitsStack(sim, {
      auth: 'none',
      limits: {
        backend: 'redis',
        models: { 'gpt-4o-mini': { rpm: 100 } },
        redis: { url: 'redis://127.0.0.1:1', key_prefix: prefix, on_down: 'closed', timeout_ms: 100 },
      },
    }, 1);
    try {
      const client = stack.client('anything');
      const started = Date.now();
      const err = await apiError(client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('x') }));
      assert.equal(err.status, 503);
      assert.equal(err.code, 'limits_unavailable');
      assert.ok(Date.now() - started < 2000);
      const ok = await client.chat.completions.create({ model: 'gpt-4o', messages: user('x') });
      assert.equal(ok.object, 'chat.completion', 'models without limits do not need Redis');
      const status = await stack.admin('GET', '/admin/limits');
      assert.equal((status.body.redis as { fail_closed: number }).fail_closed, 1);
    } finally {
      await stack.stop();
    }
  });
});
