// Reloading the limits feature under the real config reloader: declared keys, limits, budgets, prices and auth
// change for new requests, counters and API keys carry over, and a refused reload leaves everything as it was.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { threadKeyCheck } from '../../src/limits/stages.js';
import { limitsRestartProblems, validateLimits } from '../../src/limits/reload.js';
import type { RequestContext } from '../../src/pipeline/context.js';
import { makeContext } from './helpers/limits-context.js';
import { startReloadRig, testConfig, type ReloadRig } from './helpers/limits-host.js';

const TEAM = 'sk-sy-team-key-0123456789';
const GONE = 'sk-sy-gone-key-0123456789';
const FRESH = 'sk-sy-fresh-key-0123456789';
const bearer = (key: string, model = 'gpt-4o-mini', maxOutputTokens = 10) => makeContext({ headers: { authorization: `Bearer ${key}` }, model, maxOutputTokens });
const header = (ctx: RequestContext, name: string) => Object.fromEntries(ctx.responseHeaders)[name];

/** rpm windows are fixed UTC minutes: a test counting requests in one must not straddle two. */
async function awayFromMinuteEnd(marginMs = 5000): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < marginMs) await new Promise((r) => setTimeout(r, left + 50));
}

interface KeyBody {
  limits: { rpm?: number };
  models: string[] | null;
  usage: { requests_this_minute: number; total_requests: number };
  spend: { total_usd: number };
}

async function keyBody(rig: ReloadRig, id: string): Promise<{ status: number; body: KeyBody }> {
  const res = await rig.admin('GET', `/admin/keys/${id}`);
  return { status: res.status, body: res.body as KeyBody };
}

function keysYaml(team: string, extra = ''): string {
  return `auth: keys
keys:
  - name: team
    key: ${TEAM}
${team}
  - name: gone
    key: ${GONE}
${extra}`;
}

const teamBefore = `    models: [gpt-4o-mini, gpt-4o]
    limits: { rpm: 3 }`;

test('a declared key\'s rpm and models change for new requests; its counters and the API\'s keys carry over', async () => {
  await awayFromMinuteEnd();
  const rig = await startReloadRig(keysYaml(teamBefore));
  try {
    const api = (await rig.admin('POST', '/admin/keys', { name: 'api', limits: { rpm: 1 } })).body as { id: string; key: string };
    assert.equal(await rig.run(bearer(api.key)), undefined);
    assert.equal((await rig.run(bearer(api.key)))?.status, 429);
    assert.equal(await rig.run(bearer(TEAM, 'gpt-4o')), undefined);
    const inFlight = bearer(TEAM);
    assert.equal(await rig.run(inFlight), undefined);
    const oldStages = rig.serving();

    const report = await rig.reload(keysYaml(`    models: [gpt-4o-mini]
    limits: { rpm: 4 }`));
    assert.equal(report.result, 'applied', report.problems.join('\n'));
    assert.notEqual(rig.serving(), oldStages);

    assert.equal((await rig.run(bearer(TEAM, 'gpt-4o')))?.code, 'model_not_allowed');
    const third = bearer(TEAM);
    assert.equal(await rig.run(third), undefined);
    assert.equal(header(third, 'x-ratelimit-limit-requests'), '4');
    assert.equal(header(third, 'x-ratelimit-remaining-requests'), '1', 'the two requests before the reload still count');
    assert.equal(await rig.run(bearer(TEAM)), undefined);
    assert.equal((await rig.run(bearer(TEAM)))?.code, 'rate_limit_exceeded');
    // The request admitted before the reload ends on the stages it began with.
    rig.finish(inFlight, { prompt: 10, completion: 10 }, oldStages);

    const shown = await keyBody(rig, 'cfg_team');
    assert.equal(shown.body.limits.rpm, 4);
    assert.deepEqual(shown.body.models, ['gpt-4o-mini']);
    assert.equal(shown.body.usage.requests_this_minute, 4);
    assert.equal((await rig.run(bearer(api.key)))?.status, 429, 'the API key keeps its limit and its count');
    assert.equal((await keyBody(rig, api.id)).body.usage.requests_this_minute, 1);
  } finally {
    await rig.close();
  }
});

