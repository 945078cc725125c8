// GET /admin/stats on a real gateway: real traffic through two server threads shows up per model, key
// and deployment; the gauges show a request waiting for its first token.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startStack, type Stack } from '../helpers/stack.js';

// Sampled every 100 ms instead of 10 s, so the test does not wait for steps (read by startConsole).
process.env.SWITCHYARD_STATS_STEP_MS = '100';

interface Stats {
  step_seconds: number;
  times: number[];
  totals: Record<string, number[]>;
  by_model: Record<string, Record<string, number[]>>;
  by_key: Record<string, Record<string, number[]>>;
  by_deployment: Record<string, Record<string, number[]>>;
  latency: Record<string, Array<number | null>>;
  now: { in_flight: number; waiting_first_token: number };
}

let stack: Stack;
let admin: string;
const auth = () => ({ authorization: `Bearer ${stack.gateway.adminToken}` });

before(async () => {
  stack = await startStack({
    threads: 2,
    extra: () => ({
      providers: [],
      models: [
        { name: 'broken', provider: 'sim', model: 'sim-fault-status-400' },
        { name: 'slow-start', provider: 'sim', model: 'sim-slow-60000' },
      ],
    }),
    config: { auth: 'keys' },
  });
  admin = `http://127.0.0.1:${stack.gateway.adminPort}`;
});

after(async () => {
  await stack?.stop();
  delete process.env.SWITCHYARD_STATS_STEP_MS;
});

async function stats(minutes = 60): Promise<Stats> {
  const res = await fetch(`${admin}/admin/stats?minutes=${minutes}`, { headers: auth() });
  assert.equal(res.status, 200);
  return (await res.json()) as Stats;
}

async function createKey(name: string): Promise<{ id: string; key: string }> {
  const res = await fetch(`${admin}/admin/keys`, { method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body: JSON.stringify({ name }) });
  assert.equal(res.status, 201);
  return (await res.json()) as { id: string; key: string };
}

/** Polls the stats (every 50 ms, at most 5 s) until `check` holds; returns the last answer. */
async function statsUntil(check: (s: Stats) => boolean, minutes: number): Promise<Stats> {
  let s = await stats(minutes);
  for (let i = 0; i < 100 && !check(s); i++) {
    await new Promise((r) => setTimeout(r, 50));
    s = await stats(minutes);
  }
  return s;
}

const total = (values: number[] | undefined) => (values ?? []).reduce((a, b) => a + b, 0);

