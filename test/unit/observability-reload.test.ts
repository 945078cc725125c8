// Observability's part of a config reload, below the gateway: audit epochs in the dispatcher (a record
// goes to the sinks of the config its request started under; a sink closes once nothing writes to it),
// the main thread's reload and abort, the stage sets a server thread builds and retires, label choices
// over shared cells, and the event-loop lag window that reading does not reset.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { Registry } from 'prom-client';
import { parseConfig } from '../../src/config/load.js';
import type { SwitchyardConfig } from '../../src/config/types.js';
import { compileRoutes } from '../../src/config/compile.js';
import { createContext, type RequestContext } from '../../src/pipeline/context.js';
import type { AdminRoute, MainHost, Stage, ThreadHost } from '../../src/pipeline/stage.js';
import { GatewayError } from '../../src/shared/errors.js';
import type { AuditRecord } from '../../src/observability/audit-record.js';
import type { AuditPage } from '../../src/observability/audit-search.js';
import { AuditBatchReceiver, auditEpochMessage, auditMessage, auditSlotsMessage, type AuditBatchMessage, type AuditEpochUse, type AuditSlotsAnnouncement } from '../../src/observability/audit-channel.js';
import { AuditDispatcher, newBackpressureFlag } from '../../src/observability/audit-dispatcher.js';
import { batchLines, type AuditBatch, type AuditSink } from '../../src/observability/audit-sink.js';
import { createObservabilityFeature } from '../../src/observability/feature.js';
import { FileAuditSink } from '../../src/observability/file-sink.js';
import { LoopLagWindow } from '../../src/observability/loop-lag.js';
import { startMainObservability } from '../../src/observability/main-thread.js';
import { eventLoopSamples, ThreadMetrics } from '../../src/observability/metrics.js';
import { PostgresAuditSink } from '../../src/observability/postgres-sink.js';
import { metricsMessage, type ObservabilityShared } from '../../src/observability/thread-stages.js';
import { toBatch } from '../helpers/audit-records.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sy-obs-reload-'));
  dirs.push(d);
  return d;
}

