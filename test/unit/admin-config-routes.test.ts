// The runtime config API over a real file store and a ConfigReloader with stand-in server threads:
// what each route answers, what it stores, how it refuses, and that nothing is kept of a refused write.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { configApiRoutes } from '../../src/admin/config-api/index.js';
import { parseConfig } from '../../src/config/load.js';
import { ConfigReloader, type ReloadThreads } from '../../src/config/reload.js';
import { RuntimeConfigStore } from '../../src/config/store/runtime-store.js';
import type { ConfigStoreBackend, StoredDocument } from '../../src/config/store/backend.js';
import type { OverlayEntry } from '../../src/config/store/overlay.js';
import type { SwitchyardConfig } from '../../src/config/types.js';
import { checkGuardPatterns } from '../../src/guards/feature.js';
import type { AdminActor, AdminRoute, Feature, MainHost } from '../../src/pipeline/stage.js';
import { GatewayError } from '../../src/shared/errors.js';

const fileObject = () => ({
  data_dir: '/nonexistent',
  providers: [
    { name: 'sim', base_url: 'http://127.0.0.1:1/v1', api_key: 'sk-file-key' },
    { name: 'spare', base_url: 'http://127.0.0.1:2/v1' },
  ],
  models: [
    { name: 'a', provider: 'sim' },
    { name: 'b', provider: 'spare', model: 'upstream-b' },
  ],
});

const features: Feature[] = [
  { name: 'routing', reloadMain: () => undefined },
  { name: 'guards', validate: checkGuardPatterns, reloadThread: () => [] },
  { name: 'limits' },
];

function fakeHost(): MainHost {
  return { dataDir: '/nonexistent', broadcast: () => undefined, gather: async () => [], on: () => undefined, addAdminRoute: () => undefined, metricRegistries: [] };
}

/** Server threads that may be told to fail the next prepare step. */
function threads(): ReloadThreads & { failNext: boolean; prepared: number } {
  const t = {
    failNext: false,
    prepared: 0,
    prepare: async () => {
      t.prepared++;
      if (t.failNext) {
        t.failNext = false;
        throw new Error('server thread 1 did not answer in time');
      }
    },
    commit: async () => undefined,
    abort: async () => undefined,
  };
  return t;
}

interface Answer {
  status: number;
  body: Record<string, unknown> & { error?: { message: string; type: string; param: string | null; code: string | null; problems?: string[] } };
}

class Harness {
  constructor(readonly dir = mkdtempSync(join(tmpdir(), 'switchyard-config-api-'))) {}
  readonly threads = threads();
  store!: RuntimeConfigStore;
  reloader!: ConfigReloader;
  private routes: Array<{ route: AdminRoute; pattern: RegExp; params: string[] }> = [];
  readonly env = { SWITCHYARD_SECRETS_KEY: 'a passphrase for the unit test' };

  async start(file: Record<string, unknown> = fileObject()): Promise<this> {
    const fileConfig = parseConfig(stringify({ ...file, data_dir: this.dir }), 'test.yaml');
    this.store = await RuntimeConfigStore.open(fileConfig.config_store, this.dir, this.env);
    const config = this.store.startConfig(fileConfig, features);
    this.reloader = new ConfigReloader(config, {
      features,
      host: fakeHost(),
      threads: this.threads,
      adopt: () => undefined,
      base: fileConfig,
      overlay: (data) => this.store.compose(data),
    });
    this.store.attach(this.reloader);
    this.routes = configApiRoutes({ store: this.store, reloader: this.reloader }).map((route) => {
      const params: string[] = [];
      const source = route.path.replace(/:([a-z]+)/g, (_m, name: string) => (params.push(name), '([^/]+)'));
      return { route, pattern: new RegExp(`^${source}$`), params };
    });
    return this;
  }

  get config(): SwitchyardConfig {
    return this.reloader.config;
  }

  async call(method: string, path: string, body?: unknown, actor: AdminActor = { name: 'admin', readOnly: false }): Promise<Answer> {
    const [pathname, query = ''] = path.split('?');
    for (const { route, pattern, params } of this.routes) {
      const match = pattern.exec(pathname);
      if (!match || route.method !== method) continue;
      try {
        const res = await route.handle({
          method,
          path: pathname,
          params: Object.fromEntries(params.map((p, i) => [p, decodeURIComponent(match[i + 1])])),
          query: new URLSearchParams(query),
          headers: {},
          body,
          actor,
        });
        return { status: res.status, body: res.body as Answer['body'] };
      } catch (err) {
        if (err instanceof GatewayError) return { status: err.status, body: err.toBody() as Answer['body'] };
        throw err;
      }
    }
    throw new Error(`no route ${method} ${pathname}`);
  }