test('until the threads switch, requests keep the running limits; a refused reload leaves keys, limits and prices as they were', async () => {
  await awayFromMinuteEnd();
  const rig = await startReloadRig(keysYaml(teamBefore));
  try {
    const generation = rig.feature.sharedForNewThread!() as { generation: number };
    let duringPrepare: { status: number | undefined; limit: string | undefined; gone: number | undefined } | undefined;
    let createdMeanwhile: { id: string; key: string } | undefined;
    rig.duringPrepare = async () => {
      // The main thread has planned rpm 0, removed `gone` and added `fresh`: the serving stages must not see any of it yet.
      const ctx = bearer(TEAM);
      const refused = await rig.run(ctx);
      duringPrepare = { status: refused?.status, limit: header(ctx, 'x-ratelimit-limit-requests'), gone: (await rig.run(bearer(GONE)))?.status };
      createdMeanwhile = (await rig.admin('POST', '/admin/keys', { name: 'meanwhile' })).body as { id: string; key: string };
      throw new Error('a server thread could not build its stages');
    };
    const report = await rig.reload(keysYaml(`    limits: { rpm: 0 }`, `  - name: fresh
    key: ${FRESH}
prices:
  gpt-4o-mini: { input: 1000, output: 1000 }`).replace(/  - name: gone\n    key: \S+\n/, ''));
    rig.duringPrepare = undefined;
    assert.equal(report.result, 'rejected');
    assert.match(report.problems.join('\n'), /server threads/);
    assert.deepEqual(duringPrepare, { status: undefined, limit: '3', gone: undefined });

    assert.equal((rig.feature.sharedForNewThread!() as { generation: number }).generation, generation.generation);
    const ctx = bearer(TEAM);
    assert.equal(await rig.run(ctx), undefined);
    assert.equal(header(ctx, 'x-ratelimit-limit-requests'), '3', 'the table still holds the running limit');
    assert.equal(await rig.run(bearer(GONE)), undefined);
    assert.equal((await rig.run(bearer(FRESH)))?.code, 'invalid_api_key');
    assert.equal(await rig.run(bearer(createdMeanwhile!.key)), undefined, 'a key the API created meanwhile stays');
    const ids = ((await rig.admin('GET', '/admin/keys')).body as { data: Array<{ id: string }> }).data.map((k) => k.id).sort();
    assert.deepEqual(ids, ['cfg_gone', 'cfg_team', createdMeanwhile!.id].sort());
    assert.notEqual(rig.hosts.main.services?.keyView?.('cfg_gone'), undefined);
    assert.equal(rig.hosts.main.services?.keyView?.('cfg_fresh'), undefined);
    assert.equal('id' in threadKeyCheck()!({ authorization: `Bearer ${GONE}` }), true, '/mcp back on the running keys');
    assert.deepEqual(threadKeyCheck()!({ authorization: `Bearer ${FRESH}` }), { refused: 'invalid' });

    // Priced as before: gpt-4o-mini at list price.
    rig.finish(ctx, { prompt: 1_000_000, completion: 0 });
    assert.ok(Math.abs((await keyBody(rig, 'cfg_team')).body.spend.total_usd - 0.15) < 1e-9);
  } finally {
    await rig.close();
  }
});

test('a key removed by a reload is refused by new requests; declared again, it has its counters back', async () => {
  const rig = await startReloadRig(keysYaml(teamBefore));
  try {
    const first = bearer(GONE);
    assert.equal(await rig.run(first), undefined);
    rig.finish(first, { prompt: 5, completion: 5 });
    const oldStages = rig.serving();
    const without = keysYaml(teamBefore).replace(/  - name: gone\n    key: \S+\n/, '');
    assert.equal((await rig.reload(without)).result, 'applied');
    assert.equal((await rig.run(bearer(GONE)))?.code, 'invalid_api_key');
    assert.equal((await keyBody(rig, 'cfg_gone')).status, 404);
    assert.equal(rig.hosts.main.services?.keyView?.('cfg_gone'), undefined);
    assert.deepEqual(threadKeyCheck()!({ authorization: `Bearer ${GONE}` }), { refused: 'invalid' });
    // A request whose head the replaced stages took before the switch still finishes on them.
    assert.equal(await rig.run(bearer(GONE), oldStages), undefined);

    assert.equal((await rig.reload(keysYaml(teamBefore))).result, 'applied');
    assert.equal(await rig.run(bearer(GONE)), undefined);
    assert.equal((await keyBody(rig, 'cfg_gone')).body.usage.total_requests, 3);
  } finally {
    await rig.close();
  }
});

