// Main-thread observability with two real worker_threads: /metrics aggregates their registries,
// audit records sent from them land in the file sink and come back through GET /admin/audit.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { parseConfig } from '../../src/config/load.js';
import type { SwitchyardConfig } from '../../src/config/types.js';
import type { AdminRequest, AdminResponse, AdminRoute, MainHost } from '../../src/pipeline/stage.js';
import type { AuditRecord } from '../../src/observability/audit-record.js';
import { startMainObservability } from '../../src/observability/main-thread.js';
import { parseAuditSearch } from '../../src/observability/audit-search.js';
import { eventLoopSamples } from '../../src/observability/metrics.js';
import { GatewayError } from '../../src/shared/errors.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function config(dataDir: string, extra = ''): SwitchyardConfig {
  return parseConfig(
    `
data_dir: ${dataDir}
providers:
  - name: sim
    base_url: http://127.0.0.1:1/v1
models:
  - name: gpt-4o-mini
    provider: sim
audit:
  sinks:
    file:
      fsync_ms: 10
${extra}`,
    'test.yaml',
  );
}

// Runs in each worker: the real thread-side stages, fed synthetic requests, answering the main thread's requests.
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  const { startThreadObservability } = await import(workerData.root + '/src/observability/thread-stages.js');
  const { compileRoutes } = await import(workerData.root + '/src/config/compile.js');
  const { createContext } = await import(workerData.root + '/src/pipeline/context.js');
  const handlers = new Map();
  const host = {
    threadIndex: workerData.index, threadCount: 2,
    send: (type, payload) => parentPort.postMessage({ t: 'msg', type, payload }),
    on: (type, handler) => handlers.set(type, handler),
  };
  const obs = startThreadObservability(workerData.config, workerData.shared, host);
  const [gate, recorder] = obs.stages;
  const deployment = compileRoutes(workerData.config).byModel.get('gpt-4o-mini');
  parentPort.on('message', async (m) => {
    if (m.t === 'req') parentPort.postMessage({ t: 'res', id: m.id, value: await handlers.get(m.type)(m.payload) });
    if (m.t === 'run') {
      for (let i = 0; i < m.count; i++) {
        const json = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'q' + i }] };
        const head = { method: 'POST', path: '/v1/chat/completions', query: '', headers: { authorization: 'Bearer sk-secret', 'x-request-id': 'w' + workerData.index + '-' + i }, remoteAddress: '127.0.0.1' };
        const ctx = Object.assign(createContext(head, Buffer.from(JSON.stringify(json)), 'chat.completions'), {
          json, model: 'gpt-4o-mini', stream: true, key: { id: 'k' + workerData.index, name: 'team' + workerData.index },
        });
        gate.onRequest(ctx); ctx.deployment = deployment; recorder.onRequest(ctx);
        const filter = recorder.responseFilter(ctx);
        recorder.onUpstreamStart(ctx); recorder.onFirstToken(ctx);
        filter.onEvent({ data: '', json: { id: 'c', choices: [{ index: 0, delta: { content: 'answer ' + i } }] } });
        Object.assign(ctx.result, { status: 200, outcome: 'ok', attempts: 1, ttftMs: 20, durationMs: 50, upstreamMs: 49,
          usage: { promptTokens: 10, completionTokens: 5, totalTokens: 15, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 } });
        recorder.onComplete(ctx);
      }
      setImmediate(() => setImmediate(() => parentPort.postMessage({ t: 'ran' })));
    }
    if (m.t === 'close') { await obs.close(); parentPort.postMessage({ t: 'closed' }); }
  });
  parentPort.postMessage({ t: 'ready' });
})();
`;

interface TestWorker {
  worker: Worker;
  request(type: string, payload: unknown): Promise<unknown>;
  run(count: number): Promise<void>;
  close(): Promise<void>;
}

const distRoot = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');

async function startWorker(index: number, cfg: SwitchyardConfig, shared: unknown, onMessage: (type: string, payload: unknown, index: number) => void): Promise<TestWorker> {
  const worker = new Worker(workerSource, { eval: true, workerData: { index, config: cfg, shared, root: distRoot } });
  let nextId = 1;
  const waiting = new Map<number, (v: unknown) => void>();
  const once = new Map<string, () => void>();
  worker.on('message', (m: { t: string; id?: number; value?: unknown; type?: string; payload?: unknown }) => {
    if (m.t === 'res') waiting.get(m.id!)?.(m.value);
    else if (m.t === 'msg') onMessage(m.type!, m.payload, index);
    else once.get(m.t)?.();
  });
  const signal = (name: string) => new Promise<void>((resolve) => once.set(name, resolve));
  await signal('ready');
  return {
    worker,
    request: (type, payload) =>
      new Promise((resolve) => {
        const id = nextId++;
        waiting.set(id, resolve);
        worker.postMessage({ t: 'req', id, type, payload });
      }),
    run: (count) => {
      const done = signal('ran');
      worker.postMessage({ t: 'run', count });
      return done;
    },
    close: async () => {
      const done = signal('closed');
      worker.postMessage({ t: 'close' });
      await done;
      await worker.terminate();
    },
  };
}

class TestMainHost implements MainHost {
  readonly routes: AdminRoute[] = [];
  readonly handlers = new Map<string, (payload: unknown, threadIndex: number) => void>();
  workers: TestWorker[] = [];
  constructor(readonly dataDir: string) {}
  broadcast(): void {}
  gather(type: string, payload: unknown): Promise<unknown[]> {
    return Promise.all(this.workers.map((w) => w.request(type, payload)));
  }
  on(type: string, handler: (payload: unknown, threadIndex: number) => void): void {
    this.handlers.set(type, handler);
  }
  addAdminRoute(route: AdminRoute): void {
    this.routes.push(route);
  }
  async call(path: string, query = ''): Promise<AdminResponse> {
    const route = this.routes.find((r) => r.path === path);
    assert.ok(route, `route ${path} registered`);
    const req: AdminRequest = { method: 'GET', path, params: {}, query: new URLSearchParams(query), headers: {}, body: undefined, actor: { name: 'admin', readOnly: false } };
    return route.handle(req);
  }
}

function sample(text: string, name: string, labels: string): number {
  const lines = text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  const line = lines.find((l) => l.includes(labels));
  assert.ok(line, `${name}{${labels}} present in:\n${text.split('\n').filter((l) => l.startsWith(name)).join('\n')}`);
  return Number(line.split(' ').pop());
}

describe('main thread with two worker threads', () => {
  test('/metrics sums both registries; audit records reach the file sink and /admin/audit', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sy-obs-'));
    dirs.push(dataDir);
    const cfg = config(dataDir);
    const host = new TestMainHost(dataDir);
    const main = await startMainObservability(cfg, host);
    const onMessage = (type: string, payload: unknown, index: number) => host.handlers.get(type)?.(payload, index);
    host.workers = [await startWorker(0, cfg, main.shared, onMessage), await startWorker(1, cfg, main.shared, onMessage)];
    await host.workers[0].run(3);
    await host.workers[1].run(5);

    const res = await host.call('/metrics');
    assert.equal(res.status, 200);
    assert.match(res.contentType ?? '', /text\/plain/);
    const text = res.text ?? '';
    assert.equal(sample(text, 'switchyard_requests_total', 'key="k0"'), 3);
    assert.equal(sample(text, 'switchyard_requests_total', 'key="k1"'), 5);
    assert.equal(sample(text, 'gen_ai_server_time_to_first_token_seconds_count', 'gen_ai_request_model="gpt-4o-mini"'), 8);
    assert.equal(sample(text, 'gen_ai_client_token_usage_sum', 'gen_ai_token_type="input"'), 80);
    assert.equal(sample(text, 'switchyard_in_flight_requests', ''), 0);
    assert.ok(text.includes('switchyard_event_loop_lag_seconds{thread="thread-0"'));
    assert.ok(text.includes('switchyard_event_loop_lag_seconds{thread="thread-1"'));
    assert.ok(text.includes('switchyard_event_loop_lag_seconds{thread="main"'));
    assert.ok(text.includes('process_resident_memory_bytes'));

    await Promise.all(host.workers.map((w) => w.close()));
    await new Promise((r) => setTimeout(r, 50)); // the last batches cross the thread boundary
    assert.equal(main.dispatcher?.acceptedCount(), 8);

    const audit = await host.call('/admin/audit', 'key=team1&limit=10&full=true');
    assert.equal(audit.status, 200);
    const body = audit.body as { source: string; data: AuditRecord[] };
    assert.equal(body.source, 'file');
    assert.equal(body.data.length, 5);
    assert.deepEqual(body.data.map((r) => r.request_id), ['w1-4', 'w1-3', 'w1-2', 'w1-1', 'w1-0'], 'newest first');
    const choices = (body.data[0].response_body as { choices: Array<{ message: { content: string } }> }).choices;
    assert.equal(choices[0].message.content, 'answer 4');

    await main.close();
    const files = readdirSync(join(dataDir, 'audit'));
    assert.equal(files.length, 1);
    const lines = readFileSync(join(dataDir, 'audit', files[0]), 'utf8').trim().split('\n');
    assert.equal(lines.length, 8);
    assert.ok(!lines.join('\n').includes('sk-secret'), 'the Authorization header never reaches the file');
  });

  test('audit query parameters are validated at the edge', () => {
    assert.deepEqual(parseAuditSearch(new URLSearchParams('key=a&since=1700000000000&limit=5')), { key: 'a', sinceMs: 1700000000000, limit: 5, full: false });
    assert.equal(parseAuditSearch(new URLSearchParams('since=2026-01-01T00:00:00Z')).sinceMs, Date.parse('2026-01-01T00:00:00Z'));
    assert.throws(() => parseAuditSearch(new URLSearchParams('since=yesterday')), (e: unknown) => e instanceof GatewayError && e.param === 'since');
    assert.throws(() => parseAuditSearch(new URLSearchParams('limit=0')), (e: unknown) => e instanceof GatewayError && e.param === 'limit');
  });
});

test('event-loop lag is what exceeds the monitor interval (Node records the whole interval)', () => {
  const samples = eventLoopSamples('thread-0', { percentile: (p: number) => (p === 50 ? 10.2e6 : 13.5e6), max: 35e6 });
  assert.deepEqual(
    samples.map((s) => [s.labels.stat, Number(s.value.toFixed(6))]),
    [['p50', 0.0002], ['p99', 0.0035], ['max', 0.025]],
  );
  const idle = eventLoopSamples('main', { percentile: () => 9.9e6, max: Number.NaN });
  assert.deepEqual(idle.map((s) => s.value), [0, 0, 0], 'a timer that fired early is no lag; an empty histogram is zero');
});