/** A sink that keeps what it is given. */
class MemorySink implements AuditSink {
  readonly lines: string[] = [];
  closed = false;
  constructor(readonly name: string) {}
  write(batch: AuditBatch): void {
    this.lines.push(...batchLines(batch));
  }
  pending(): number {
    return 0;
  }
  async search(): Promise<AuditPage> {
    return { records: this.lines.map((l) => JSON.parse(l) as AuditRecord).reverse(), nextBefore: null };
  }
  async find(): Promise<AuditRecord | undefined> {
    return undefined;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

const queue = { max: 100, policy: 'spill' as const };
const batchOf = (tag: string) => toBatch([JSON.stringify({ tag })]);
const tags = (sink: MemorySink) => sink.lines.map((l) => (JSON.parse(l) as { tag: string }).tag);
const settle = () => new Promise((r) => setTimeout(r, 30));

describe('audit epochs', () => {
  test('records go to the sinks of their epoch; a sink closes once no epoch uses it', async () => {
    const file = new MemorySink('file');
    const postgres = new MemorySink('postgres');
    const dispatcher = new AuditDispatcher([file], queue, newBackpressureFlag(), new Registry());
    const first = dispatcher.epoch;
    dispatcher.opened(first); // a server thread's stages
    const previous = dispatcher.begin([file, postgres], queue);
    assert.equal(previous, first);
    const second = dispatcher.epoch;
    dispatcher.opened(second);
    dispatcher.accept(batchOf('old'), first);
    dispatcher.accept(batchOf('new'), second);
    dispatcher.accept(batchOf('untagged'));
    assert.deepEqual(tags(file), ['old', 'new', 'untagged']);
    assert.deepEqual(tags(postgres), ['new', 'untagged'], 'a request that started before the switch is not in the new sink');
    // Back to file only: the file+postgres epoch lives while stages still write to it.
    dispatcher.begin([file], queue);
    dispatcher.closed(first);
    assert.equal(postgres.closed, false);
    dispatcher.accept(batchOf('late'), second);
    assert.deepEqual(tags(postgres), ['new', 'untagged', 'late']);
    dispatcher.closed(second);
    await settle();
    assert.equal(postgres.closed, true, 'closed once its last stages were gone');
    assert.equal(file.closed, false, 'the file sink is still in use');
    assert.deepEqual(dispatcher.liveSinks(), [file]);
    await dispatcher.close();
    assert.equal(file.closed, true);
  });

  test('revert puts the epoch back; a sink only the dropped epoch had is closed', async () => {
    const file = new MemorySink('file');
    const extra = new MemorySink('postgres');
    const dispatcher = new AuditDispatcher([file], queue, newBackpressureFlag(), new Registry());
    const before = dispatcher.epoch;
    const previous = dispatcher.begin([file, extra], queue);
    dispatcher.revert(previous, queue);
    assert.equal(dispatcher.epoch, before);
    await settle();
    assert.equal(extra.closed, true);
    dispatcher.opened(before + 1); // a thread that prepared late: the dropped epoch is gone, nothing to count
    dispatcher.accept(batchOf('after'));
    assert.deepEqual(tags(file), ['after']);
    await dispatcher.close();
  });

  test('audit turned off: reads answer 404, late records still reach the sinks they were meant for', async () => {
    const file = new MemorySink('file');
    const dispatcher = new AuditDispatcher([file], queue, newBackpressureFlag(), new Registry());
    const on = dispatcher.epoch;
    dispatcher.opened(on);
    dispatcher.begin([], queue);
    await assert.rejects(dispatcher.search({ limit: 1, full: false }), (e: unknown) => e instanceof GatewayError && e.status === 404 && e.code === 'audit_disabled');
    dispatcher.accept(batchOf('in flight'), on);
    dispatcher.accept(batchOf('untagged'));
    assert.deepEqual(tags(file), ['in flight', 'untagged']);
    dispatcher.closed(on);
    await settle();
    assert.equal(file.closed, true);
    await dispatcher.close();
  });
});

const pgUrl = process.env.SWITCHYARD_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

function config(dataDir: string, sections: Record<string, unknown> = {}): SwitchyardConfig {
  return parseConfig(
    JSON.stringify({
      data_dir: dataDir,
      providers: [{ name: 'sim', base_url: 'http://127.0.0.1:1/v1' }],
      models: [{ name: 'gpt-4o-mini', provider: 'sim' }],
      audit: { sinks: { file: { fsync_ms: 5 } } },
      ...sections,
    }),
    'test',
  );
}

class FakeMainHost implements MainHost {
  readonly routes: AdminRoute[] = [];
  readonly handlers = new Map<string, (payload: unknown, threadIndex: number) => void>();
  gathered = 0;
  constructor(readonly dataDir: string) {}
  broadcast(): void {}
  async gather(): Promise<unknown[]> {
    this.gathered++;
    return [];
  }
  on(type: string, handler: (payload: unknown, threadIndex: number) => void): void {
    this.handlers.set(type, handler);
  }
  addAdminRoute(route: AdminRoute): void {
    this.routes.push(route);
  }
}

describe('main thread reload', () => {
  test('file only → file + postgres reuses the file sink; abort goes back and closes the new sink', async () => {
    const dataDir = tempDir();
    const table = `sy_obs_reload_${process.pid}_${randomUUID().slice(0, 8)}`;
    const host = new FakeMainHost(dataDir);
    const base = config(dataDir);
    const main = await startMainObservability(base, host);
    const [file] = main.dispatcher.currentSinks();
    assert.ok(file instanceof FileAuditSink);
    const withPostgres = config(dataDir, { audit: { sinks: { file: { fsync_ms: 5 }, postgres: { enabled: true, url: pgUrl, table } } } });
    const shared = await main.reload(withPostgres);
    assert.notEqual(shared.auditEpoch, main.shared.auditEpoch);
    const sinks = main.dispatcher.currentSinks();
    assert.equal(sinks[0], file, 'the same file sink: no second writer on the same files');
    assert.ok(sinks[1] instanceof PostgresAuditSink);
    main.abort();
    assert.deepEqual(main.dispatcher.currentSinks(), [file]);
    assert.equal(main.dispatcher.epoch, main.shared.auditEpoch);
    await settle();
    assert.deepEqual(main.dispatcher.liveSinks(), [file], 'the PostgreSQL sink is closed');

    // Only settings that do not change the sinks: the same epoch, the file sink reconfigured in place.
    const same = await main.reload(config(dataDir, { audit: { bodies: false, queue: { max: 7, policy: 'block' }, sinks: { file: { fsync_ms: 40, rotate_bytes: 4096 } } } }));
    assert.equal(same.auditEpoch, main.shared.auditEpoch);
    assert.equal((file as FileAuditSink).settings.fsync_ms, 40);
    main.abort();
    assert.equal((file as FileAuditSink).settings.fsync_ms, 5, 'abort puts the settings back');
    await main.close();
    const db = new pg.Pool({ connectionString: pgUrl, max: 1 });
    await db.query(`DROP TABLE IF EXISTS ${table}`);
    await db.end();
  });

  test('a sink that cannot be opened refuses the reload, naming the setting, and changes nothing', async () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, 'not-a-dir'), '');
    const host = new FakeMainHost(dataDir);
    const main = await startMainObservability(config(dataDir), host);
    const epoch = main.dispatcher.epoch;
    await assert.rejects(main.reload(config(dataDir, { audit: { sinks: { file: { dir: 'not-a-dir/audit' } } } })), /audit\.sinks\.file\.dir/);
    assert.equal(main.dispatcher.epoch, epoch);
    await main.close();
  });

