// Reloading keys, limits, budgets, prices and auth through a real gateway (two server threads) and the
// simulator, with the official OpenAI SDK as client: the config file edited, then gateway.reload().
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI, { APIError } from 'openai';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { startGateway, type RunningGateway } from '../../src/server/main.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.js';
import { stackConfigObject } from '../helpers/stack.js';

type ConfigObject = Record<string, unknown> & { keys: Array<Record<string, unknown>>; models: Array<Record<string, unknown>> };

const KEYS = { team: 'sk-sy-e2e-team-0123456789', spender: 'sk-sy-e2e-spender-0123456789', gone: 'sk-sy-e2e-gone-0123456789', priced: 'sk-sy-e2e-priced-0123456789', tight: 'sk-sy-e2e-tight-0123456789' };
const user = (content = 'hello there') => [{ role: 'user' as const, content }];

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
async function awayFromMinuteEnd(marginMs = 15_000): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < marginMs) await new Promise((r) => setTimeout(r, left + 50));
}

interface KeyView {
  limits: { rpm?: number };
  models: string[] | null;
  usage: { requests_this_minute: number; total_requests: number; concurrent: number };
  spend: { total_usd: number };
}

describe('limits reload through a real gateway', () => {
  let sim: RunningSimulator;
  let gateway: RunningGateway;
  let dir: string;
  let file: string;

  function base(): ConfigObject {
    const config = stackConfigObject(sim.port, join(dir, 'data')) as ConfigObject;
    config.models.push({ name: 'slow', provider: 'sim', model: 'sim-tps-20' });
    config.auth = 'keys';
    config.keys = [
      { name: 'team', key: KEYS.team, models: ['gpt-4o-mini', 'gpt-4o', 'slow'], limits: { rpm: 100 } },
      { name: 'spender', key: KEYS.spender, budget: { total_usd: 100 } },
      { name: 'gone', key: KEYS.gone },
      { name: 'priced', key: KEYS.priced },
      { name: 'tight', key: KEYS.tight, limits: { rpm: 1 } },
    ];
    return config;
  }

  const keyOf = (config: ConfigObject, name: string) => config.keys.find((k) => k.name === name)!;
  const client = (key: string) => new OpenAI({ baseURL: `http://127.0.0.1:${gateway.port}/v1`, apiKey: key, maxRetries: 0 });

  /** Writes the file and reloads it, as SIGHUP does. */
  async function apply(config: ConfigObject) {
    writeFileSync(file, stringify(config));
    return gateway.reload();
  }

  async function applied(config: ConfigObject): Promise<void> {
    const report = await apply(config);
    assert.notEqual(report.result, 'rejected', report.problems.join('\n'));
  }

  async function admin<T>(path: string): Promise<{ status: number; body: T; text: string }> {
    const res = await fetch(`http://127.0.0.1:${gateway.adminPort}${path}`, { headers: { authorization: `Bearer ${gateway.adminToken}` } });
    const text = await res.text();
    return { status: res.status, body: (res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : undefined) as T, text };
  }

  const keyView = async (id: string) => (await admin<KeyView>(`/admin/keys/${id}`)).body;

  /** The sum of a metric's series whose labels include `label`. */
  async function metricSum(name: string, label: string): Promise<number> {
    const { text } = await admin<unknown>('/metrics');
    return text
      .split('\n')
      .filter((l) => l.startsWith(`${name}{`) && l.includes(label))
      .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  }

  /** Settlement runs right after the last byte: the key's view once `requests` were admitted and none is in flight. */
  async function settled(id: string, requests: number): Promise<KeyView> {
    let view = await keyView(id);
    for (let i = 0; i < 300 && (view.usage.total_requests < requests || view.usage.concurrent > 0); i++) {
      await new Promise((r) => setTimeout(r, 10));
      view = await keyView(id);
    }
    return view;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'switchyard-limits-reload-'));
    file = join(dir, 'switchyard.yaml');
    sim = await startSimulator({});
    writeFileSync(file, stringify(base()));
    gateway = await startGateway(parseConfig(stringify(base()), file), { threads: 2, configFile: { path: file } });
  });
  after(async () => {
    await gateway?.stop();
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a declared key's rpm and models change for new requests while a stream started before finishes", async () => {
    await awayFromMinuteEnd();
    await applied(base());
    const team = client(KEYS.team);
    const stream = await team.chat.completions.create({ model: 'slow', stream: true, max_tokens: 40, messages: user() });
    const chunks = stream[Symbol.asyncIterator]();
    assert.equal((await chunks.next()).done, false);
    for (let i = 0; i < 2; i++) assert.equal((await team.chat.completions.create({ model: 'gpt-4o', messages: user() })).object, 'chat.completion');

    const changed = base();
    Object.assign(keyOf(changed, 'team'), { models: ['gpt-4o-mini', 'slow'], limits: { rpm: 4 } });
    const report = await apply(changed);
    assert.equal(report.result, 'applied', report.problems.join('\n'));

    const denied = await apiError(team.chat.completions.create({ model: 'gpt-4o', messages: user() }));
    assert.ok(denied instanceof OpenAI.PermissionDeniedError);
    assert.equal(denied.code, 'model_not_allowed');
    const { response } = await team.chat.completions.create({ model: 'gpt-4o-mini', messages: user() }).withResponse();
    assert.equal(response.headers.get('x-ratelimit-limit-requests'), '4');
    assert.equal(response.headers.get('x-ratelimit-remaining-requests'), '0', 'the stream and the two requests before the reload count');
    const limited = await apiError(team.chat.completions.create({ model: 'gpt-4o-mini', messages: user() }));
    assert.ok(limited instanceof OpenAI.RateLimitError);

    let content = 0;
    let finish: string | null | undefined;
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
      if (next.value.choices[0]?.delta?.content) content++;
      finish = next.value.choices[0]?.finish_reason ?? finish;
    }
    assert.ok(content >= 10, `the stream stopped after ${content} content chunks`);
    assert.ok(finish === 'stop' || finish === 'length', `finish_reason ${finish}`);
    const view = await keyView('cfg_team');
    assert.equal(view.limits.rpm, 4);
    assert.deepEqual(view.models, ['gpt-4o-mini', 'slow']);
    assert.equal(view.usage.requests_this_minute, 4);
  });

  test('a lowered budget refuses the next request; raised again, it admits; the spend carries over', async () => {
    await applied(base());
    const spender = client(KEYS.spender);
    await spender.chat.completions.create({ model: 'gpt-4o-mini', messages: user() });
    const spent = (await settled('cfg_spender', 1)).spend.total_usd;
    assert.ok(spent > 0);

    const poor = base();
    keyOf(poor, 'spender').budget = { total_usd: spent / 2 };
    await applied(poor);
    const refused = await apiError(spender.chat.completions.create({ model: 'gpt-4o-mini', messages: user() }));
    assert.equal(refused.status, 429);
    assert.equal(refused.code, 'insufficient_quota');

    await applied(base());
    assert.equal((await spender.chat.completions.create({ model: 'gpt-4o-mini', messages: user() })).object, 'chat.completion');
    assert.ok((await settled('cfg_spender', 2)).spend.total_usd > spent);
  });

  test('a key removed from the file is refused; declared again, it has its counters back', async () => {
    await applied(base());
    const gone = client(KEYS.gone);
    await gone.chat.completions.create({ model: 'gpt-4o-mini', messages: user() });
    const without = base();
    without.keys = without.keys.filter((k) => k.name !== 'gone');
    await applied(without);
    const refused = await apiError(gone.chat.completions.create({ model: 'gpt-4o-mini', messages: user() }));
    assert.ok(refused instanceof OpenAI.AuthenticationError);
    assert.equal(refused.code, 'invalid_api_key');
    assert.equal((await admin('/admin/keys/cfg_gone')).status, 404);

    await applied(base());
    await gone.chat.completions.create({ model: 'gpt-4o-mini', messages: user() });
    assert.equal((await settled('cfg_gone', 2)).usage.total_requests, 2);
  });

  test("a changed price prices the next request: the key's spend and the cost metric", async () => {
    await applied(base());
    const priced = client(KEYS.priced);
    const first = await priced.chat.completions.create({ model: 'gpt-4o-mini', messages: user('one two three') });
    const before = await settled('cfg_priced', 1);
    assert.ok(Math.abs(before.spend.total_usd - (first.usage!.prompt_tokens * 0.15 + first.usage!.completion_tokens * 0.6) / 1e6) < 1e-12, 'list price');
    const metricBefore = await metricSum('switchyard_cost_usd_total', 'key="cfg_priced"');

    const repriced = base();
    repriced.prices = { 'gpt-4o-mini': { input: 100, output: 200 } };
    await applied(repriced);
    const second = await priced.chat.completions.create({ model: 'gpt-4o-mini', messages: user('four five') });
    const want = (second.usage!.prompt_tokens * 100 + second.usage!.completion_tokens * 200) / 1e6;
    const after = await settled('cfg_priced', 2);
    assert.ok(Math.abs(after.spend.total_usd - before.spend.total_usd - want) < 1e-9, `spend grew by ${after.spend.total_usd - before.spend.total_usd}, want ${want}`);
    const metricAfter = await metricSum('switchyard_cost_usd_total', 'key="cfg_priced"');
    assert.ok(Math.abs(metricAfter - metricBefore - want) < 1e-9, `the cost metric grew by ${metricAfter - metricBefore}, want ${want}`);
  });

  test('a refused limits reload names the path and leaves the running limits in force', async () => {
    await awayFromMinuteEnd();
    await applied(base());
    const tight = client(KEYS.tight);
    await tight.chat.completions.create({ model: 'gpt-4o-mini', messages: user() });
    assert.equal((await apiError(tight.chat.completions.create({ model: 'gpt-4o-mini', messages: user() }))).status, 429);
    const running = gateway.config();

    const restart = base();
    restart.limits = { backend: 'redis' };
    keyOf(restart, 'tight').limits = { rpm: 100 };
    restart.keys.push({ name: 'newcomer', key: 'sk-sy-e2e-newcomer-0123456789' });
    const report = await apply(restart);
    assert.equal(report.result, 'rejected');
    assert.ok(report.problems.some((p) => p.includes('limits.backend: changed; this setting is read only at start, so it needs a restart')), report.problems.join('\n'));
    assert.equal(gateway.config(), running);

    assert.equal((await apiError(tight.chat.completions.create({ model: 'gpt-4o-mini', messages: user() }))).status, 429, 'rpm 1 still in force');
    assert.equal((await apiError(client('sk-sy-e2e-newcomer-0123456789').chat.completions.create({ model: 'gpt-4o-mini', messages: user() }))).status, 401);
    assert.equal((await keyView('cfg_tight')).limits.rpm, 1);
  });

  test('auth changes to none and back at runtime', async () => {
    await applied(base());
    const anonymous = client('not-a-key');
    assert.equal((await apiError(anonymous.chat.completions.create({ model: 'gpt-4o-mini', messages: user() }))).status, 401);
    const open = base();
    open.auth = 'none';
    await applied(open);
    assert.equal((await anonymous.chat.completions.create({ model: 'gpt-4o-mini', messages: user() })).object, 'chat.completion');
    await applied(base());
    assert.equal((await apiError(anonymous.chat.completions.create({ model: 'gpt-4o-mini', messages: user() }))).status, 401);
    assert.equal((await client(KEYS.team).chat.completions.create({ model: 'gpt-4o-mini', messages: user() })).object, 'chat.completion');
  });
});
