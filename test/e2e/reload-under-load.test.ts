// Config changes under continuous load (two server threads, the simulator upstream, the OpenAI SDK):
// a model mapping and a guard changed by editing the file and through the admin API — no request
// fails, new requests use the new mapping, streams begun before finish on the old one; an invalid file
// and an invalid API change leave the old config serving and are reported.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI, { BadRequestError } from 'openai';
import { Agent } from 'undici';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { startGateway, type RunningGateway } from '../../src/server/main.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.js';
import { clientKey, stackConfigObject, waitFor } from '../helpers/stack.js';

type Json = Record<string, unknown>;

interface Exchange {
  kind: 'stream' | 'plain';
  start: number;
  end: number;
  deployment: string | null;
  ok: boolean;
  detail: string;
}

/** Requests in a loop on clients of their own (own connections), until stopped; every exchange recorded. */
class Load {
  readonly exchanges: Exchange[] = [];
  private running = true;
  private readonly loops: Array<Promise<void>> = [];
  private readonly agents: Agent[] = [];

  constructor(baseURL: string, streams: number, plains: number) {
    for (let i = 0; i < streams + plains; i++) {
      const agent = new Agent({ connections: 1 });
      this.agents.push(agent);
      const client = new OpenAI({ baseURL, apiKey: clientKey, maxRetries: 0, fetchOptions: { dispatcher: agent } });
      this.loops.push(this.loop(client, i < streams ? 'stream' : 'plain', i));
    }
  }

  private async loop(client: OpenAI, kind: Exchange['kind'], index: number): Promise<void> {
    while (this.running) {
      const start = Date.now();
      const messages = [{ role: 'user' as const, content: `load loop ${index} at ${start}` }];
      try {
        if (kind === 'stream') {
          const { data, response } = await client.chat.completions.create({ model: 'mapped', stream: true, max_tokens: 24, messages }).withResponse();
          let finish: string | null | undefined;
          let chunks = 0;
          for await (const chunk of data) {
            if (chunk.choices[0]?.delta?.content) chunks++;
            finish = chunk.choices[0]?.finish_reason ?? finish;
          }
          const ok = (finish === 'stop' || finish === 'length') && chunks > 0;
          this.exchanges.push({ kind, start, end: Date.now(), deployment: response.headers.get('x-switchyard-deployment'), ok, detail: `finish ${finish}, ${chunks} chunks` });
        } else {
          const { data, response } = await client.chat.completions.create({ model: 'mapped', max_tokens: 24, messages }).withResponse();
          this.exchanges.push({ kind, start, end: Date.now(), deployment: response.headers.get('x-switchyard-deployment'), ok: data.object === 'chat.completion', detail: data.object });
        }
      } catch (err) {
        this.exchanges.push({ kind, start, end: Date.now(), deployment: null, ok: false, detail: String((err as Error)?.message ?? err) });
      }
    }
  }

  startedAfter(t: number): Exchange[] {
    return this.exchanges.filter((e) => e.start > t);
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    await Promise.all(this.agents.map((a) => a.close()));
  }
}

