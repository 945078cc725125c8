// Active health checks against a real local HTTP server scripted per request: the exact request each
// provider family gets, the thresholds, insufficient_quota and 429, the jittered schedule, and stop().
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { after, afterEach, before, describe, test } from 'node:test';
import { compileRoutes } from '../../src/config/compile.js';
import { parseConfig } from '../../src/config/load.js';
import { loadAdapters } from '../../src/providers/registry.js';
import { stateKeysOf } from '../../src/routing/compile-groups.js';
import { DeploymentStateTable, Health, I, T } from '../../src/routing/deployment-state.js';
import { checkedDeployments, firstCheckDelay, nextCheckDelay, startHealthChecks, type HealthChecks } from '../../src/routing/health-check.js';
import { classifyAnswer } from '../../src/routing/health-probe.js';
import type { LiveDeployment } from '../../src/routing/live-deployment.js';
import { routingMetrics } from '../../src/routing/metrics.js';
import { SecretRedactor } from '../../src/pipeline/secret-redaction.js';
import { setLogLevel } from '../../src/shared/log.js';

setLogLevel('error');

const upstreamKey = 'sk-health-upstream-key-0123456789';

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
  /** Resolves when the client closed the connection before an answer was sent. */
  abandoned: Promise<void>;
  respond(status: number, body: unknown, headers?: Record<string, string>): void;
}

/** An upstream that hands each request to the test, which answers it (or not) when it chooses. */
class ScriptedUpstream {
  readonly received: Received[] = [];
  private waiters: Array<(r: Received) => void> = [];
  private unclaimed: Received[] = [];
  readonly server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let answered = false;
      const r: Received = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
        abandoned: new Promise((resolve) => res.on('close', () => (answered ? undefined : resolve()))),
        respond: (status, body, headers = {}) => {
          answered = true;
          send(res, status, body, headers);
        },
      };
      this.received.push(r);
      const waiter = this.waiters.shift();
      if (waiter) waiter(r);
      else this.unclaimed.push(r);
    });
  });

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  /** The next request to arrive (or the oldest one not yet taken). */
  next(timeoutMs = 5000): Promise<Received> {
    const waiting = this.unclaimed.shift();
    if (waiting) return Promise.resolve(waiting);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no health check arrived')), timeoutMs);
      this.waiters.push((r) => {
        clearTimeout(timer);
        resolve(r);
      });
    });
  }

  /** Waits for the next request without taking it: the previous check's result is written by then. */
  async arrival(): Promise<void> {
    this.unclaimed.unshift(await this.next());
  }

  reset(): void {
    this.received.length = 0;
    this.unclaimed = [];
    this.waiters = [];
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(typeof body === 'string' ? body : JSON.stringify(body));
}

const completion = { id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'x', choices: [{ index: 0, message: { role: 'assistant', content: 'p' }, finish_reason: 'length' }] };
const quotaBody = { error: { message: 'You exceeded your current quota, please check your plan and billing details.', type: 'insufficient_quota', param: null, code: 'insufficient_quota' } };
const rateBody = { error: { message: 'Rate limit reached for requests', type: 'requests', param: null, code: 'rate_limit_exceeded' } };

let upstream: ScriptedUpstream;
let running: HealthChecks | undefined;
before(async () => {
  upstream = new ScriptedUpstream();
  await new Promise<void>((resolve) => upstream.server.listen(0, '127.0.0.1', resolve));
});
after(() => new Promise<void>((resolve) => upstream.server.close(() => resolve())));
afterEach(async () => {
  await running?.stop();
  running = undefined;
  upstream.reset();
});

/** Health checks over a config of providers on the scripted upstream (`checks` merged into routing.health_checks). */
async function start(spec: { providers?: unknown[]; models: unknown[]; checks?: Record<string, unknown>; routing?: Record<string, unknown> }, random: () => number = () => 0) {
  const origin = `http://127.0.0.1:${upstream.port}`;
  const providers = spec.providers ?? [{ name: 'oa', type: 'openai', base_url: `${origin}/v1`, api_key: upstreamKey }];
  const health_checks = { enabled: true, interval_ms: 100, jitter: 0, timeout_ms: 2000, ...spec.checks };
  const config = parseConfig(JSON.stringify({ providers, models: spec.models, routing: { ...spec.routing, health_checks } }), 'test', {});
  await loadAdapters(config.providers.map((p) => p.type));
  const { keys, groups: names } = stateKeysOf(config);
  const table = DeploymentStateTable.create(keys, names);
  const { groups } = compileRoutes(config, table.memory);
  const metrics = routingMetrics(groups);
  const checks = startHealthChecks({ config, groups, table, metrics, random });
  running = checks;
  const member = (key: string) => [...groups.values()].flatMap((g) => g.members).find((m) => m.deployment.stateKey === key) as LiveDeployment;
  return { config, groups, table, checks, metrics, member };
}

