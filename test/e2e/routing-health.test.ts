// Active health checks through a real gateway and the simulator, the official OpenAI SDK as the client:
// the checks' own POST bodies in each family's shape, a deployment they find out of credit taken out of
// rotation (traffic moves to the other one) and put back once the fault is cleared, all shown by
// GET /admin/deployments.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RecordedRequest } from '../../src/simulator/server.js';
import { startStack, upstreamKey, type Stack } from '../helpers/stack.js';

const user = (content: string) => [{ role: 'user' as const, content }];
const interval = 200;
const quotaInterval = 500;
const jitter = 0.1;

function pool(simPort: number) {
  return {
    providers: [{ name: 'anthropic', type: 'anthropic', base_url: `http://127.0.0.1:${simPort}`, api_key: 'sk-ant-health-test' }],
    models: [
      {
        name: 'pool',
        deployments: [
          { provider: 'sim', model: 'hc-primary', id: 'primary' },
          { provider: 'anthropic', model: 'claude-hc', id: 'backup', priority: 2 },
        ],
      },
    ],
  };
}

interface DeploymentView {
  id: string;
  health: string;
  in_rotation: boolean;
  out_of_rotation: string | null;
  last_check: { at: string; result: string; status: number | null; message: string | null; duration_ms: number } | null;
}

async function deploymentsOf(stack: Stack, model: string): Promise<Record<string, DeploymentView>> {
  const res = await fetch(`http://127.0.0.1:${stack.gateway.adminPort}/admin/deployments`, { headers: { authorization: `Bearer ${stack.gateway.adminToken}` } });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { models: Array<{ model: string; deployments: DeploymentView[] }> };
  const group = body.models.find((m) => m.model === model);
  assert.ok(group, `no group ${model} in /admin/deployments`);
  return Object.fromEntries(group.deployments.map((d) => [d.id, d]));
}