  test('/metrics asks the threads only while metrics.enabled is on, as the serving config says', async () => {
    const dataDir = tempDir();
    const host = new FakeMainHost(dataDir);
    const main = await startMainObservability(config(dataDir), host);
    await main.renderMetrics();
    assert.equal(host.gathered, 1);
    await main.reload(config(dataDir, { metrics: { enabled: false } }));
    await main.renderMetrics();
    assert.equal(host.gathered, 1);
    main.abort();
    await main.renderMetrics();
    assert.equal(host.gathered, 2);
    await main.close();
  });

  test('the audit routes exist with audit off at start, and answer 404 until a reload turns it on', async () => {
    const dataDir = tempDir();
    const host = new FakeMainHost(dataDir);
    const main = await startMainObservability(config(dataDir, { audit: { enabled: false } }), host);
    const list = host.routes.find((r) => r.path === '/admin/audit')!;
    const request = { method: 'GET', path: '/admin/audit', params: {}, query: new URLSearchParams(), headers: {}, body: undefined, actor: { name: 'admin', readOnly: false } };
    await assert.rejects(Promise.resolve(list.handle(request)), (e: unknown) => e instanceof GatewayError && e.status === 404);
    await main.reload(config(dataDir));
    const answer = await list.handle(request);
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, { object: 'list', source: 'file', data: [], next_before: null });
    await main.close();
  });
});

class FakeThreadHost implements ThreadHost {
  readonly threadIndex = 0;
  readonly threadCount = 1;
  readonly sent: Array<{ type: string; payload: unknown }> = [];
  readonly handlers = new Map<string, (payload: unknown) => unknown>();
  readonly receiver = new AuditBatchReceiver();
  /** What crossed, in order: 'batch:<request ids>' or 'open:<epoch>' / 'close:<epoch>'. */
  readonly events: string[] = [];
  send(type: string, payload: unknown): void {
    this.sent.push({ type, payload });
    if (type === auditSlotsMessage) this.receiver.announce(payload as AuditSlotsAnnouncement, 0);
    else if (type === auditMessage) {
      const message = payload as AuditBatchMessage;
      this.receiver.deliver(message, (b) => this.events.push(`batch@${message.epoch}:${batchLines(b).map((l) => (JSON.parse(l) as AuditRecord).request_id).join(',')}`));
    } else if (type === auditEpochMessage) {
      const use = payload as AuditEpochUse;
      this.events.push(`${use.open ? 'open' : 'close'}:${use.epoch}`);
    }
  }
  on(type: string, handler: (payload: unknown) => unknown): void {
    this.handlers.set(type, handler);
  }
}

function requestThrough(stages: readonly Stage[], cfg: SwitchyardConfig, id: string): RequestContext {
  const head = { method: 'POST', path: '/v1/chat/completions', query: '', headers: { 'x-request-id': id }, remoteAddress: '127.0.0.1' };
  const json = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: id }] };
  const ctx = Object.assign(createContext(head, Buffer.from(JSON.stringify(json)), 'chat.completions'), { json, model: 'gpt-4o-mini', stream: false, id });
  for (const s of stages) s.onRequest?.(ctx);
  ctx.deployment = compileRoutes(cfg).byModel.get('gpt-4o-mini');
  Object.assign(ctx.result, { status: 200, outcome: 'ok', attempts: 1, durationMs: 5 });
  return ctx;
}