describe('the check request', () => {
  test('OpenAI family: the configured body, with the model and stream:false, POSTed to the chat path', async () => {
    const { checks, table, member } = await start({ models: [{ name: 'm', provider: 'oa', model: 'gpt-up' }], checks: { healthy_after: 3 } });
    const r = await upstream.next();
    assert.equal(r.method, 'POST');
    assert.equal(r.url, '/v1/chat/completions');
    assert.deepEqual(JSON.parse(r.body), { messages: [{ role: 'user', content: 'ping' }], max_tokens: 1, model: 'gpt-up', stream: false });
    assert.equal(r.headers.authorization, `Bearer ${upstreamKey}`);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['x-switchyard-health-check'], '1');
    assert.match(String(r.headers['x-request-id']), /^hc-/);
    r.respond(200, completion);
    await upstream.arrival();
    assert.equal(table.int(member('oa/gpt-up').slot, I.health), Health.Healthy, 'never checked before: healthy at the first success');
    const detail = checks.detail('oa/gpt-up');
    assert.equal(detail?.result, 'healthy');
    assert.equal(detail?.status, 200);
    assert.equal(detail?.message, null);
    assert.ok(!Number.isNaN(Date.parse(detail?.at ?? '')));
  });

  test('Anthropic: a Messages request (model, max_tokens, messages) to /v1/messages with its auth headers', async () => {
    const providers = [{ name: 'ant', type: 'anthropic', base_url: `http://127.0.0.1:${upstream.port}`, api_key: upstreamKey }];
    const checks = { body: { messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }], max_tokens: 2 } };
    await start({ providers, models: [{ name: 'claude', provider: 'ant', model: 'claude-up' }], checks });
    const r = await upstream.next();
    assert.equal(r.url, '/v1/messages');
    assert.deepEqual(JSON.parse(r.body), { model: 'claude-up', system: 'be brief', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
    assert.equal(r.headers['x-api-key'], upstreamKey);
    assert.equal(typeof r.headers['anthropic-version'], 'string');
    assert.equal(r.headers.authorization, undefined);
    assert.equal(r.headers['x-switchyard-health-check'], '1');
    r.respond(200, { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-up', content: [{ type: 'text', text: 'h' }], stop_reason: 'max_tokens', usage: { input_tokens: 3, output_tokens: 1 } });
  });

  test('Gemini and Bedrock: their own paths and auth, Bedrock signed with SigV4', async () => {
    const origin = `http://127.0.0.1:${upstream.port}`;
    const providers = [
      { name: 'gem', type: 'gemini', base_url: origin, api_key: 'gemini-health-key' },
      { name: 'br', type: 'bedrock', base_url: origin, region: 'us-east-1', aws_access_key_id: 'AKIDHEALTHCHECK', aws_secret_access_key: 'health-secret' },
    ];
    await start({ providers, models: [{ name: 'g', provider: 'gem', model: 'gemini-up' }, { name: 'b', provider: 'br', model: 'anthropic.claude-up' }] });
    const seen = new Map<string, Received>();
    for (let i = 0; i < 2; i++) {
      const r = await upstream.next();
      seen.set(r.url.includes('gemini-up') ? 'gemini' : 'bedrock', r);
    }
    const gemini = seen.get('gemini') as Received;
    assert.match(gemini.url, /\/models\/gemini-up:generateContent$/);
    assert.equal(gemini.headers['x-goog-api-key'], 'gemini-health-key');
    const gBody = JSON.parse(gemini.body);
    assert.deepEqual(gBody.contents, [{ role: 'user', parts: [{ text: 'ping' }] }]);
    assert.equal(gBody.generationConfig.maxOutputTokens, 1);
    const bedrock = seen.get('bedrock') as Received;
    assert.equal(decodeURIComponent(bedrock.url), '/model/anthropic.claude-up/converse');
    assert.match(String(bedrock.headers.authorization), /^AWS4-HMAC-SHA256 Credential=AKIDHEALTHCHECK\/\d{8}\/us-east-1\/bedrock\/aws4_request/);
    assert.match(String(bedrock.headers['x-amz-date']), /^\d{8}T\d{6}Z$/);
    assert.equal(bedrock.headers['x-switchyard-health-check'], '1');
    const bBody = JSON.parse(bedrock.body);
    assert.deepEqual(bBody.messages, [{ role: 'user', content: [{ text: 'ping' }] }]);
    assert.equal(bBody.inferenceConfig.maxTokens, 1);
  });

  test('deployments with health_check: false are left out; a state key shared by groups is checked once', async () => {
    const { config, groups } = await start({
      models: [
        { name: 'a', deployments: [{ provider: 'oa', model: 'x' }, { provider: 'oa', model: 'y', health_check: false }] },
        { name: 'b', provider: 'oa', model: 'x' },
      ],
    });
    assert.deepEqual(checkedDeployments(config, groups).map((m) => m.deployment.stateKey), ['oa/x']);
    for (let i = 0; i < 3; i++) {
      const r = await upstream.next();
      assert.equal(JSON.parse(r.body).model, 'x');
      r.respond(200, completion);
    }
  });
});

describe('results and thresholds', () => {
  test('down only after unhealthy_after failures, back only after healthy_after successes', async () => {
    const { table, member, checks, metrics } = await start({ models: [{ name: 'm', provider: 'oa' }], checks: { unhealthy_after: 3, healthy_after: 2 } });
    const m = member('oa/m');
    const healthAt = async (status: number) => {
      (await upstream.next()).respond(status, status === 200 ? completion : { error: { message: 'boom' } });
      // The next check arrives only once this one's result is written.
      await upstream.arrival();
      return table.int(m.slot, I.health);
    };
    assert.equal(await healthAt(503), Health.Unknown);
    assert.equal(table.int(m.slot, I.checkFailures), 1);
    assert.equal(await healthAt(503), Health.Unknown);
    assert.equal(m.outOfRotation(Date.now()), undefined);
    assert.equal(await healthAt(503), Health.Down);
    assert.equal(m.outOfRotation(Date.now()), 'unhealthy');
    assert.match(checks.detail('oa/m')?.message ?? '', /^HTTP 503: /);
    assert.equal(await healthAt(200), Health.Down, 'one success is not enough');
    assert.equal(table.int(m.slot, I.checkSuccesses), 1);
    assert.equal(table.int(m.slot, I.checkFailures), 0);
    assert.equal(await healthAt(200), Health.Healthy);
    assert.equal(m.outOfRotation(Date.now()), undefined);
    assert.ok(table.time(m.slot, T.checkedAt) > Date.now() - 5000);
    const counted = await metrics.registry.getSingleMetricAsString('switchyard_health_checks_total');
    assert.match(counted, /deployment="oa\/m",result="down"} 3/);
    assert.match(counted, /deployment="oa\/m",result="healthy"} 2/);
  });

  test('insufficient_quota: out of rotation at once, then checked again only after quota_interval_ms', async () => {
    const { table, member, checks } = await start({ models: [{ name: 'm', provider: 'oa' }], checks: { unhealthy_after: 5, quota_interval_ms: 600 } });
    const m = member('oa/m');
    const quota = await upstream.next();
    quota.respond(429, quotaBody);
    const recheck = await upstream.next();
    assert.equal(table.int(m.slot, I.health), Health.QuotaExhausted);
    assert.equal(m.outOfRotation(Date.now()), 'unhealthy');
    assert.equal(checks.detail('oa/m')?.result, 'quota_exhausted');
    assert.match(checks.detail('oa/m')?.message ?? '', /out of credit \(HTTP 429\)/);
    assert.ok(recheck.at - quota.at >= 595, `rechecked after ${recheck.at - quota.at} ms, not the quota interval`);
    recheck.respond(200, completion);
    await upstream.next();
    assert.equal(table.int(m.slot, I.health), Health.Healthy);
  });

  test('a plain 429 is rate_limited: in rotation, with the Retry-After kept as a cooldown (capped)', async () => {
    const { table, member, checks } = await start({ models: [{ name: 'm', provider: 'oa' }], routing: { max_cooldown_ms: 3000 } });
    const m = member('oa/m');
    (await upstream.next()).respond(429, rateBody);
    await upstream.arrival();
    assert.equal(table.int(m.slot, I.health), Health.RateLimited);
    assert.equal(m.outOfRotation(Date.now()), undefined, 'a rate-limited deployment stays in rotation');
    assert.equal(checks.detail('oa/m')?.result, 'rate_limited');
    const before = Date.now();
    (await upstream.next()).respond(429, rateBody, { 'retry-after': '60' });
    await upstream.arrival();
    const until = table.time(m.slot, T.cooldownUntil);
    assert.ok(until >= before + 2900 && until <= Date.now() + 3000, `cooldown until ${until - before} ms from the check`);
    assert.equal(m.outOfRotation(Date.now()), 'cooling_down');
  });

  test('no answer within timeout_ms, and an unreachable provider, are failures', async () => {
    const providers = [
      { name: 'oa', type: 'openai', base_url: `http://127.0.0.1:${upstream.port}/v1`, api_key: upstreamKey },
      { name: 'gone', type: 'openai', base_url: 'http://127.0.0.1:1/v1', api_key: upstreamKey },
    ];
    const { checks, table, member } = await start({
      providers,
      models: [{ name: 'slow', provider: 'oa' }, { name: 'lost', provider: 'gone' }],
      checks: { timeout_ms: 200, unhealthy_after: 1 },
    });
    const held = await upstream.next();
    await held.abandoned;
    await upstream.arrival();
    const slow = checks.detail('oa/slow');
    assert.equal(slow?.result, 'down');
    assert.equal(slow?.status, null);
    assert.equal(slow?.message, 'no answer within 200 ms');
    assert.ok((slow?.duration_ms ?? 0) >= 190);
    assert.equal(table.int(member('oa/slow').slot, I.health), Health.Down);
    const lost = checks.detail('gone/lost');
    assert.equal(lost?.result, 'down');
    assert.match(lost?.message ?? '', /the provider did not answer: .*ECONNREFUSED/);
  });

  test('a refusing 4xx takes the deployment down and says why, without the key it quoted', async () => {
    const { checks, table, member } = await start({ models: [{ name: 'm', provider: 'oa' }], checks: { unhealthy_after: 1 } });
    (await upstream.next()).respond(401, { error: { message: `Incorrect API key provided: ${upstreamKey}.`, type: 'invalid_request_error', code: 'invalid_api_key' } });
    await upstream.arrival();
    const detail = checks.detail('oa/m');
    assert.equal(detail?.result, 'down');
    assert.equal(detail?.status, 401);
    assert.match(detail?.message ?? '', /cannot serve requests/);
    assert.ok(!(detail?.message ?? '').includes(upstreamKey), detail?.message ?? '');
    assert.match(detail?.message ?? '', /\[REDACTED\]/);
    assert.equal(table.int(member('oa/m').slot, I.health), Health.Down);
  });

  test('each family words an exhausted account its own way', () => {
    const redactor = new SecretRedactor([]);
    const anthropic = JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message: 'Your credit balance is too low to access the Anthropic API.' } });
    assert.equal(classifyAnswer(400, anthropic, undefined, redactor).result, 'quota_exhausted');
    assert.equal(classifyAnswer(429, JSON.stringify(quotaBody), undefined, redactor).result, 'quota_exhausted');
    assert.equal(classifyAnswer(429, JSON.stringify(rateBody), [['retry-after-ms', '1500']], redactor).retryAfterMs, 1500);
    assert.equal(classifyAnswer(400, '{"error":{"message":"bad"}}', undefined, redactor).result, 'down');
    assert.equal(classifyAnswer(204, '', undefined, redactor).result, 'healthy');
  });
});