test('budgets, model limits, prices and default_max_output_tokens change for new requests; requests in flight settle on their own config', async () => {
  const rig = await startReloadRig(keysYaml(`    limits: { tpm: 100000000 }
    budget: { total_usd: 100 }`, `limits:
  models:
    gpt-4o: { rpm: 100 }`));
  try {
    const inFlight = bearer(TEAM);
    assert.equal(await rig.run(inFlight), undefined);
    const oldStages = rig.serving();
    const unset = makeContext({ headers: { authorization: `Bearer ${TEAM}` } });
    assert.equal(await rig.run(unset), undefined);
    const reserved = 100_000_000 - Number(header(unset, 'x-ratelimit-remaining-tokens'));
    rig.finish(unset, { prompt: 0, completion: 0 });

    const report = await rig.reload(keysYaml(`    limits: { tpm: 100000000 }
    budget: { total_usd: 0.5 }`, `limits:
  default_max_output_tokens: 5000
  models:
    gpt-4o: { rpm: 0 }
    gpt-4o-mini: { rpm: 100 }
prices:
  gpt-4o-mini: { input: 1, output: 1 }`));
    assert.equal(report.result, 'applied', report.problems.join('\n'));

    // default_max_output_tokens: 1024 before, 5000 now (the prompt estimate is the same body).
    const bigger = makeContext({ headers: { authorization: `Bearer ${TEAM}` } });
    assert.equal(await rig.run(bigger), undefined);
    assert.equal(100_000_000 - Number(header(bigger, 'x-ratelimit-remaining-tokens')) - reserved, 5000 - 1024);
    assert.equal(header(bigger, 'x-ratelimit-limit-requests'), '100', 'the new model limit applies');
    assert.equal((await rig.run(bearer(TEAM, 'gpt-4o')))?.code, 'rate_limit_exceeded');

    // In flight from before: list price (0.15 per 1M in); after: the new price (1 per 1M).
    rig.finish(inFlight, { prompt: 1_000_000, completion: 0 }, oldStages);
    assert.ok(Math.abs((await keyBody(rig, 'cfg_team')).body.spend.total_usd - 0.15) < 1e-9);
    rig.finish(bigger, { prompt: 1_000_000, completion: 0 });
    assert.ok(Math.abs((await keyBody(rig, 'cfg_team')).body.spend.total_usd - 1.15) < 1e-9);
    // The lowered budget (0.5) is used up.
    const broke = await rig.run(bearer(TEAM));
    assert.equal(broke?.code, 'insufficient_quota');
    assert.match(broke?.message ?? '', /\$0\.5\b/);
  } finally {
    await rig.close();
  }
});

test('auth switches between keys and none at runtime; keys created while open still work when keys are back', async () => {
  const rig = await startReloadRig(keysYaml(teamBefore));
  try {
    assert.equal((await rig.run(makeContext({})))?.code, 'missing_api_key');
    const open = keysYaml(teamBefore).replace('auth: keys', 'auth: none');
    assert.equal((await rig.reload(open)).result, 'applied');
    assert.equal(rig.serving().some((s) => s.phase === 'auth'), false);
    assert.equal(await rig.run(makeContext({})), undefined);
    assert.equal(threadKeyCheck(), undefined, 'no /mcp key check while auth is none');
    const created = (await rig.admin('POST', '/admin/keys', { name: 'while-open', models: ['gpt-4o'] })).body as { key: string };
    assert.equal((await rig.reload(keysYaml(teamBefore))).result, 'applied');
    assert.equal((await rig.run(makeContext({})))?.code, 'missing_api_key');
    assert.equal(await rig.run(bearer(created.key, 'gpt-4o')), undefined);
    assert.equal((await rig.run(bearer(created.key)))?.code, 'model_not_allowed');
  } finally {
    await rig.close();
  }
});