describe('config changes under load', () => {
  let sim: RunningSimulator;
  let dir: string;
  let file: string;
  let gateway: RunningGateway;
  let client: OpenAI;

  const fileConfig = (mapping: string, guard?: string): Json => {
    const config = stackConfigObject(sim.port, join(dir, 'data'), {
      config: {
        admin: { host: '127.0.0.1', port: 0, token: 'load-test-admin-token-0123' },
        ...(guard ? { guards: { prompt: [{ name: 'file-guard', deny: [guard] }] } } : {}),
      },
    });
    (config.models as Json[]).push({ name: 'mapped', provider: 'sim', model: mapping });
    return config;
  };
  const save = (config: Json) => {
    writeFileSync(`${file}.tmp`, stringify(config));
    renameSync(`${file}.tmp`, file);
  };
  const admin = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: Json; text: string }> => {
    const res = await fetch(`http://127.0.0.1:${gateway.adminPort}${path}`, {
      method,
      headers: { authorization: `Bearer ${gateway.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: Json = {};
    try {
      parsed = JSON.parse(text) as Json;
    } catch {
      parsed = {};
    }
    return { status: res.status, body: parsed, text };
  };
  const metric = async (line: string): Promise<number> => {
    const found = (await admin('GET', '/metrics')).text.split('\n').find((l) => l.startsWith(`${line} `));
    return found === undefined ? 0 : Number(found.slice(line.length + 1));
  };
  const mappingNow = () => gateway.config().models.find((m) => m.name === 'mapped')?.model;
  const refused = (content: string) =>
    assert.rejects(client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] }), (err: unknown) => err instanceof BadRequestError && err.code === 'content_policy_violation');
  const passes = async (content: string) => assert.equal((await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] })).object, 'chat.completion');

  /** A stream slowed by the simulator (x-sim-tokens-per-second) that has begun: it outlives the change made meanwhile. */
  const longStream = async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'mapped', stream: true, max_tokens: 40, messages: [{ role: 'user', content: 'a long answer please' }] }, { headers: { 'x-sim-tokens-per-second': '3' } })
      .withResponse();
    const chunks = data[Symbol.asyncIterator]();
    assert.equal((await chunks.next()).done, false);
    return {
      deployment: response.headers.get('x-switchyard-deployment'),
      async finish(): Promise<{ content: number; finish: string | null | undefined; end: number }> {
        let content = 0;
        let finish: string | null | undefined;
        for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
          if (next.value.choices[0]?.delta?.content) content++;
          finish = next.value.choices[0]?.finish_reason ?? finish;
        }
        return { content, finish, end: Date.now() };
      },
    };
  };

  /** What every change here must show: nothing failed, the old mapping before, the new one after. */
  const checkChange = async (load: Load, change: { before: string; after: string; t0: number; t1: number }) => {
    // Enough traffic after the change to see every loop use the new config.
    assert.ok(await waitFor(() => load.startedAfter(change.t1).length >= 8, 30_000), 'the load stopped after the change');
    const failed = load.exchanges.filter((e) => !e.ok);
    assert.deepEqual(failed, [], 'requests failed during the change');
    const inFlight = load.exchanges.filter((e) => e.start < change.t0 && e.end > change.t0);
    assert.ok(inFlight.length > 0, 'no request was in flight when the change began');
    for (const e of load.exchanges.filter((x) => x.start < change.t0)) assert.equal(e.deployment, `sim/${change.before}`, `an exchange begun before the change: ${JSON.stringify(e)}`);
    for (const e of load.startedAfter(change.t1)) assert.equal(e.deployment, `sim/${change.after}`, `an exchange begun after the change: ${JSON.stringify(e)}`);
    assert.ok(load.startedAfter(change.t1).some((e) => e.kind === 'stream') && load.startedAfter(change.t1).some((e) => e.kind === 'plain'));
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'switchyard-reload-load-'));
    file = join(dir, 'switchyard.yaml');
    sim = await startSimulator({});
    save(fileConfig('sim-tps-40'));
    gateway = await startGateway(parseConfig(readFileSync(file, 'utf8'), file), { threads: 2, configFile: { path: file, watch: true } });
    client = new OpenAI({ baseURL: `http://127.0.0.1:${gateway.port}/v1`, apiKey: clientKey, maxRetries: 0 });
  });
  after(async () => {
    await gateway?.stop();
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('editing the file: mapping and guard change, no request fails, streams begun before finish on the old mapping', async () => {
    await passes('say forbidden-7');
    const load = new Load(`http://127.0.0.1:${gateway.port}/v1`, 2, 2);
    try {
      assert.ok(await waitFor(() => load.exchanges.length >= 6, 30_000), 'the load did not start');
      const long = await longStream();
      assert.equal(long.deployment, 'sim/sim-tps-40');
      const t0 = Date.now();
      save(fileConfig('sim-tps-41', 'forbidden-\\d+'));
      assert.ok(await waitFor(() => mappingNow() === 'sim-tps-41', 30_000), 'the edited file was not applied');
      const t1 = Date.now();
      const rest = await long.finish();
      assert.ok(rest.finish === 'stop' || rest.finish === 'length', `the long stream ended with ${rest.finish}`);
      assert.ok(rest.end > t1, 'the long stream ended before the change was applied: it shows nothing');
      await checkChange(load, { before: 'sim-tps-40', after: 'sim-tps-41', t0, t1 });
      await refused('say forbidden-7');
    } finally {
      await load.stop();
    }
  });

  test('through the API: mapping and guard change, no request fails, streams begun before finish on the old mapping', async () => {
    const load = new Load(`http://127.0.0.1:${gateway.port}/v1`, 2, 2);
    try {
      assert.ok(await waitFor(() => load.exchanges.length >= 6, 30_000), 'the load did not start');
      const long = await longStream();
      assert.equal(long.deployment, 'sim/sim-tps-41');
      const t0 = Date.now();
      const put = await admin('PUT', '/admin/models/mapped', { provider: 'sim', model: 'sim-tps-42' });
      const t1 = Date.now();
      assert.equal(put.status, 200, put.text);
      const rest = await long.finish();
      assert.ok(rest.finish === 'stop' || rest.finish === 'length', `the long stream ended with ${rest.finish}`);
      assert.ok(rest.end > t1);
      await checkChange(load, { before: 'sim-tps-41', after: 'sim-tps-42', t0, t1 });
      const guard = await admin('PATCH', '/admin/config/sections/guards', { prompt: [{ name: 'api-guard', deny: ['blocked-\\d+'] }] });
      assert.equal(guard.status, 200, guard.text);
      await refused('say blocked-3');
      await passes('say forbidden-7');
      assert.deepEqual(load.exchanges.filter((e) => !e.ok), [], 'requests failed during the guard change');
    } finally {
      await load.stop();
    }
  });

  test('an invalid file and an invalid API change: the old config keeps serving, the error is reported', async () => {
    const load = new Load(`http://127.0.0.1:${gateway.port}/v1`, 2, 2);
    const lines: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    try {
      assert.ok(await waitFor(() => load.exchanges.length >= 6, 30_000), 'the load did not start');
      const rejected = await metric('switchyard_config_reloads_total{result="rejected"}');
      const generation = (await admin('GET', '/admin/config')).body.generation;
      process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
        lines.push(String(chunk));
        return (write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
      }) as typeof process.stderr.write;
      const bad = fileConfig('sim-tps-43', 'forbidden-\\d+');
      (bad.models as Json[]).push({ name: 'broken', provider: 'nobody' });
      save(bad);
      assert.ok(await waitFor(() => lines.some((l) => l.includes('config reload rejected')), 30_000), 'no rejection was logged');
      assert.equal(await metric('switchyard_config_reloads_total{result="rejected"}'), rejected + 1);
      const logged = JSON.parse(lines.find((l) => l.includes('config reload rejected'))!) as { problems: string[] };
      assert.ok(logged.problems.some((p) => /unknown provider 'nobody'/.test(p)), logged.problems.join('\n'));

      const invalid = await admin('PUT', '/admin/models/mapped', { provider: 'nobody', model: 'sim-tps-44' });
      assert.equal(invalid.status, 400, invalid.text);
      assert.equal((invalid.body.error as Json).param, 'models.mapped.provider');
      assert.equal((invalid.body.error as Json).code, 'invalid_config');

      const t = Date.now();
      assert.ok(await waitFor(() => load.startedAfter(t).length >= 8, 30_000));
      assert.equal((await admin('GET', '/admin/config')).body.generation, generation);
      assert.equal(mappingNow(), 'sim-tps-42');
      for (const e of load.startedAfter(t)) assert.equal(e.deployment, 'sim/sim-tps-42');
      assert.deepEqual(load.exchanges.filter((e) => !e.ok), []);
      await refused('say blocked-3');
    } finally {
      process.stderr.write = write;
      await load.stop();
    }
  });
});