/** Polls the admin API until deployment `id` of the pool has `health`; returns its view. */
async function healthBecomes(stack: Stack, id: string, health: string, timeoutMs = 5000): Promise<DeploymentView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = (await deploymentsOf(stack, 'pool'))[id];
    if (view.health === health) return view;
    if (Date.now() > deadline) assert.fail(`${id} stayed ${view.health}, want ${health}: ${JSON.stringify(view.last_check)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const isCheck = (r: RecordedRequest) => r.headers['x-switchyard-health-check'] === '1';
const forModel = (model: string) => (r: RecordedRequest) => r.model === model;

describe('active health checks', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      extra: pool,
      simulator: { keep_requests: 2000 },
      config: { routing: { health_checks: { enabled: true, interval_ms: interval, jitter, quota_interval_ms: quotaInterval, unhealthy_after: 2, healthy_after: 1, timeout_ms: 2000 } } },
    });
  });
  after(() => stack?.stop());

  test('each deployment gets a tiny real POST in its own family wire shape, marked as a check', async () => {
    await healthBecomes(stack, 'primary', 'healthy');
    await healthBecomes(stack, 'backup', 'healthy');
    const last = stack.sim.stats().last.filter(isCheck);
    const openai = last.find(forModel('hc-primary'));
    assert.ok(openai, 'no check reached the OpenAI deployment');
    assert.equal(openai.method, 'POST');
    assert.equal(openai.path, '/v1/chat/completions');
    assert.deepEqual(openai.body, { messages: [{ role: 'user', content: 'ping' }], max_tokens: 1, model: 'hc-primary', stream: false });
    assert.equal(openai.headers.authorization, `Bearer ${upstreamKey}`);
    const anthropic = last.find(forModel('claude-hc'));
    assert.ok(anthropic, 'no check reached the Anthropic deployment');
    assert.equal(anthropic.path, '/v1/messages');
    assert.deepEqual(anthropic.body, { model: 'claude-hc', messages: [{ role: 'user', content: 'ping' }], max_tokens: 1 });
    assert.equal(anthropic.headers['x-api-key'], 'sk-ant-health-test');
    assert.equal(typeof anthropic.headers['anthropic-version'], 'string');

    const views = await deploymentsOf(stack, 'pool');
    assert.equal(views.primary.last_check?.result, 'healthy');
    assert.equal(views.primary.last_check?.status, 200);
    assert.equal(views.backup.last_check?.status, 200);
    assert.ok(Date.now() - Date.parse(views.primary.last_check?.at ?? '') < 5000);
  });

  test('a deployment the checks find out of credit leaves rotation, is rechecked at the quota interval, and returns once cleared', async () => {
    const first = await stack.client.chat.completions.create({ model: 'pool', messages: user('before') }).withResponse();
    assert.equal(first.response.headers.get('x-switchyard-deployment'), 'primary');

    stack.sim.script([{ model: 'hc-primary', error: 'insufficient_quota', status: 429 }]);
    const out = await healthBecomes(stack, 'primary', 'quota_exhausted');
    assert.equal(out.in_rotation, false);
    assert.equal(out.out_of_rotation, 'unhealthy');
    assert.equal(out.last_check?.result, 'quota_exhausted');
    assert.equal(out.last_check?.status, 429);
    assert.match(out.last_check?.message ?? '', /out of credit .*exceeded your current quota/);
    const quotaAt = Date.parse(out.last_check?.at ?? '');

    const sentFrom = stack.sim.stats().last.length;
    for (let i = 0; i < 5; i++) {
      const { data, response } = await stack.client.chat.completions.create({ model: 'pool', messages: user(`while out ${i}`) }).withResponse();
      assert.ok((data.choices[0].message.content ?? '').length > 0);
      assert.equal(response.headers.get('x-switchyard-deployment'), 'backup');
      assert.equal(response.headers.get('x-switchyard-attempts'), '1', 'the router did not even try the exhausted deployment');
    }
    const traffic = stack.sim.stats().last.slice(sentFrom).filter((r) => !isCheck(r));
    assert.equal(traffic.filter(forModel('hc-primary')).length, 0);
    assert.equal(traffic.filter((r) => r.path === '/v1/messages').length, 5);

    // Rechecked at the quota interval, not every interval: wait for the next check after the one that found it.
    await new Promise((r) => setTimeout(r, quotaInterval * (1 + jitter) + 100));
    const checks = stack.sim.stats().last.filter((r) => isCheck(r) && r.model === 'hc-primary' && r.at >= quotaAt - 50);
    assert.ok(checks.length >= 2, `${checks.length} checks since the quota was found`);
    for (let i = 1; i < checks.length; i++) {
      const gap = checks[i].at - checks[i - 1].at;
      assert.ok(gap >= quotaInterval * (1 - jitter) - 20, `checks ${gap} ms apart while out of credit`);
    }

    stack.sim.script([]);
    const back = await healthBecomes(stack, 'primary', 'healthy', quotaInterval * 4);
    assert.equal(back.in_rotation, true);
    assert.equal(back.last_check?.result, 'healthy');
    const again = await stack.client.chat.completions.create({ model: 'pool', messages: user('after') }).withResponse();
    assert.equal(again.response.headers.get('x-switchyard-deployment'), 'primary');
  });

  test("Anthropic's exhausted credit (a 400) is read as quota too", async () => {
    stack.sim.script([{ model: 'claude-hc', error: 'insufficient_quota' }]);
    try {
      const out = await healthBecomes(stack, 'backup', 'quota_exhausted');
      assert.equal(out.last_check?.status, 400);
      assert.match(out.last_check?.message ?? '', /credit balance is too low/);
      assert.equal((await deploymentsOf(stack, 'pool')).primary.health, 'healthy');
    } finally {
      stack.sim.script([]);
    }
    await healthBecomes(stack, 'backup', 'healthy', quotaInterval * 4);
  });

  test('metrics count the checks by deployment and result', async () => {
    const res = await fetch(`http://127.0.0.1:${stack.gateway.adminPort}/metrics`, { headers: { authorization: `Bearer ${stack.gateway.adminToken}` } });
    const text = await res.text();
    assert.match(text, /switchyard_health_checks_total\{deployment="sim\/hc-primary",result="healthy"\} \d+/);
    assert.match(text, /switchyard_health_checks_total\{deployment="sim\/hc-primary",result="quota_exhausted"\} [1-9]/);
    assert.match(text, /switchyard_deployment_health\{deployment="anthropic\/claude-hc"\} 1/);
  });
});
