// The router's parts on real compiled config: the shared state table, breaker, capacity, strategies,
// sticky ring and the attempt order, with time and randomness passed in so each case is exact.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileRoutes } from '../../src/config/compile.js';
import { parseConfig } from '../../src/config/load.js';
import { createContext } from '../../src/pipeline/context.js';
import { AttemptRouter } from '../../src/routing/attempts.js';
import { BreakerState, DeploymentStateTable, I } from '../../src/routing/deployment-state.js';
import { sessionKeyOf, type ModelGroup } from '../../src/routing/group.js';
import { StickyRing } from '../../src/routing/sticky.js';
import type { PickRequest } from '../../src/routing/strategies.js';

function configWith(models: unknown[], routing: Record<string, unknown> = {}) {
  return parseConfig(
    JSON.stringify({ providers: [{ name: 'p', base_url: 'http://127.0.0.1:9/v1' }, { name: 'q', base_url: 'http://127.0.0.1:9/v1' }], models, routing }),
    'test',
  );
}

function group(deployments: unknown[], extra: Record<string, unknown> = {}, routing: Record<string, unknown> = {}): ModelGroup {
  const routes = compileRoutes(configWith([{ name: 'g', deployments, ...extra }], routing));
  return routes.groups.get('g') as ModelGroup;
}