test('stats reflect real traffic per model, key and deployment', async () => {
  const keyA = await createKey('team-a');
  const keyB = await createKey('team-b');
  const clientA = new OpenAI({ baseURL: stack.baseURL, apiKey: keyA.key, maxRetries: 0 });
  const clientB = new OpenAI({ baseURL: stack.baseURL, apiKey: keyB.key, maxRetries: 0 });
  const startedAt = Date.now() / 1000;

  let tokensA = 0;
  let tokensB = 0;
  let promptTokens = 0;
  let completionTokens = 0;
  for (let i = 0; i < 3; i++) {
    const r = await clientA.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `hello number ${i}` }] });
    tokensA += r.usage?.total_tokens ?? 0;
    promptTokens += r.usage?.prompt_tokens ?? 0;
    completionTokens += r.usage?.completion_tokens ?? 0;
  }
  const streamed = await clientB.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'stream please' }], stream: true, stream_options: { include_usage: true } });
  for await (const chunk of streamed) {
    if (chunk.usage) {
      tokensB += chunk.usage.total_tokens;
      promptTokens += chunk.usage.prompt_tokens;
      completionTokens += chunk.usage.completion_tokens;
    }
  }
  await assert.rejects(clientB.chat.completions.create({ model: 'broken', messages: [{ role: 'user', content: 'fail' }] }), (err: { status?: number }) => err.status === 400);

  // Wait until the sampler has seen all five requests.
  const s = await statsUntil((x) => total(x.totals.requests) >= 5, 60);
  assert.equal(total(s.totals.requests), 5, 'all five requests sampled');

  assert.equal(s.step_seconds, 0.1);
  assert.equal(s.times.length, s.totals.requests.length);
  assert.ok(s.times.every((t, i) => i === 0 || t > s.times[i - 1]), 'times ascend');
  assert.ok(s.times[s.times.length - 1] >= startedAt - 1);
  for (const series of Object.values(s.totals)) assert.equal(series.length, s.times.length);

  assert.equal(total(s.totals.requests), 5);
  assert.equal(total(s.totals.errors), 1);
  assert.equal(total(s.totals.prompt_tokens), promptTokens);
  assert.equal(total(s.totals.completion_tokens), completionTokens);

  assert.equal(total(s.by_model['gpt-4o-mini']?.requests), 3);
  assert.equal(total(s.by_model['gpt-4o']?.requests), 1);
  assert.equal(total(s.by_model.broken?.requests), 1);
  assert.equal(total(s.by_model.broken?.errors), 1);
  assert.equal(total(s.by_model['gpt-4o-mini']?.errors), 0);

  // The key label is the key id (metrics.key_label: id).
  assert.equal(total(s.by_key[keyA.id]?.requests), 3);
  assert.equal(total(s.by_key[keyA.id]?.tokens), tokensA);
  assert.equal(total(s.by_key[keyB.id]?.requests), 2);
  assert.equal(total(s.by_key[keyB.id]?.errors), 1);
  assert.equal(total(s.by_key[keyB.id]?.tokens), tokensB);

  assert.equal(total(s.by_deployment['sim/gpt-4o-mini']?.requests), 3);
  assert.equal(total(s.by_deployment['sim/gpt-4o']?.requests), 1);
  assert.ok(total(s.by_deployment['sim/sim-fault-status-400']?.errors) >= 1);

  // gpt-4o-mini is in the shipped price table: it cost something, and the totals add up per model.
  assert.ok(total(s.by_model['gpt-4o-mini']?.cost_usd) > 0);
  const byModelCost = Object.values(s.by_model).reduce((sum, m) => sum + total(m.cost_usd), 0);
  assert.ok(Math.abs(total(s.totals.cost_usd) - byModelCost) < 1e-9);

  const present = (values: Array<number | null>) => values.filter((v): v is number => v !== null);
  assert.ok(present(s.latency.duration_ms_p50).length > 0, 'a step with traffic has a duration');
  assert.ok(present(s.latency.duration_ms_p99).every((v) => v > 0));
  assert.ok(present(s.latency.ttft_ms_p50).length > 0, 'the streamed request has a time to first token');
  // However the steps fall (a loaded machine samples late), a step that saw no request has no latency.
  s.totals.requests.forEach((requests, i) => {
    if (!requests) assert.equal(s.latency.duration_ms_p50[i], null, `step ${i} had no traffic but a duration`);
  });

  const oneMinute = await stats(1);
  assert.ok(oneMinute.times.length <= 600);
});

test('now: a request waiting for its first token shows in in_flight and waiting_first_token', async () => {
  const { key } = await createKey('waiter');
  const client = new OpenAI({ baseURL: stack.baseURL, apiKey: key, maxRetries: 0 });
  const controller = new AbortController();
  const pending = client.chat.completions
    .create({ model: 'slow-start', messages: [{ role: 'user', content: 'wait' }], stream: true }, { signal: controller.signal })
    .catch(() => undefined);
  const s = await statsUntil((x) => x.now.waiting_first_token >= 1, 1);
  controller.abort();
  await pending;
  assert.equal(s.now.waiting_first_token, 1);
  assert.equal(s.now.in_flight, 1);
  const idle = await statsUntil((x) => x.now.in_flight === 0, 1);
  assert.equal(idle.now.in_flight, 0, 'the aborted request left the gauges');
});

test('minutes out of range is a 400 naming the parameter', async () => {
  for (const minutes of ['0', '61', 'abc']) {
    const res = await fetch(`${admin}/admin/stats?minutes=${minutes}`, { headers: auth() });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { param: string } };
    assert.equal(body.error.param, 'minutes');
  }
});