describe('server thread stage sets', () => {
  test('a reload that leaves observability alone keeps the stages; a changed one builds a set that retires after its last batch', async () => {
    const dataDir = tempDir();
    const feature = createObservabilityFeature();
    const host = new FakeThreadHost();
    const flag = newBackpressureFlag();
    const cfg = config(dataDir);
    const shared: ObservabilityShared = { auditBackpressure: flag, auditEpoch: 1 };
    const first = await feature.initThread!(cfg, shared, host);
    const unchanged = await feature.reloadThread!(config(dataDir, { models: [{ name: 'gpt-4o-mini', provider: 'sim' }, { name: 'other', provider: 'sim' }] }), shared, host, first);
    assert.equal(unchanged, first, 'the very same stages');

    const noBodies = config(dataDir, { audit: { bodies: false, sinks: { file: { fsync_ms: 5 } } } });
    const second = await feature.reloadThread!(noBodies, { auditBackpressure: flag, auditEpoch: 2 }, host, first);
    assert.notEqual(second, first);
    // A request that started on the first set finishes on it: bodies recorded, epoch 1.
    const inFlight = requestThrough(first, cfg, 'old-1');
    const after = requestThrough(second, noBodies, 'new-1');
    for (const s of first) s.onComplete?.(inFlight);
    for (const s of second) s.onComplete?.(after);
    await settle();
    await feature.retireThread!(first);
    assert.deepEqual(host.events, ['open:1', 'open:2', 'batch@1:old-1', 'batch@2:new-1', 'close:1'], 'the old set closes its epoch after its last batch');
    await feature.closeThread!();
    assert.deepEqual(host.events.slice(-1), ['close:2']);
  });

  test('metrics count on across a reload; a set with other label choices labels its own requests', async () => {
    const dataDir = tempDir();
    const feature = createObservabilityFeature();
    const host = new FakeThreadHost();
    const cfg = config(dataDir, { audit: { enabled: false } });
    const shared: ObservabilityShared = { auditBackpressure: newBackpressureFlag(), auditEpoch: 1 };
    const first = await feature.initThread!(cfg, shared, host);
    const byName = config(dataDir, { audit: { enabled: false }, metrics: { key_label: 'name' } });
    const second = await feature.reloadThread!(byName, shared, host, first);
    const run = (stages: readonly Stage[], c: SwitchyardConfig, id: string) => {
      const ctx = requestThrough(stages, c, id);
      ctx.key = { id: 'key_1', name: 'team-a' } as RequestContext['key'];
      for (const s of stages) s.onComplete?.(ctx);
    };
    run(first, cfg, 'a');
    run(second, byName, 'b');
    run(second, byName, 'c');
    await settle();
    const metrics = (await host.handlers.get(metricsMessage)!(null)) as Array<{ name: string; values: Array<{ value: number; labels: Record<string, string> }> }>;
    const requests = metrics.find((m) => m.name === 'switchyard_requests_total')!.values;
    assert.equal(requests.find((v) => v.labels.key === 'key_1')?.value, 1);
    assert.equal(requests.find((v) => v.labels.key === 'team-a')?.value, 2);
    await feature.retireThread!(first);
    await feature.closeThread!();
  });

  test('label caps are per thread across configs: a reload cannot add series beyond the largest cap', () => {
    const cfg = config(tempDir(), { metrics: { max_label_values: 2 } });
    const metrics = new ThreadMetrics(cfg.metrics, 'thread-0');
    const firstView = metrics.labelsFor(cfg.metrics);
    const ctxFor = (key: string) => Object.assign(createContext({ method: 'POST', path: '/v1/chat/completions', query: '', headers: {}, remoteAddress: '' }, Buffer.from('{}'), 'chat.completions'), { key: { id: key, name: key } });
    assert.equal(firstView.maker.forRequest(ctxFor('k1') as RequestContext).key, 'k1');
    assert.equal(firstView.maker.forRequest(ctxFor('k2') as RequestContext).key, 'k2');
    const again = metrics.labelsFor(cfg.metrics);
    assert.equal(again.maker.forRequest(ctxFor('k3') as RequestContext).key, '__other__', 'a new view does not start a fresh allowance');
    const raised = metrics.labelsFor({ ...cfg.metrics, max_label_values: 3 });
    assert.equal(raised.maker.forRequest(ctxFor('k3') as RequestContext).key, 'k3');
    metrics.close();
  });
});

describe('event-loop lag window', () => {
  test('over the last 10 seconds, whoever reads it, as often as they read it', () => {
    let now = 5_000;
    const window = new LoopLagWindow(() => now);
    window.stop(); // driven by hand below
    const tickAfter = (ms: number) => {
      now += ms;
      window.tick();
    };
    for (let i = 0; i < 100; i++) tickAfter(10); // one quiet second
    tickAfter(250); // one late run
    for (let i = 0; i < 50; i++) tickAfter(10);
    const read = () => eventLoopSamples('main', window.window()).map((s) => Math.round(s.value * 1000));
    const first = read();
    assert.deepEqual(read(), first, 'reading resets nothing');
    assert.equal(first[2], 240, 'max: the late run, 240 ms past its 10 ms');
    assert.equal(first[0], 0, 'p50: on time');
    // The loop blocked for 4 s: those seconds are empty, and 12 s later the late run has left the window.
    tickAfter(4_000);
    const blocked = read()[2];
    assert.ok(blocked >= 3985 && blocked <= 3995, `max ≈ 3990 ms (${blocked})`);
    for (let i = 0; i < 1300; i++) tickAfter(10);
    assert.deepEqual(read(), [0, 0, 0]);
  });
});
