// Load balancing and resilience through the gateway, the simulator's scripted faults as the weather and
// the official OpenAI SDK as the client: weighted shares, least_busy and least_latency preferring the
// faster deployment and noticing recovery, a 503 storm opening the breaker and traffic returning
// through half-open, Retry-After honoured, attempts bounded by the deadline, sticky sessions.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { startStack, type Stack } from '../helpers/stack.js';

const user = (content: string) => [{ role: 'user' as const, content }];
const group = (name: string, models: string[], extra: Record<string, unknown> = {}) => ({
  name,
  deployments: models.map((model) => ({ provider: 'sim', model, id: model })),
  ...extra,
});

describe('routing across deployments', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      extra: () => ({
        providers: [],
        models: [
          { name: 'weighted', deployments: [{ provider: 'sim', model: 'w-light', id: 'w-light', weight: 1 }, { provider: 'sim', model: 'w-heavy', id: 'w-heavy', weight: 3 }] },
          group('busy', ['busy-slow', 'busy-fast'], { strategy: 'least_busy' }),
          group('latency', ['lat-slow', 'lat-fast'], { strategy: 'least_latency' }),
          group('storm', ['storm-a', 'storm-b']),
          group('patient', ['patient-a'], { max_attempts: 2 }),
          group('hurried', ['hurried-a'], { max_attempts: 5, deadline_ms: 1200, retry: { backoff_ms: 400, max_backoff_ms: 400 } }),
          group('sticky', ['s-1', 's-2', 's-3', 's-4'], { sticky: { from: ['header'], header: 'x-session-id' } }),
        ],
      }),
      config: { routing: { breaker: { consecutive_failures: 3, cooldown_ms: 600 }, explore: 0.1 } },
    });
  });
  after(() => stack?.stop());
  beforeEach(() => stack.sim.reset());

  const answeredBy = async (model: string, headers: Record<string, string> = {}) => {
    const { response } = await stack.client.chat.completions.create({ model, messages: user('hi') }, { headers }).withResponse();
    return response.headers.get('x-switchyard-deployment') as string;
  };
  const countBy = (ids: string[]) => ids.reduce<Record<string, number>>((acc, id) => ((acc[id] = (acc[id] ?? 0) + 1), acc), {});

  test('weighted: the shares follow the weights within 4 standard deviations', async () => {
    const n = 400;
    const ids = await Promise.all(Array.from({ length: n }, () => answeredBy('weighted')));
    const heavy = countBy(ids)['w-heavy'] ?? 0;
    const sd = Math.sqrt(n * 0.75 * 0.25);
    assert.ok(Math.abs(heavy - 0.75 * n) < 4 * sd, `w-heavy answered ${heavy} of ${n}`);
  });

  test('least_busy sends new requests to the deployment with fewer in flight', async () => {
    stack.sim.script([{ model: 'busy-slow', ttft_ms: 300 }]);
    // Four clients in a loop for a second: requests pile up on the slow deployment, so the rest go to the fast one.
    const ids: string[] = [];
    const until = performance.now() + 1000;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (performance.now() < until) ids.push(await answeredBy('busy'));
      }),
    );
    const counts = countBy(ids);
    assert.ok((counts['busy-fast'] ?? 0) > 5 * (counts['busy-slow'] ?? 0), JSON.stringify(counts));
  });

  test('least_latency prefers the faster deployment, and notices when the slow one recovers', async () => {
    stack.sim.script([{ model: 'lat-slow', ttft_ms: 150 }]);
    const warm = [];
    for (let i = 0; i < 20; i++) warm.push(await answeredBy('latency'));
    const later = [];
    for (let i = 0; i < 30; i++) later.push(await answeredBy('latency'));
    const counts = countBy(later);
    assert.ok((counts['lat-fast'] ?? 0) >= 24, `after warming: ${JSON.stringify(counts)}`);
    // The slow one becomes the fast one: exploration gives it samples, and traffic moves.
    stack.sim.script([{ model: 'lat-fast', ttft_ms: 150 }]);
    const recovered = [];
    for (let i = 0; i < 80; i++) recovered.push(await answeredBy('latency'));
    const tail = countBy(recovered.slice(-30));
    assert.ok((tail['lat-slow'] ?? 0) >= 24, `after the swap: ${JSON.stringify(tail)}`);
  });

  test('a 503 storm opens the breaker, traffic shifts without a client error, then returns through half-open', async () => {
    stack.sim.script([{ model: 'storm-a', status: 503 }]);
    const during = [];
    for (let i = 0; i < 20; i++) during.push(await answeredBy('storm'));
    assert.ok(during.every((id) => id === 'storm-b'), 'every answer came from the healthy deployment');
    const stormHits = stack.sim.stats().byModel['storm-a'] ?? 0;
    assert.ok(stormHits >= 3 && stormHits < 10, `storm-a was asked ${stormHits} times: the breaker stopped the rest`);
    const admin = await adminDeployments(stack);
    assert.equal(deploymentIn(admin, 'storm', 'storm-a').breaker.state, 'open');
    stack.sim.script([]);
    await new Promise((r) => setTimeout(r, 700));
    const back = [];
    for (let i = 0; i < 40; i++) back.push(await answeredBy('storm'));
    assert.ok(back.includes('storm-a'), 'storm-a is back in rotation');
    assert.equal(deploymentIn(await adminDeployments(stack), 'storm', 'storm-a').breaker.state, 'closed');
  });

  test('Retry-After is honoured before retrying the same deployment', async () => {
    stack.sim.script([{ model: 'patient-a', status: 429, error: 'rate_limit', retry_after_s: 1, times: 1 }]);
    const started = performance.now();
    const { response } = await stack.client.chat.completions.create({ model: 'patient', messages: user('hi') }).withResponse();
    const waited = performance.now() - started;
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-switchyard-attempts'), '2');
    assert.ok(waited >= 950, `answered after ${waited.toFixed(0)} ms`);
    assert.equal(stack.sim.stats().byModel['patient-a'], 2);
  });

  test('attempts stop at the deadline: no retry starts after it', async () => {
    stack.sim.script([{ model: 'hurried-a', status: 503 }]);
    const started = performance.now();
    // The last failure is relayed (503), or the deadline cut the attempt waiting for its answer (504).
    await assert.rejects(stack.client.chat.completions.create({ model: 'hurried', messages: user('hi') }), (err: { status?: number }) => err.status === 503 || err.status === 504);
    const took = performance.now() - started;
    const asked = stack.sim.stats().byModel['hurried-a'] ?? 0;
    // Backoffs of 200–400 ms fit at most four attempts into 1.2 s; max_attempts (5) never binds.
    assert.ok(asked >= 2 && asked <= 4, `asked ${asked} times`);
    assert.ok(took < 1300, `gave up after ${took.toFixed(0)} ms`);
  });

  test('sticky sessions stay on one deployment and spread across them', async () => {
    const homes = new Map<string, string>();
    for (let s = 0; s < 12; s++) {
      const session = `session-${s}`;
      const seen = new Set<string>();
      for (let i = 0; i < 4; i++) seen.add(await answeredBy('sticky', { 'x-session-id': session }));
      assert.equal(seen.size, 1, `${session} moved: ${[...seen]}`);
      homes.set(session, [...seen][0]);
    }
    assert.ok(new Set(homes.values()).size >= 2, 'sessions spread over several deployments');
  });
});

interface AdminDeployment {
  id: string;
  breaker: { state: string };
  health: string;
  in_flight: number;
}

async function adminDeployments(stack: Stack): Promise<Array<{ model: string; deployments: AdminDeployment[] }>> {
  const res = await fetch(`http://127.0.0.1:${stack.gateway.adminPort}/admin/deployments`, { headers: { authorization: `Bearer ${stack.gateway.adminToken}` } });
  assert.equal(res.status, 200);
  return ((await res.json()) as { models: Array<{ model: string; deployments: AdminDeployment[] }> }).models;
}

function deploymentIn(models: Array<{ model: string; deployments: AdminDeployment[] }>, model: string, id: string): AdminDeployment {
  const found = models.find((m) => m.model === model)?.deployments.find((d) => d.id === id);
  assert.ok(found, `no deployment ${id} in ${model}`);
  return found;
}