  storedText(): string {
    try {
      return readFileSync(join(this.dir, 'config-store.json'), 'utf8');
    } catch {
      return '';
    }
  }

  async stop(): Promise<void> {
    await this.store.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function expectRefusal(answer: Answer, status: number, code: string, param?: string | null): string[] {
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  const error = answer.body.error!;
  assert.equal(error.code, code, JSON.stringify(answer.body));
  assert.equal(typeof error.message, 'string');
  if (param !== undefined) assert.equal(error.param, param, JSON.stringify(answer.body));
  return error.problems ?? [];
}

describe('config API: providers and models', () => {
  let h: Harness;
  before(async () => (h = await new Harness().start()));
  after(() => h.stop());

  test('the list shows every provider with its source and secrets masked', async () => {
    const list = await h.call('GET', '/admin/providers');
    assert.equal(list.status, 200);
    const data = list.body.data as Array<Record<string, unknown>>;
    assert.deepEqual(data.map((p) => [p.name, p.source, p.api_key]), [['sim', 'file', '********'], ['spare', 'file', undefined]]);
    assert.ok(!JSON.stringify(list.body).includes('sk-file-key'));
  });

  test('POST creates a provider: stored encrypted (0600), applied, answered masked with the generation', async () => {
    const generation = h.reloader.generation;
    const created = await h.call('POST', '/admin/providers', { name: 'new', base_url: 'http://127.0.0.1:3/v1', api_key: 'sk-api-secret', headers: { 'X-Team': 'blue' } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.api_key, '********');
    assert.deepEqual(created.body.headers, { 'X-Team': '********' });
    assert.equal(created.body.source, 'store');
    assert.equal(created.body.generation, generation + 1);
    assert.equal(h.config.providers.find((p) => p.name === 'new')?.api_key, 'sk-api-secret');
    assert.equal(h.config.providers.find((p) => p.name === 'new')?.timeouts.connect_ms, 5000, 'the defaults are filled in');
    const text = h.storedText();
    assert.ok(text.includes('"providers.new"'));
    assert.ok(!text.includes('sk-api-secret') && !text.includes('blue'), 'a secret is stored in clear text');
    assert.equal(statSync(join(h.dir, 'config-store.json')).mode & 0o777, 0o600);
    expectRefusal(await h.call('POST', '/admin/providers', { name: 'new', base_url: 'http://x/v1' }), 409, 'already_exists', 'name');
  });

  test('an invalid object is refused with every problem, the path named by the object, nothing stored', async () => {
    const stored = h.storedText();
    const generation = h.reloader.generation;
    const problems = expectRefusal(
      await h.call('POST', '/admin/providers', { name: 'bad', base_url: 'ftp://x', timeouts: { connect_ms: 'soon' }, colour: 'red' }),
      400,
      'invalid_config',
    );
    assert.ok(problems.some((p) => p.startsWith('providers.bad.base_url: ')), problems.join('\n'));
    assert.ok(problems.some((p) => p.startsWith('providers.bad.timeouts.connect_ms: must be integer')), problems.join('\n'));
    assert.ok(problems.some((p) => p === "providers.bad: unknown key 'colour'"), problems.join('\n'));
    const model = await h.call('POST', '/admin/models', { name: 'orphan', provider: 'nobody' });
    expectRefusal(model, 400, 'invalid_config', 'models.orphan.provider');
    assert.equal(h.storedText(), stored);
    assert.equal(h.reloader.generation, generation);
    assert.equal(h.config.providers.some((p) => p.name === 'bad'), false);
  });

  test('PUT replaces, PATCH merges; "********" keeps the secret in force; the name cannot change', async () => {
    const put = await h.call('PUT', '/admin/providers/sim', { base_url: 'http://127.0.0.1:9/v1', api_key: '********' });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const sim = h.config.providers.find((p) => p.name === 'sim')!;
    assert.equal(sim.base_url, 'http://127.0.0.1:9/v1');
    assert.equal(sim.api_key, 'sk-file-key');
    // Kept as a reference to the file's secret, not a copy of it.
    assert.ok(!h.storedText().includes('sk-file-key'));
    const patched = await h.call('PATCH', '/admin/providers/sim', { timeouts: { idle_ms: 1234 } });
    assert.equal(patched.status, 200);
    assert.equal(h.config.providers.find((p) => p.name === 'sim')!.timeouts.idle_ms, 1234);
    assert.equal(h.config.providers.find((p) => p.name === 'sim')!.base_url, 'http://127.0.0.1:9/v1');
    expectRefusal(await h.call('PATCH', '/admin/providers/sim', { name: 'other' }), 400, 'invalid_config', 'providers.sim.name');
    expectRefusal(await h.call('PUT', '/admin/providers/spare', { base_url: 'http://x/v1', api_key: '********' }), 400, 'invalid_config', 'providers.spare.api_key');
    expectRefusal(await h.call('PATCH', '/admin/providers/nobody', {}), 404, 'not_found');
    expectRefusal(await h.call('PATCH', '/admin/providers/sim', [1, 2]), 400, 'invalid_config', 'providers.sim');
  });

  test('a model group through the API; a model removed that another falls back to is refused', async () => {
    const group = await h.call('POST', '/admin/models', {
      name: 'group',
      deployments: [
        { provider: 'sim', model: 'x' },
        { provider: 'spare', model: 'y' },
      ],
      strategy: 'round_robin',
      fallbacks: ['a'],
    });
    assert.equal(group.status, 201, JSON.stringify(group.body));
    assert.equal(h.config.models.find((m) => m.name === 'group')?.deployments?.length, 2);
    const refused = expectRefusal(await h.call('DELETE', '/admin/models/a'), 400, 'invalid_config');
    assert.match(refused.join('\n'), /fallback/);
    assert.ok(h.config.models.some((m) => m.name === 'a'));
  });

  test("DELETE of a file's object leaves a tombstone; reset brings it back; DELETE of a store-only one removes it", async () => {
    assert.equal((await h.call('DELETE', '/admin/models/b')).status, 200);
    assert.equal(h.config.models.some((m) => m.name === 'b'), false);
    const view = await h.call('GET', '/admin/config');
    assert.deepEqual(view.body.deleted, ['models.b']);
    expectRefusal(await h.call('GET', '/admin/models/b'), 404, 'not_found');
    const reset = await h.call('POST', '/admin/config/reset', { target: 'models.b' });
    assert.equal(reset.status, 200, JSON.stringify(reset.body));
    assert.equal(reset.body.source, 'file');
    assert.equal(h.config.models.find((m) => m.name === 'b')?.model, 'upstream-b');
    expectRefusal(await h.call('POST', '/admin/config/reset', { target: 'models.b' }), 404, 'not_found');
    expectRefusal(await h.call('POST', '/admin/config/reset', { target: 'server.port' }), 400, 'invalid_value', 'target');
    assert.equal((await h.call('DELETE', '/admin/models/group')).status, 200);
    assert.equal(h.store.overlay.get('models.group'), undefined);
  });

  test('a read-only credential cannot write', async () => {
    expectRefusal(await h.call('DELETE', '/admin/providers/spare', undefined, { name: 'viewer', readOnly: true }), 403, 'read_only_token');
  });

  test('GET /admin/config: the effective config masked, the source of each object, the store', async () => {
    const view = await h.call('GET', '/admin/config');
    assert.equal(view.body.generation, h.reloader.generation);
    const sources = view.body.sources as Record<string, string>;
    assert.equal(sources['providers.sim'], 'store');
    assert.equal(sources['providers.spare'], 'file');
    assert.equal(sources['sections.guards'], 'file');
    assert.ok(!JSON.stringify(view.body).includes('sk-'), 'a secret is shown');
    assert.equal((view.body.store as Record<string, unknown>).backend, 'file');
  });

  test('the change trail: newest first, actor, action, target, a masked diff; paged with before', async () => {
    const changes = await h.call('GET', '/admin/config/changes?limit=100');
    const data = changes.body.data as Array<{ id: number; actor: string; action: string; target: string; diff: Array<{ path: string; before: unknown; after: unknown }> }>;
    assert.ok(data.length >= 6);
    assert.ok(data[0].id > data[1].id);
    const created = data.find((c) => c.target === 'providers.new' && c.action === 'create')!;
    assert.equal(created.actor, 'admin');
    assert.equal((created.diff[0].after as Record<string, unknown>).api_key, '********');
    const patch = data.find((c) => c.target === 'providers.sim' && c.action === 'update')!;
    assert.deepEqual(patch.diff, [{ path: 'providers.sim.timeouts', before: null, after: { idle_ms: 1234 } }]);
    assert.ok(!JSON.stringify(data).includes('sk-api-secret'));
    const older = await h.call('GET', `/admin/config/changes?limit=2&before=${data[0].id}`);
    assert.deepEqual((older.body.data as Array<{ id: number }>).map((c) => c.id), [data[1].id, data[2].id]);
    expectRefusal(await h.call('GET', '/admin/config/changes?limit=0'), 400, 'invalid_value', 'limit');
  });

  test('an apply that fails after the store was written puts the store back', async () => {
    const stored = h.storedText();
    h.threads.failNext = true;
    const answer = await h.call('POST', '/admin/models', { name: 'late', provider: 'sim' });
    expectRefusal(answer, 503, 'config_not_applied');
    assert.equal(h.config.models.some((m) => m.name === 'late'), false);
    assert.equal(h.store.overlay.get('models.late'), undefined);
    // Put back as a new revision (the secrets sealed again, with new IVs).
    const now = JSON.parse(h.storedText()) as { revision: number; entries: Record<string, unknown> };
    const was = JSON.parse(stored) as { revision: number; entries: Record<string, unknown> };
    assert.deepEqual(Object.keys(now.entries), Object.keys(was.entries));
    assert.equal(now.revision, was.revision + 2);
  });

  test('concurrent writes are serialised: each one lands', async () => {
    const names = Array.from({ length: 6 }, (_, i) => `parallel-${i}`);
    const answers = await Promise.all(names.map((name) => h.call('POST', '/admin/models', { name, provider: 'sim' })));
    assert.deepEqual(answers.map((a) => a.status), Array(6).fill(201));
    for (const name of names) assert.ok(h.config.models.some((m) => m.name === name), name);
    const generations = answers.map((a) => a.body.generation as number).sort((x, y) => x - y);
    assert.equal(new Set(generations).size, 6);
  });
});

describe('config API: sections and prices', () => {
  let h: Harness;
  before(async () => (h = await new Harness().start({ ...fileObject(), guards: { prompt: [{ name: 'file-guard', deny: ['launch codes'] }] } })));
  after(() => h.stop());

  test('PATCH merges into the section; a bad pattern is refused with its path; unknown sections are 404', async () => {
    const patched = await h.call('PATCH', '/admin/config/sections/guards', { output: [{ name: 'no-leaks', patterns: ['secret'] }] });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal(patched.body.source, 'store');
    assert.deepEqual(h.config.guards.prompt.map((g) => g.name), ['file-guard']);
    assert.deepEqual(h.config.guards.output.map((g) => g.name), ['no-leaks']);
    expectRefusal(await h.call('PUT', '/admin/config/sections/guards', { prompt: [{ name: 'x', deny: ['(unclosed'] }] }), 400, 'invalid_config', 'guards.prompt.0.deny.0');
    expectRefusal(await h.call('PUT', '/admin/config/sections/guards', { prompt: 'nope' }), 400, 'invalid_config', 'guards.prompt');
    expectRefusal(await h.call('GET', '/admin/config/sections/server'), 404, 'not_found');
    expectRefusal(await h.call('PATCH', '/admin/config/sections/auth', 'keys'), 400, 'invalid_config', 'auth');
  });

  test('a section whose feature cannot reload is refused as needing a restart', async () => {
    const answer = await h.call('PUT', '/admin/config/sections/auth', 'keys');
    expectRefusal(answer, 409, 'restart_required', 'auth');
    expectRefusal(await h.call('PUT', '/admin/prices/a', { input: 1, output: 2 }), 409, 'restart_required', 'prices.a');
    expectRefusal(await h.call('PUT', '/admin/prices/a', { input: -1, output: 2 }), 400, 'invalid_config', 'prices.a.input');
    assert.equal(h.store.overlay.get('sections.auth'), undefined);
  });

  test('DELETE resets a section to the file; the file edited later still shows through a PATCH', async () => {
    const reset = await h.call('DELETE', '/admin/config/sections/guards');
    assert.equal(reset.status, 200);
    assert.equal(reset.body.source, 'file');
    assert.equal(h.config.guards.output.length, 0);
    assert.equal((await h.call('PATCH', '/admin/config/sections/guards', { output: [{ name: 'o', patterns: ['x'] }] })).status, 200);
    const edited = { ...fileObject(), data_dir: h.dir, guards: { prompt: [{ name: 'edited', deny: ['y'] }] } };
    const report = await h.reloader.reload({ text: stringify(edited), source: 'test.yaml' });
    assert.equal(report.result, 'applied', report.problems.join('\n'));
    assert.deepEqual(h.config.guards.prompt.map((g) => g.name), ['edited']);
    assert.deepEqual(h.config.guards.output.map((g) => g.name), ['o']);
  });
});

describe('config store across restarts', () => {
  test('a second start on the same data dir runs the file with the stored changes; check() is a dry run', async () => {
    const first = await new Harness().start();
    try {
      assert.equal((await first.call('POST', '/admin/models', { name: 'kept', provider: 'spare', model: 'kept-upstream' })).status, 201);
      assert.equal((await first.call('DELETE', '/admin/models/a')).status, 200);
      await first.store.close();
      const second = await new Harness(first.dir).start();
      assert.equal(second.config.models.find((m) => m.name === 'kept')?.model, 'kept-upstream');
      assert.equal(second.config.models.some((m) => m.name === 'a'), false);
      const generation = second.reloader.generation;
      const dry = second.reloader.check({ text: stringify({ ...fileObject(), data_dir: first.dir, colour: 1 }), source: 'dry' });
      assert.deepEqual(dry.problems, ["(top level): unknown key 'colour'"]);
      const moved = second.reloader.check({ text: stringify({ ...fileObject(), data_dir: first.dir, server: { port: 1 } }), source: 'dry' });
      assert.deepEqual(moved.problems, []);
      assert.match(moved.restart.join('\n'), /^server\.port: changed/);
      assert.equal(second.reloader.generation, generation);
      await second.store.close();
    } finally {
      rmSync(first.dir, { recursive: true, force: true });
    }
  });
});

/** One document shared by two stores, as a PostgreSQL table is, without notifications: only writes meet. */
class SharedDocument {
  doc: StoredDocument = { revision: 0, entries: {} };
  backend(): ConfigStoreBackend {
    return {
      kind: 'postgres',
      description: 'postgres shared-in-memory',
      load: async () => structuredClone(this.doc),
      save: async (doc, expected) => {
        if (this.doc.revision !== expected) return false;
        this.doc = structuredClone(doc);
        return true;
      },
      appendChange: async (change) => ({ id: 1, ...change }),
      changes: async () => [],
      watch: () => undefined,
      close: async () => undefined,
    };
  }
}

describe('config store shared by two nodes', () => {
  test("a write that meets another node's change is planned again on it; a refused one still brings it in", async () => {
    const shared = new SharedDocument();
    const open = async () => {
      const dir = mkdtempSync(join(tmpdir(), 'switchyard-shared-'));
      const fileConfig = parseConfig(stringify({ ...fileObject(), data_dir: dir }), 'node.yaml');
      const store = await RuntimeConfigStore.open(fileConfig.config_store, dir, { SWITCHYARD_SECRETS_KEY: 'shared passphrase' }, shared.backend());
      const reloader = new ConfigReloader(fileConfig, { features, host: fakeHost(), threads: threads(), adopt: () => undefined, overlay: (d) => store.compose(d) });
      store.attach(reloader);
      return { dir, store, reloader };
    };
    const [a, b] = [await open(), await open()];
    try {
      const attempt = (node: typeof a, target: string, entry: OverlayEntry | undefined) =>
        node.store.write('admin', () => ({ target, action: 'create', entry })).then(
          () => 'ok',
          (err: Error) => err.name,
        );
      const model = (name: string, provider = 'sim'): OverlayEntry => ({ op: 'set', value: { name, provider } });
      assert.equal(await attempt(b, 'models.from-b', model('from-b')), 'ok');
      // a has not heard of b's change: its write conflicts, is planned again, and both land on a.
      assert.equal(await attempt(a, 'models.from-a', model('from-a')), 'ok');
      assert.ok(a.reloader.config.models.some((m) => m.name === 'from-b'));
      assert.ok(a.reloader.config.models.some((m) => m.name === 'from-a'));
      assert.equal(shared.doc.revision, 2);
      assert.equal(await attempt(b, 'providers.temp', { op: 'set', value: { name: 'temp', base_url: 'http://127.0.0.1:5/v1' } }), 'ok');
      assert.equal(await attempt(a, 'models.noop', model('noop')), 'ok');
      assert.ok(a.reloader.config.providers.some((p) => p.name === 'temp'));
      // b takes the provider away; a, not told, plans a model on it: planned again on b's change, it is refused...
      assert.equal(await attempt(b, 'providers.temp', undefined), 'ok');
      assert.equal(await attempt(a, 'models.on-temp', model('on-temp', 'temp')), 'ConfigWriteError');
      // ...and a serves b's change all the same.
      assert.ok(await waitUntil(() => !a.reloader.config.providers.some((p) => p.name === 'temp')), "a never applied b's change");
      assert.equal(a.reloader.config.models.some((m) => m.name === 'on-temp'), false);
    } finally {
      for (const node of [a, b]) rmSync(node.dir, { recursive: true, force: true });
    }
  });
});

async function waitUntil(check: () => boolean, timeoutMs = 3000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  return check();
}