test('a reload that leaves the limits sections alone keeps the stages; one that cannot fit the table is refused whole', async () => {
  const rig = await startReloadRig(`auth: keys
limits:
  max_rows: 16
keys:
  - name: team
    key: ${TEAM}
`);
  try {
    const stages = rig.serving();
    const withModel = rig.configOf(`auth: keys
limits:
  max_rows: 16
keys:
  - name: team
    key: ${TEAM}
`);
    withModel.models.push({ ...withModel.models[0]!, name: 'another' });
    const report = await rig.reloader.reload(withModel);
    assert.equal(report.result, 'applied', report.problems.join('\n'));
    assert.equal(rig.serving(), stages);

    const many = Array.from({ length: 20 }, (_, i) => `  - name: k${i}\n    key: sk-sy-many-key-${i}-0123456789\n`).join('');
    const full = await rig.reload(`auth: keys
limits:
  max_rows: 16
keys:
  - name: team
    key: ${TEAM}
${many}`);
    assert.equal(full.result, 'rejected');
    assert.match(full.problems.join('\n'), /limits table is full \(16 rows\).*limits\.max_rows.*restart/);
    assert.equal(rig.serving(), stages);
    assert.equal(await rig.run(bearer(TEAM)), undefined);
    assert.equal(((await rig.admin('GET', '/admin/keys')).body as { data: unknown[] }).data.length, 1);
  } finally {
    await rig.close();
  }
});

test('the backend, the table size and (with Redis) the connection need a restart; each refusal names its path', async () => {
  const rig = await startReloadRig(keysYaml(teamBefore));
  try {
    const report = await rig.reload(keysYaml(`    limits: { rpm: 0 }`, `limits:
  backend: redis
  max_rows: 32`));
    assert.equal(report.result, 'rejected');
    assert.match(report.problems.join('\n'), /limits\.backend: changed; this setting is read only at start, so it needs a restart/);
    assert.match(report.problems.join('\n'), /limits\.max_rows: changed; this setting is read only at start, so it needs a restart/);
    const ctx = bearer(TEAM);
    assert.equal(await rig.run(ctx), undefined, 'the old limits are in force');
    assert.equal(header(ctx, 'x-ratelimit-limit-requests'), '3');
    // Unused by the memory backend: they may change.
    const applied = await rig.reload(keysYaml(teamBefore, `limits:
  persist_interval_ms: 200
  redis: { url: "redis://10.0.0.1:6379", timeout_ms: 50, on_down: open }`));
    assert.equal(applied.result, 'applied', applied.problems.join('\n'));
  } finally {
    await rig.close();
  }

  const redis = (extra: string) => testConfig(`limits:\n  backend: redis\n  redis: { url: "redis://127.0.0.1:6379"${extra} }\n`, '/tmp/unused');
  assert.deepEqual(limitsRestartProblems(redis(''), redis(', key_prefix: other, timeout_ms: 9')), [
    'limits.redis.key_prefix: changed; this setting is read only at start, so it needs a restart',
    'limits.redis.timeout_ms: changed; this setting is read only at start, so it needs a restart',
  ]);
  assert.deepEqual(limitsRestartProblems(redis(''), redis(', on_down: open, key_refresh_ms: 500')), []);
});

test('two declared keys that end up with one id are refused, at start and on a reload', async () => {
  const twice = `keys:
  - name: "ci bot"
    key: sk-sy-first-key-0123456789
  - name: ci_bot
    key: sk-sy-other-key-0123456789
`;
  assert.deepEqual(validateLimits(testConfig(twice, '/tmp/unused')), ["keys.1.name: 'ci_bot' gives the key id 'cfg_ci_bot', which keys.0 has already"]);
  const rig = await startReloadRig(keysYaml(teamBefore));
  try {
    const report = await rig.reload(twice);
    assert.equal(report.result, 'rejected');
    assert.match(report.problems.join('\n'), /^keys\.1\.name: /m);
  } finally {
    await rig.close();
  }
  await assert.rejects(startReloadRig(twice), /keys\.1\.name/);
});
