// Observability end to end: real OpenAI SDK traffic through the gateway, then /metrics and the audit
// log checked against what the simulator answered; kill -9 and SIGTERM of a real gateway process under load.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import pg from 'pg';
import { parseConfig } from '../../src/config/load.js';
import { createFeatures } from '../../src/features.js';
import type { AuditRecord } from '../../src/observability/audit-record.js';
import { startGateway, type RunningGateway } from '../../src/server/main.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.js';
import { clientKey, stackConfigObject, upstreamKey } from '../helpers/stack.js';

const wired = createFeatures().some((f) => f.name === 'observability');
const skip = wired ? false : 'the observability feature is not listed in src/features.ts yet';
const distRoot = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
const user = (content: string) => [{ role: 'user' as const, content }];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function configText(simPort: number, dataDir: string, fsyncMs: number): string {
  return JSON.stringify({
    ...stackConfigObject(simPort, dataDir),
    audit: { sinks: { file: { fsync_ms: fsyncMs } } },
  });
}

/** Sum of a metric's samples whose label set contains every given label. */
function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

describe('metrics and audit after real SDK traffic', { skip }, () => {
  let sim: RunningSimulator;
  let gateway: RunningGateway;
  let client: OpenAI;
  let dataDir: string;
  const metrics = async () => (await fetch(`http://127.0.0.1:${gateway.adminPort}/metrics`)).text();
  const audit = async (query: string) => {
    const res = await fetch(`http://127.0.0.1:${gateway.adminPort}/admin/audit?${query}`, { headers: { authorization: `Bearer ${gateway.adminToken}` } });
    assert.equal(res.status, 200);
    return ((await res.json()) as { data: AuditRecord[] }).data;
  };

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sy-e2e-obs-'));
    sim = await startSimulator();
    gateway = await startGateway(parseConfig(configText(sim.port, dataDir, 10), 'test'), { threads: 2 });
    client = new OpenAI({ baseURL: `http://127.0.0.1:${gateway.port}/v1`, apiKey: clientKey, maxRetries: 0 });
  });
  after(async () => {
    await gateway?.stop();
    await sim?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('counts, token sums equal to the simulator usage, TTFT histogram, audit records with bodies', async () => {
    const before = await metrics();
    const base = {
      requests: metricValue(before, 'switchyard_requests_total', { model: 'gpt-4o-mini', status: '200' }),
      input: metricValue(before, 'switchyard_tokens_total', { model: 'gpt-4o-mini', type: 'input' }),
      output: metricValue(before, 'switchyard_tokens_total', { model: 'gpt-4o-mini', type: 'output' }),
      ttft: metricValue(before, 'gen_ai_server_time_to_first_token_seconds_count', { gen_ai_request_model: 'gpt-4o-mini' }),
      cost: metricValue(before, 'switchyard_cost_usd_total', { model: 'gpt-4o-mini' }),
    };
    let prompt = 0;
    let completion = 0;
    const sent: Array<{ id: string; question: string; answer: string; stream: boolean }> = [];
    for (let i = 0; i < 4; i++) {
      const question = `plain question ${i}`;
      const { data, response } = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: user(question) }).withResponse();
      prompt += data.usage!.prompt_tokens;
      completion += data.usage!.completion_tokens;
      sent.push({ id: response.headers.get('x-request-id')!, question, answer: data.choices[0].message.content ?? '', stream: false });
    }
    for (let i = 0; i < 4; i++) {
      const question = `streamed question ${i}`;
      const { data: stream, response } = await client.chat.completions
        .create({ model: 'gpt-4o-mini', messages: user(question), stream: true, stream_options: { include_usage: true } }, { headers: { 'x-request-id': `e2e-stream-${i}` } })
        .withResponse();
      let answer = '';
      for await (const chunk of stream) {
        answer += chunk.choices[0]?.delta?.content ?? '';
        if (chunk.usage) {
          prompt += chunk.usage.prompt_tokens;
          completion += chunk.usage.completion_tokens;
        }
      }
      assert.equal(response.headers.get('x-request-id'), `e2e-stream-${i}`);
      sent.push({ id: `e2e-stream-${i}`, question, answer, stream: true });
    }
    await sleep(100);

    const text = await metrics();
    assert.equal(metricValue(text, 'switchyard_requests_total', { model: 'gpt-4o-mini', status: '200' }) - base.requests, 8);
    assert.equal(metricValue(text, 'switchyard_tokens_total', { model: 'gpt-4o-mini', type: 'input' }) - base.input, prompt);
    assert.equal(metricValue(text, 'switchyard_tokens_total', { model: 'gpt-4o-mini', type: 'output' }) - base.output, completion);
    assert.equal(metricValue(text, 'gen_ai_server_time_to_first_token_seconds_count', { gen_ai_request_model: 'gpt-4o-mini' }) - base.ttft, 4);
    assert.ok(metricValue(text, 'gen_ai_server_time_to_first_token_seconds_bucket', { gen_ai_request_model: 'gpt-4o-mini', le: '+Inf' }) >= 4);
    assert.ok(metricValue(text, 'gen_ai_client_token_usage_sum', { gen_ai_token_type: 'input' }) >= prompt);
    assert.ok(metricValue(text, 'switchyard_overhead_seconds_count') >= 8);
    assert.equal(metricValue(text, 'switchyard_in_flight_requests'), 0);
    const cost = metricValue(text, 'switchyard_cost_usd_total', { model: 'gpt-4o-mini' }) - base.cost;
    assert.ok(Math.abs(cost - (prompt * 0.15 + completion * 0.6) / 1e6) < 1e-9, `cost ${cost} priced from the gpt-4o-mini list price`);

    const records = await audit('limit=1000&full=true');
    for (const s of sent) {
      const r = records.find((x) => x.request_id === s.id);
      assert.ok(r, `audit record for ${s.id}`);
      assert.equal(r.status, 200);
      assert.equal(r.model, 'gpt-4o-mini');
      assert.equal(r.client_ip, '127.0.0.1', 'the server threads read the client address when audit is on');
      assert.equal(r.stream, s.stream);
      assert.ok(r.duration_ms !== null && r.duration_ms > 0);
      assert.deepEqual((r.request_body as { messages: unknown }).messages, user(s.question));
      const choices = (r.response_body as { choices: Array<{ message: { content: string } }> }).choices;
      assert.equal(choices[0].message.content, s.answer, 'the recorded answer is what the client got');
    }
    const all = JSON.stringify(records);
    assert.ok(!all.includes(clientKey) && !all.includes(upstreamKey), 'no keys in the audit log');
    assert.ok(!/authorization/i.test(all));
  });

  test('waiting-for-first-token rises while the upstream delays the first token and falls after', async () => {
    const waiting = async () => metricValue(await metrics(), 'switchyard_waiting_first_token');
    assert.equal(await waiting(), 0);
    const streams = Array.from({ length: 3 }, () =>
      (async () => {
        const stream = await client.chat.completions.create(
          { model: 'gpt-4o-mini', messages: user('slow'), stream: true },
          { headers: { 'x-sim-ttft-ms': '1500' } },
        );
        for await (const _ of stream) void _;
      })(),
    );
    let peak = 0;
    const deadline = Date.now() + 1200;
    while (Date.now() < deadline && peak < 3) {
      peak = Math.max(peak, await waiting());
      await sleep(50);
    }
    assert.equal(peak, 3, 'three requests waiting for their first token');
    assert.equal(metricValue(await metrics(), 'switchyard_in_flight_requests'), 3);
    await Promise.all(streams);
    await sleep(50);
    assert.equal(await waiting(), 0);
    assert.equal(metricValue(await metrics(), 'switchyard_in_flight_requests'), 0);
  });
});