describe('schedule', () => {
  const checks = { interval_ms: 1000, quota_interval_ms: 60_000, jitter: 0.2 };

  test('every wait is the interval ± jitter × interval; the first falls within the first interval', () => {
    assert.equal(nextCheckDelay(checks, 'healthy', () => 0), 800);
    assert.equal(nextCheckDelay(checks, 'down', () => 0.5), 1000);
    assert.ok(nextCheckDelay(checks, 'rate_limited', () => 0.999999) <= 1200);
    assert.equal(nextCheckDelay(checks, 'quota_exhausted', () => 0.5), 60_000);
    for (let i = 0; i < 1000; i++) {
      const wait = nextCheckDelay(checks, 'healthy', Math.random);
      assert.ok(wait >= 800 && wait <= 1200, String(wait));
      const quota = nextCheckDelay(checks, 'quota_exhausted', Math.random);
      assert.ok(quota >= 48_000 && quota <= 72_000, String(quota));
      const first = firstCheckDelay(1000, Math.random);
      assert.ok(first >= 0 && first < 1000, String(first));
    }
    assert.equal(nextCheckDelay({ ...checks, quota_interval_ms: 10 ** 12 }, 'quota_exhausted', () => 0.5), 2 ** 31 - 1);
  });

  test('the running loop waits the jittered interval between checks', async () => {
    await start({ models: [{ name: 'm', provider: 'oa' }], checks: { interval_ms: 100, jitter: 0.5 } }, () => 0.99);
    const first = await upstream.next();
    first.respond(200, completion);
    const second = await upstream.next();
    assert.ok(second.at - first.at >= 145, `waited ${second.at - first.at} ms; interval + jitter is 149`);
  });

  test('stop() aborts the check in flight, cancels the timers and resolves', async () => {
    const { checks } = await start({ models: [{ name: 'm', provider: 'oa' }, { name: 'n', provider: 'oa' }], checks: { interval_ms: 100 } }, () => 0.5);
    const held = await upstream.next();
    await checks.stop();
    await held.abandoned;
    const seen = upstream.received.length;
    await new Promise((r) => setTimeout(r, 350));
    assert.equal(upstream.received.length, seen, 'no check after stop()');
    await checks.stop();
  });
});