/** A deterministic random source (mulberry32). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function request(over: Partial<PickRequest> = {}): PickRequest {
  return { now: 1_000_000, stream: false, promptTokens: 100, outputTokens: 100, random: seeded(1), explore: 0, ...over };
}


describe('shared state table', () => {
  test('a reload keeps the slots (and state) of keys that remain and gives new keys zeroed slots', () => {
    const table = DeploymentStateTable.create(['a', 'b'], ['g']);
    const a = table.slotOf('a');
    const b = table.slotOf('b');
    table.setInt(a, I.consecutiveFailures, 3);
    table.setInt(b, I.consecutiveFailures, 7);
    const next = new DeploymentStateTable(table.reassign(['a', 'c'], ['g', 'h']));
    assert.equal(next.slotOf('a'), a);
    assert.equal(next.int(next.slotOf('a'), I.consecutiveFailures), 3);
    assert.equal(next.int(next.slotOf('c'), I.consecutiveFailures), 0, 'a new key starts clean');
    assert.throws(() => next.slotOf('b'));
  });
});

describe('breaker', () => {
  const breaker = { consecutive_failures: 3, cooldown_ms: 1000, half_open_requests: 2, min_requests: 10, failure_rate: 0.5, window_s: 10 };

  test('consecutive failures open it; after the cooldown it lets trials through; their success closes it', () => {
    const m = group([{ provider: 'p', model: 'a' }], {}, { breaker }).members[0];
    const t0 = 5_000_000;
    for (let i = 0; i < 2; i++) m.end(t0, { ok: false, kind: '5xx', status: 503, retryAfterMs: undefined });
    assert.equal(m.breaker.state(), BreakerState.Closed);
    m.end(t0, { ok: false, kind: '5xx', status: 503, retryAfterMs: undefined });
    assert.equal(m.breaker.state(), BreakerState.Open);
    assert.equal(m.outOfRotation(t0 + 999), 'breaker_open');
    assert.equal(m.outOfRotation(t0 + 1000), undefined, 'past the cooldown it may be tried');
    m.begin(t0 + 1000, 0);
    assert.equal(m.breaker.state(), BreakerState.HalfOpen);
    m.begin(t0 + 1001, 0);
    assert.equal(m.outOfRotation(t0 + 1002), 'breaker_open', 'both trial permits are taken');
    m.end(t0 + 1100, { ok: true, latencyUs: 1000, stream: false });
    assert.equal(m.breaker.state(), BreakerState.HalfOpen, 'one trial is not enough');
    m.end(t0 + 1100, { ok: true, latencyUs: 1000, stream: false });
    assert.equal(m.breaker.state(), BreakerState.Closed);
    assert.deepEqual([m.table.int(m.slot, I.toOpen), m.table.int(m.slot, I.toHalfOpen), m.table.int(m.slot, I.toClosed)], [1, 1, 1]);
  });

  test('a failed trial opens it again for a new cooldown', () => {
    const m = group([{ provider: 'p', model: 'b' }], {}, { breaker }).members[0];
    const t0 = 7_000_000;
    for (let i = 0; i < 3; i++) m.end(t0, { ok: false, kind: 'connect', status: 502, retryAfterMs: undefined });
    m.begin(t0 + 1500, 0);
    m.end(t0 + 1600, { ok: false, kind: 'timeout', status: 504, retryAfterMs: undefined });
    assert.equal(m.breaker.state(), BreakerState.Open);
    assert.equal(m.outOfRotation(t0 + 2500), 'breaker_open');
    assert.equal(m.outOfRotation(t0 + 2600), undefined);
  });

  test('the failure rate over the window opens it once the window holds min_requests', () => {
    const m = group([{ provider: 'p', model: 'c' }], {}, { breaker: { ...breaker, consecutive_failures: 100 } }).members[0];
    const t0 = 9_000_000;
    // Alternating: never 3 in a row, but half of them fail.
    for (let i = 0; i < 8; i++) m.end(t0, i % 2 ? { ok: false, kind: '5xx', status: 500, retryAfterMs: undefined } : { ok: true, latencyUs: 10, stream: false });
    assert.equal(m.breaker.state(), BreakerState.Closed, 'below min_requests');
    m.end(t0, { ok: true, latencyUs: 10, stream: false });
    m.end(t0, { ok: false, kind: '5xx', status: 500, retryAfterMs: undefined });
    assert.equal(m.breaker.state(), BreakerState.Open);
  });

  test('a 429 cools the deployment down for its Retry-After without counting against the breaker; a context-length error counts for nothing', () => {
    const m = group([{ provider: 'p', model: 'd' }], {}, { breaker }).members[0];
    const t0 = 11_000_000;
    for (let i = 0; i < 5; i++) m.end(t0, { ok: false, kind: '429', status: 429, retryAfterMs: 2000 });
    assert.equal(m.breaker.state(), BreakerState.Closed);
    assert.equal(m.outOfRotation(t0 + 1999), 'cooling_down');
    assert.equal(m.outOfRotation(t0 + 2000), undefined);
    for (let i = 0; i < 5; i++) m.end(t0, { ok: false, kind: 'context_length', status: 400, retryAfterMs: undefined });
    assert.equal(m.breaker.state(), BreakerState.Closed);
  });
});

describe('capacity', () => {
  test('rpm and tpm bound what a deployment takes, over a sliding minute', () => {
    const m = group([{ provider: 'p', model: 'e', rpm: 3, tpm: 1000 }]).members[0];
    const minute = 60_000 * 1000;
    for (let i = 0; i < 3; i++) m.begin(minute + i, 100);
    assert.equal(m.hasRoom(minute + 10, 100), false, 'rpm reached');
    // Half-way through the next minute, half of the previous minute still counts: 1.5 + 1 ≤ 3.
    assert.equal(m.hasRoom(minute + 90_000, 100), true);
    assert.equal(m.hasRoom(minute + 90_000, 900), false, 'tpm: 150 + 900 > 1000');
  });
});

describe('strategies', () => {
  test('weighted: shares follow the weights within 3 standard deviations', () => {
    const g = group([
      { provider: 'p', model: 'w1', weight: 1 },
      { provider: 'p', model: 'w2', weight: 3 },
    ]);
    const req = request({ random: seeded(42) });
    const n = 20_000;
    let heavy = 0;
    for (let i = 0; i < n; i++) if (g.pick(req, undefined, undefined, undefined, 'room')?.id === 'p/w2') heavy++;
    const sd = Math.sqrt(n * 0.75 * 0.25);
    assert.ok(Math.abs(heavy - n * 0.75) < 3 * sd, `heavy got ${heavy} of ${n}`);
  });

  test('round_robin cycles through the deployments, stepping over one out of rotation', () => {
    const g = group([{ provider: 'p', model: 'r1' }, { provider: 'p', model: 'r2' }, { provider: 'p', model: 'r3' }], { strategy: 'round_robin' });
    const req = request();
    const picks = Array.from({ length: 6 }, () => g.pick(req, undefined, undefined, undefined, 'room')?.id);
    assert.deepEqual(picks, ['p/r1', 'p/r2', 'p/r3', 'p/r1', 'p/r2', 'p/r3']);
    g.members[1].end(req.now, { ok: false, kind: '429', status: 429, retryAfterMs: 60_000 });
    const after = Array.from({ length: 4 }, () => g.pick(req, undefined, undefined, undefined, 'room')?.id);
    assert.ok(!after.includes('p/r2'));
  });

  test('least_busy prefers the deployment with fewer in flight', () => {
    const g = group([{ provider: 'p', model: 'b1' }, { provider: 'p', model: 'b2' }], { strategy: 'least_busy' });
    const req = request();
    g.members[0].begin(req.now, 0);
    g.members[0].begin(req.now, 0);
    g.members[1].begin(req.now, 0);
    for (let i = 0; i < 50; i++) assert.equal(g.pick(req, undefined, undefined, undefined, 'room')?.id, 'p/b2');
  });

  test('least_latency prefers the faster EWMA, and explores at the configured share', () => {
    const g = group([{ provider: 'p', model: 'l1' }, { provider: 'p', model: 'l2' }], { strategy: 'least_latency' });
    const req = request({ random: seeded(7) });
    g.members[0].end(req.now, { ok: true, latencyUs: 50_000, stream: false });
    g.members[1].end(req.now, { ok: true, latencyUs: 5_000, stream: false });
    for (let i = 0; i < 50; i++) assert.equal(g.pick(req, undefined, undefined, undefined, 'room')?.id, 'p/l2');
    const exploring = { ...req, explore: 0.2 };
    let slow = 0;
    for (let i = 0; i < 5000; i++) if (g.pick(exploring, undefined, undefined, undefined, 'room')?.id === 'p/l1') slow++;
    // Exploration picks at random among two: about half of 20%.
    assert.ok(slow > 350 && slow < 650, `explored the slow one ${slow} times`);
  });

  test('lowest_cost picks the cheapest for the request\'s mix of input and output tokens, as a brute force would', () => {
    const prices = [
      { input: 1, output: 10 },
      { input: 5, output: 5 },
      { input: 10, output: 1 },
      { input: 3, output: 8 },
      { input: 8, output: 8 },
    ];
    const g = group(prices.map((price, i) => ({ provider: 'p', model: `c${i}`, price })), { strategy: 'lowest_cost' });
    for (const [inTok, outTok] of [[1000, 1], [1, 1000], [500, 500], [900, 100], [100, 900], [700, 300]]) {
      const chosen = g.pick(request({ promptTokens: inTok, outputTokens: outTok }), undefined, undefined, undefined, 'room');
      const costs = prices.map((p) => p.input * inTok + p.output * outTok);
      assert.equal(costs[Number(chosen?.id.slice(3))], Math.min(...costs), `in ${inTok} out ${outTok}: chose ${chosen?.id}`);
    }
  });

  test('usage_based prefers the deployment with the most capacity left', () => {
    const g = group([{ provider: 'p', model: 'u1', rpm: 100 }, { provider: 'p', model: 'u2', rpm: 100 }], { strategy: 'usage_based' });
    const req = request();
    for (let i = 0; i < 30; i++) g.members[0].begin(req.now, 0);
    for (let i = 0; i < 20; i++) assert.equal(g.pick(req, undefined, undefined, undefined, 'room')?.id, 'p/u2');
  });

  test('a lower tier is used only when every deployment of the tier before it is unavailable', () => {
    const g = group([{ provider: 'p', model: 't1' }, { provider: 'p', model: 't2', priority: 2 }]);
    const req = request();
    assert.equal(g.pick(req, undefined, undefined, undefined, 'room')?.id, 'p/t1');
    g.members[0].end(req.now, { ok: false, kind: '429', status: 429, retryAfterMs: 10_000 });
    assert.equal(g.pick(req, undefined, undefined, undefined, 'room')?.id, 'p/t2');
  });
});

describe('sticky sessions', () => {
  test('a session stays on its deployment, and adding one moves only about its share of sessions', () => {
    const four = group(['s1', 's2', 's3', 's4'].map((model) => ({ provider: 'p', model })));
    const five = group(['s1', 's2', 's3', 's4', 's5'].map((model) => ({ provider: 'p', model })));
    const ringOf = (g: ModelGroup) => new StickyRing(g.members);
    const before = ringOf(four);
    const after = ringOf(five);
    const any = () => true;
    let moved = 0;
    const n = 10_000;
    for (let i = 0; i < n; i++) {
      const key = `session-${i}`;
      assert.equal(before.pick(key, any)?.id, before.pick(key, any)?.id);
      const was = before.pick(key, any)?.id;
      const now = after.pick(key, any)?.id;
      if (was !== now) {
        moved++;
        assert.equal(now, 'p/s5', 'a session moves only to the new deployment');
      }
    }
    // The new deployment's fair share is 1/5 of the sessions.
    assert.ok(moved > n * 0.14 && moved < n * 0.26, `moved ${moved} of ${n}`);
  });

  test('a session whose deployment is out goes to the next owner on the ring, and comes back', () => {
    const g = group(['k1', 'k2', 'k3'].map((model) => ({ provider: 'p', model })));
    const ring = new StickyRing(g.members);
    const home = ring.pick('user-1', () => true);
    const away = ring.pick('user-1', (m) => m !== home);
    assert.notEqual(away, home);
    assert.equal(ring.pick('user-1', () => true), home);
  });
});

describe('session keys', () => {
  const ctxWith = (headers: Record<string, string>, json: Record<string, unknown>, dialect: 'openai-chat' | 'anthropic-messages' = 'openai-chat') => {
    const ctx = createContext({ method: 'POST', path: '/v1/chat/completions', query: '', headers, remoteAddress: '' }, Buffer.from('{}'), 'chat.completions', dialect);
    ctx.json = json;
    ctx.key = { id: 'key_7', name: 'team' };
    return ctx;
  };

  test('the first configured source present wins: header, OpenAI user, Anthropic metadata.user_id, virtual key', () => {
    const all = { from: ['header', 'user', 'metadata.user_id', 'key'] as const, header: 'x-session-id' };
    const sticky = { ...all, from: [...all.from] };
    assert.equal(sessionKeyOf(ctxWith({ 'x-session-id': 's-1' }, { user: 'u-1' }), sticky), 's-1');
    assert.equal(sessionKeyOf(ctxWith({}, { user: 'u-1' }), sticky), 'u-1');
    // An Anthropic client's metadata.user_id arrives as the canonical user; `user` names only an OpenAI client's.
    assert.equal(sessionKeyOf(ctxWith({}, { user: 'a-1' }, 'anthropic-messages'), { ...sticky, from: ['user', 'key'] }), 'key_7');
    assert.equal(sessionKeyOf(ctxWith({}, { user: 'a-1' }, 'anthropic-messages'), { ...sticky, from: ['metadata.user_id'] }), 'a-1');
    assert.equal(sessionKeyOf(ctxWith({}, {}), { ...sticky, from: ['key'] }), 'key_7');
    assert.equal(sessionKeyOf(ctxWith({}, {}), { ...sticky, from: ['header', 'user'] }), undefined);
  });
});

describe('attempt order', () => {
  const ctxFor = (body: Record<string, unknown>) => {
    const raw = Buffer.from(JSON.stringify(body));
    const ctx = createContext({ method: 'POST', path: '/v1/chat/completions', query: '', headers: {}, remoteAddress: '' }, raw, 'chat.completions');
    ctx.json = body;
    ctx.model = String(body.model);
    ctx.maxOutputTokens = typeof body.max_tokens === 'number' ? body.max_tokens : undefined;
    return ctx;
  };

  test('deployments whose context window is too small are skipped; none fitting is a 400 context_length_exceeded', () => {
    const config = configWith([
      { name: 'g', deployments: [{ provider: 'p', model: 'small', context_window: 50 }, { provider: 'q', model: 'big', context_window: 10_000 }] },
      { name: 'tiny', deployments: [{ provider: 'p', model: 'small', context_window: 50 }] },
    ]);
    const routes = compileRoutes(config);
    const long = { model: 'g', messages: [{ role: 'user', content: 'x'.repeat(400) }], max_tokens: 10 };
    const router = new AttemptRouter(routes.groups.get('g') as ModelGroup, routes.groups, ctxFor(long), config.routing);
    const first = router.first();
    assert.ok(!(first instanceof Error));
    assert.equal(first.member.id, 'q/big');
    const refused = new AttemptRouter(routes.groups.get('tiny') as ModelGroup, routes.groups, ctxFor({ ...long, model: 'tiny' }), config.routing).first();
    assert.ok(refused instanceof Error);
    assert.equal((refused as { status: number }).status, 400);
    assert.equal((refused as { code: string }).code, 'context_length_exceeded');
  });

  test('untried deployments come first and at once; a tried one again only after its Retry-After; never past the deadline', () => {
    const config = configWith([{ name: 'g', deployments: [{ provider: 'p', model: 'x' }, { provider: 'q', model: 'y' }], max_attempts: 4, deadline_ms: 5000 }]);
    const routes = compileRoutes(config);
    const router = new AttemptRouter(routes.groups.get('g') as ModelGroup, routes.groups, ctxFor({ model: 'g', messages: [] }), config.routing);
    const first = router.first();
    assert.ok(!(first instanceof Error));
    router.begin(first);
    const failure = { kind: '429' as const, status: 429, retryAfterMs: 1500, quotaExhausted: false, detail: 'rate limited' };
    router.failed(failure);
    const second = router.next(failure);
    assert.ok(second);
    assert.notEqual(second.member, first.member);
    assert.equal(second.delayMs, 0);
    router.begin(second);
    router.failed(failure);
    const third = router.next(failure);
    assert.ok(third);
    assert.ok(third.delayMs >= 1400 && third.delayMs <= 1500, `waited ${third.delayMs} ms`);
    router.begin(third);
    const long = { ...failure, retryAfterMs: 60_000 };
    router.failed(long);
    const fourth = router.next(long);
    assert.ok(fourth);
    assert.notEqual(fourth.member, third.member, 'the deployment that asked for a minute is not waited for');
    assert.ok(fourth.delayMs <= 1500);
    router.begin(fourth);
    router.failed(failure);
    assert.equal(router.next(failure), undefined, 'max_attempts reached');
  });

  test('a wait that would end past the deadline is not taken', () => {
    const config = configWith([{ name: 'g', provider: 'p', model: 'z', max_attempts: 3, deadline_ms: 1000 }]);
    const routes = compileRoutes(config);
    const router = new AttemptRouter(routes.groups.get('g') as ModelGroup, routes.groups, ctxFor({ model: 'g', messages: [] }), config.routing);
    const first = router.first();
    assert.ok(!(first instanceof Error));
    router.begin(first);
    const fiveHundred = { kind: '5xx' as const, status: 503, retryAfterMs: 1500, quotaExhausted: false, detail: 'HTTP 503' };
    router.failed(fiveHundred);
    assert.equal(router.next(fiveHundred), undefined);
    const quick = { ...fiveHundred, retryAfterMs: 100 };
    const again = new AttemptRouter(routes.groups.get('g') as ModelGroup, routes.groups, ctxFor({ model: 'g', messages: [] }), config.routing);
    const one = again.first();
    assert.ok(!(one instanceof Error));
    again.begin(one);
    again.failed(quick);
    const retry = again.next(quick);
    assert.ok(retry, 'a short wait within the deadline is taken');
    assert.equal(retry.member, one.member);
    assert.ok(retry.delayMs >= 100);
  });
});
