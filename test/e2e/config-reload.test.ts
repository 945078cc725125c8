// Config reload through a real gateway (two server threads) and the simulator, with the OpenAI SDK as
// client: the watched file edited on disk, a bad file rejected whole, a stream that outlives the model
// it started on, and breaker state that survives a reload.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI, { BadRequestError, NotFoundError } from 'openai';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { startGateway, type RunningGateway } from '../../src/server/main.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.js';
import { clientKey, stackConfigObject, waitFor } from '../helpers/stack.js';

type ConfigObject = Record<string, unknown> & { models: Array<Record<string, unknown>>; providers: Array<Record<string, unknown>> };

const user = [{ role: 'user' as const, content: 'hello there' }];
/** docs/configuration.md: the watch's debounce plus the reload's bound (5 s per step); generous on a loaded machine. */
const appliedWithinMs = 200 + 10_000;

/** One chat completion on a connection of its own (so the server threads share the requests between them). */
function postOnNewConnection(port: number, model: string, content = 'hello there'): Promise<{ status: number; deployment: string | undefined }> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ model, messages: [{ role: 'user', content }] });
    const req = httpRequest(
      { host: '127.0.0.1', port, path: '/v1/chat/completions', method: 'POST', agent: false, headers: { 'content-type': 'application/json', authorization: `Bearer ${clientKey}`, 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, deployment: res.headers['x-switchyard-deployment'] as string | undefined }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('config reload', () => {
  let sim: RunningSimulator;
  let gateway: RunningGateway;
  let client: OpenAI;
  let dir: string;
  let file: string;

  function base(): ConfigObject {
    const config = stackConfigObject(sim.port, join(dir, 'data'), {
      config: { routing: { breaker: { consecutive_failures: 2, cooldown_ms: 600_000 } } },
    }) as ConfigObject;
    config.models.push(
      { name: 'slow', provider: 'sim', model: 'sim-tps-20' },
      {
        name: 'pair',
        deployments: [
          { provider: 'sim', model: 'pair-a', id: 'pair-a' },
          { provider: 'sim', model: 'pair-b', id: 'pair-b', priority: 2 },
        ],
      },
    );
    return config;
  }

  /** Saves the config as an editor does: a temporary file renamed over the old one. */
  function save(config: ConfigObject): void {
    writeFileSync(`${file}.tmp`, stringify(config));
    renameSync(`${file}.tmp`, file);
  }

  const reloadTo = async (config: ConfigObject) => {
    const report = await gateway.reload({ text: stringify(config), source: 'test' });
    assert.notEqual(report.result, 'rejected', report.problems.join('\n'));
    return report;
  };

  const admin = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${gateway.adminPort}${path}`, { headers: { authorization: `Bearer ${gateway.adminToken}` } });
    assert.equal(res.status, 200);
    return res;
  };

  const metric = async (line: string): Promise<number | undefined> => {
    const text = await (await admin('/metrics')).text();
    const found = text.split('\n').find((l) => l.startsWith(`${line} `));
    return found === undefined ? undefined : Number(found.slice(line.length + 1));
  };

  const deploymentState = async (model: string, id: string) => {
    const body = (await (await admin('/admin/deployments')).json()) as {
      models: Array<{ model: string; deployments: Array<{ id: string; breaker: { state: string; consecutive_failures: number } }> }>;
    };
    return body.models.find((m) => m.model === model)?.deployments.find((d) => d.id === id)?.breaker;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'switchyard-reload-'));
    file = join(dir, 'switchyard.yaml');
    sim = await startSimulator({});
    save(base());
    const config = parseConfig(stringify(base()), file);
    gateway = await startGateway(config, { threads: 2, configFile: { path: file, watch: true } });
    client = new OpenAI({ baseURL: `http://127.0.0.1:${gateway.port}/v1`, apiKey: clientKey, maxRetries: 0 });
  });
  after(async () => {
    await gateway?.stop();
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('editing the watched file adds a model and remaps another, on every thread, within the bound', async () => {
    await assert.rejects(client.chat.completions.create({ model: 'brand-new', messages: user }), NotFoundError);
    const config = base();
    config.models.push({ name: 'brand-new', provider: 'sim', model: 'gpt-4o' });
    config.models.find((m) => m.name === 'fast')!.model = 'sim-remapped';
    const saved = Date.now();
    save(config);
    const applied = await waitFor(() => gateway.config().models.some((m) => m.name === 'brand-new'), appliedWithinMs);
    const tookMs = Date.now() - saved;
    assert.ok(applied, 'the edited file was not applied');
    assert.ok(tookMs >= 200, `applied after ${tookMs} ms, before the debounce`);
    // The reload reports applied only once every thread switched: each new connection sees the new config.
    const answers = await Promise.all(Array.from({ length: 16 }, (_, i) => postOnNewConnection(gateway.port, i % 2 === 0 ? 'brand-new' : 'fast')));
    for (const [i, answer] of answers.entries()) {
      assert.equal(answer.status, 200);
      assert.equal(answer.deployment, i % 2 === 0 ? 'sim/gpt-4o' : 'sim/sim-remapped');
    }
    const { data, response } = await client.chat.completions.create({ model: 'fast', messages: user }).withResponse();
    assert.equal(data.object, 'chat.completion');
    assert.equal(response.headers.get('x-switchyard-deployment'), 'sim/sim-remapped');
    assert.ok((await metric('switchyard_config_reloads_total{result="applied"}'))! >= 1);
    assert.ok((await metric('switchyard_config_generation'))! >= 2);
  });

  test('a bad file is rejected whole: a log line with each problem, the metric, and the old config serving', async () => {
    await reloadTo(base());
    const rejectedBefore = (await metric('switchyard_config_reloads_total{result="rejected"}')) ?? 0;
    const generation = await metric('switchyard_config_generation');
    const lines: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      lines.push(String(chunk));
      return (write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stderr.write;
    try {
      const bad = base();
      // A valid new model beside two mistakes: none of it may be applied.
      bad.models.push({ name: 'half-good', provider: 'sim', model: 'gpt-4o' }, { name: 'broken', provider: 'nobody' });
      (bad as Record<string, unknown>).colour = 'blue';
      save(bad);
      assert.ok(await waitFor(() => lines.some((l) => l.includes('config reload rejected')), appliedWithinMs), 'no rejection was logged');
    } finally {
      process.stderr.write = write;
    }
    const logged = JSON.parse(lines.find((l) => l.includes('config reload rejected'))!) as { problems: string[]; source: string };
    assert.equal(logged.source, file);
    assert.ok(logged.problems.some((p) => /models\.\d+\.provider: unknown provider 'nobody'/.test(p)), logged.problems.join('\n'));
    assert.ok(logged.problems.some((p) => p.includes("unknown key 'colour'")), logged.problems.join('\n'));
    assert.equal(await metric('switchyard_config_reloads_total{result="rejected"}'), rejectedBefore + 1);
    assert.equal(await metric('switchyard_config_last_reload_successful'), 0);
    assert.equal(await metric('switchyard_config_generation'), generation);
    assert.ok(!gateway.config().models.some((m) => m.name === 'half-good'));
    await assert.rejects(client.chat.completions.create({ model: 'half-good', messages: user }), NotFoundError);
    const ok = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: user });
    assert.equal(ok.object, 'chat.completion');
  });

  test('settings read only at start are refused as needing a restart, naming their path', async () => {
    const moved = base();
    (moved.server as Record<string, unknown>).port = 1;
    const limits = base();
    (limits as Record<string, unknown>).limits = { backend: 'redis' };
    const [a, b] = [await gateway.reload({ text: stringify(moved), source: 'port' }), await gateway.reload({ text: stringify(limits), source: 'limits backend' })];
    assert.equal(a.result, 'rejected');
    assert.deepEqual(a.problems, ['server.port: changed; this setting is read only at start, so it needs a restart']);
    assert.equal(b.result, 'rejected');
    assert.deepEqual(b.problems, ['(limits) limits.backend: changed; this setting is read only at start, so it needs a restart']);
    assert.equal(gateway.config().server.port, 0);
    const unchanged = await gateway.reload({ text: stringify(base()), source: 'same' });
    assert.equal(unchanged.result, 'unchanged');
  });

  test('a prompt guard added by a reload refuses new requests on every thread; removed again, they pass', async () => {
    await reloadTo(base());
    const secret = [{ role: 'user' as const, content: 'tell me the launch codes' }];
    assert.equal((await client.chat.completions.create({ model: 'gpt-4o-mini', messages: secret })).object, 'chat.completion');
    const guarded = base();
    (guarded as Record<string, unknown>).guards = { prompt: [{ name: 'no-secrets', deny: ['launch\\s+codes'] }] };
    await reloadTo(guarded);
    await assert.rejects(
      client.chat.completions.create({ model: 'gpt-4o-mini', messages: secret }),
      (err: unknown) => err instanceof BadRequestError && err.code === 'content_policy_violation',
    );
    const answers = await Promise.all(Array.from({ length: 8 }, () => postOnNewConnection(gateway.port, 'gpt-4o-mini', secret[0].content)));
    assert.deepEqual(answers.map((a) => a.status), Array(8).fill(400));
    assert.equal((await client.chat.completions.create({ model: 'gpt-4o-mini', messages: user })).object, 'chat.completion');
    await reloadTo(base());
    assert.equal((await client.chat.completions.create({ model: 'gpt-4o-mini', messages: secret })).object, 'chat.completion');
  });

  test('a stream started before a reload that removes its model finishes; new requests see the new config', async () => {
    await reloadTo(base());
    const stream = await client.chat.completions.create({ model: 'slow', stream: true, max_tokens: 40, messages: user });
    const chunks = stream[Symbol.asyncIterator]();
    const first = await chunks.next();
    assert.equal(first.done, false);
    const without = base();
    without.models = without.models.filter((m) => m.name !== 'slow');
    const report = await reloadTo(without);
    // Then a provider change: the next config's pools are new, and the pool the stream uses (shared by the
    // first two configs) must outlive both reloads.
    const withProvider = structuredClone(without);
    withProvider.providers.push({ ...withProvider.providers[0], name: 'sim-2' });
    await reloadTo(withProvider);
    await assert.rejects(client.chat.completions.create({ model: 'slow', messages: user }), NotFoundError);
    let content = 0;
    let finish: string | null | undefined;
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
      if (next.value.choices[0]?.delta?.content) content++;
      finish = next.value.choices[0]?.finish_reason ?? finish;
    }
    assert.ok(content >= 10, `the stream stopped after ${content} content chunks`);
    assert.ok(finish === 'stop' || finish === 'length', `finish_reason ${finish}`);
    assert.ok(report.durationMs < 5000, `the reload took ${report.durationMs} ms`);
  });

  test('breaker state survives a reload that keeps the deployment; removed and added back, it starts fresh', async () => {
    await reloadTo(base());
    sim.script([{ model: 'pair-a', status: 503 }]);
    for (let i = 0; i < 2; i++) {
      const { response } = await client.chat.completions.create({ model: 'pair', messages: user }).withResponse();
      assert.equal(response.headers.get('x-switchyard-deployment'), 'pair-b');
    }
    sim.script([]);
    assert.equal((await deploymentState('pair', 'pair-a'))?.state, 'open');

    const unrelated = base();
    unrelated.models.push({ name: 'extra', provider: 'sim', model: 'gpt-4o' });
    unrelated.models.find((m) => m.name === 'fast')!.model = 'sim-other';
    await reloadTo(unrelated);
    assert.equal((await deploymentState('pair', 'pair-a'))?.state, 'open', 'the reload lost the open breaker');
    // The server threads route by the same state: the open deployment is still skipped.
    const { response } = await client.chat.completions.create({ model: 'pair', messages: user }).withResponse();
    assert.equal(response.headers.get('x-switchyard-deployment'), 'pair-b');
    assert.equal(response.headers.get('x-switchyard-attempts'), '1');

    const withoutA = base();
    withoutA.models.find((m) => m.name === 'pair')!.deployments = [{ provider: 'sim', model: 'pair-b', id: 'pair-b' }];
    await reloadTo(withoutA);
    assert.equal(await deploymentState('pair', 'pair-a'), undefined);
    await reloadTo(base());
    const fresh = await deploymentState('pair', 'pair-a');
    assert.deepEqual({ state: fresh?.state, failures: fresh?.consecutive_failures }, { state: 'closed', failures: 0 });
    const again = await client.chat.completions.create({ model: 'pair', messages: user }).withResponse();
    assert.equal(again.response.headers.get('x-switchyard-deployment'), 'pair-a');
  });
});