describe('audit to PostgreSQL through a real gateway', { skip }, () => {
  const pgUrl = process.env.SWITCHYARD_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const table = `sy_e2e_audit_${process.pid}`;

  test('records land in the table and /admin/audit reads them from there', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sy-e2e-pg-'));
    const sim = await startSimulator();
    const config = parseConfig(
      JSON.stringify({
        ...stackConfigObject(sim.port, dataDir),
        audit: { sinks: { file: { enabled: false }, postgres: { enabled: true, url: pgUrl, table, batch: 10 } } },
      }),
      'test',
    );
    const gateway = await startGateway(config, { threads: 2 });
    const db = new pg.Pool({ connectionString: pgUrl, max: 1 });
    try {
      const client = new OpenAI({ baseURL: `http://127.0.0.1:${gateway.port}/v1`, apiKey: clientKey, maxRetries: 0 });
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) {
        const { response } = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: user(`pg ${i}`), stream: i % 2 === 0 }).withResponse();
        ids.push(response.headers.get('x-request-id')!);
      }
      const deadline = Date.now() + 5000;
      let rows: Array<{ request_id: string; model: string; status: number }> = [];
      while (Date.now() < deadline && rows.length < ids.length) {
        rows = (await db.query(`SELECT request_id, model, status FROM ${table}`)).rows;
        await sleep(50);
      }
      assert.deepEqual(rows.map((r) => r.request_id).sort(), [...ids].sort());
      assert.ok(rows.every((r) => r.model === 'gpt-4o-mini' && r.status === 200));
      const res = await fetch(`http://127.0.0.1:${gateway.adminPort}/admin/audit?model=gpt-4o-mini&limit=3`, {
        headers: { authorization: `Bearer ${gateway.adminToken}` },
      });
      const body = (await res.json()) as { source: string; data: AuditRecord[] };
      assert.equal(body.source, 'postgres');
      assert.equal(body.data.length, 3);
    } finally {
      await gateway.stop();
      await sim.close();
      await db.query(`DROP TABLE IF EXISTS ${table}`);
      await db.end();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

// A gateway in its own process, so it can really be killed.
const gatewayChild = `
import { startGateway } from '${distRoot}/src/server/main.js';
import { parseConfig } from '${distRoot}/src/config/load.js';
const gw = await startGateway(parseConfig(process.env.SY_CONFIG, 'child'), { threads: 2 });
process.on('SIGTERM', () => gw.stop().then(() => process.exit(0)));
process.stdout.write(JSON.stringify({ port: gw.port }) + '\\n');
`;

async function loadThenSignal(signal: NodeJS.Signals, fsyncMs: number) {
  const dataDir = mkdtempSync(join(tmpdir(), 'sy-e2e-kill-'));
  try {
    return await loadThenSignalIn(dataDir, signal, fsyncMs);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function loadThenSignalIn(dataDir: string, signal: NodeJS.Signals, fsyncMs: number) {
  const sim = await startSimulator();
  // A file, not -e: server threads inherit execArgv, and --input-type is refused there.
  const script = join(dataDir, 'gateway-child.mjs');
  writeFileSync(script, gatewayChild);
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, SY_CONFIG: configText(sim.port, dataDir, fsyncMs), SWITCHYARD_LOG_LEVEL: 'error' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      child.stdout.once('data', (b: Buffer) => resolve((JSON.parse(b.toString().split('\n')[0]) as { port: number }).port));
      child.once('exit', () => reject(new Error('gateway child exited before listening')));
    });
  } catch (err) {
    child.kill('SIGKILL');
    await sim.close();
    throw err;
  }
  const answered: Array<{ id: string; at: number }> = [];
  let stop = false;
  const body = JSON.stringify({ model: 'gpt-4o-mini', messages: user('load') });
  const worker = async (w: number) => {
    for (let i = 0; !stop; i++) {
      const id = `load-${w}-${i}`;
      try {
        const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${clientKey}`, 'x-request-id': id },
          body,
        });
        await res.arrayBuffer();
        if (res.status === 200) answered.push({ id, at: Date.now() });
      } catch {
        return; // the gateway is gone
      }
    }
  };
  const load = Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
  await sleep(1500);
  const signalledAt = Date.now();
  if (signal === 'SIGTERM') stop = true;
  child.kill(signal);
  await Promise.all([load, exited]);
  stop = true;
  await sim.close();
  const ids = new Set<string>();
  const dir = join(dataDir, 'audit');
  for (const f of readdirSync(dir)) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      try {
        if (line) ids.add((JSON.parse(line) as AuditRecord).request_id);
      } catch {
        // a line cut short by the kill
      }
    }
  }
  return { answered, ids, signalledAt };
}

describe('audit durability of a real gateway process', { skip }, () => {
  test('kill -9 under load: every request answered before the fsync window has its record', async () => {
    const fsyncMs = 50;
    const slackMs = 300; // thread → main hop, timer and datasync latency on a shared machine
    const { answered, ids, signalledAt } = await loadThenSignal('SIGKILL', fsyncMs);
    assert.ok(answered.length > 100, `load reached the gateway (${answered.length} answered)`);
    const old = answered.filter((a) => a.at <= signalledAt - fsyncMs - slackMs);
    const missing = old.filter((a) => !ids.has(a.id));
    assert.deepEqual(missing.slice(0, 5), [], `${missing.length} of ${old.length} older answers have no record`);
    const lost = answered.filter((a) => !ids.has(a.id));
    console.log(`kill -9: ${answered.length} answered, ${ids.size} recorded, ${lost.length} without a record`);
  });

  test('SIGTERM under load: every answered request has its record', async () => {
    const { answered, ids } = await loadThenSignal('SIGTERM', 60_000);
    assert.ok(answered.length > 100);
    const missing = answered.filter((a) => !ids.has(a.id));
    assert.deepEqual(missing.slice(0, 5), [], `${missing.length} of ${answered.length} answers have no record`);
  });
});
