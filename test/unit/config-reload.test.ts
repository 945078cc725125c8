// The reload core without threads: what is refused and why, the two steps and their rollback, the
// metrics, and the state table's slot assignment across reloads.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { changedPaths, ConfigReloader, restartProblems, type ReloadThreads } from '../../src/config/reload.js';
import type { SwitchyardConfig } from '../../src/config/types.js';
import type { AdminRoute, Feature, MainHost } from '../../src/pipeline/stage.js';
import { DeploymentStateTable, I, type DeploymentStateMemory } from '../../src/routing/deployment-state.js';
import { createRoutingFeature } from '../../src/routing/feature.js';

const baseObject = () => ({
  providers: [{ name: 'sim', base_url: 'http://127.0.0.1:1/v1', api_key: 'sk-test' }],
  models: [{ name: 'a', provider: 'sim' }],
});
const configOf = (object: Record<string, unknown>) => parseConfig(stringify(object), 'test');

function fakeHost(): MainHost {
  return { dataDir: '/nonexistent', broadcast: () => undefined, gather: async () => [], on: () => undefined, addAdminRoute: () => undefined, metricRegistries: [] };
}

/** Threads that record the steps asked of them; `failPrepare` makes the prepare step fail. */
function fakeThreads(failPrepare = false): ReloadThreads & { steps: string[] } {
  const steps: string[] = [];
  return {
    steps,
    prepare: async (generation, config) => {
      steps.push(`prepare ${generation} ${config.models.map((m) => m.name).join(',')}`);
      if (failPrepare) throw new Error('server thread 1: compile failed');
    },
    commit: async (generation) => void steps.push(`commit ${generation}`),
    abort: async (generation) => void steps.push(`abort ${generation}`),
  };
}

async function metricValue(reloader: ConfigReloader, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const metric = (await reloader.registry.getMetricsAsJSON()).find((m) => m.name === name);
  return metric?.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))?.value;
}

describe('what a reload may change', () => {
  test('changedPaths names each changed leaf of nested objects, arrays whole', () => {
    assert.deepEqual(changedPaths({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { b: 2, c: [1, 3] }, d: 1 }), ['a.b', 'a.c']);
    assert.deepEqual(changedPaths({ a: 1 }, { a: 1 }), []);
    assert.deepEqual(changedPaths({ a: 1 }, { a: 1, e: 2 }), ['e']);
  });

  test('restart-only settings and sections of features without reload hooks are refused; models and providers are not', () => {
    const current = configOf(baseObject());
    const candidate = configOf({
      ...baseObject(),
      server: { port: 9999 },
      providers: [...baseObject().providers, { name: 'other', base_url: 'http://127.0.0.1:2/v1' }],
      models: [{ name: 'b', provider: 'other' }],
      prices: { b: { input: 1, output: 2 } },
      guards: { prompt: [{ name: 'g', deny: ['x'] }] },
    });
    const features: Feature[] = [{ name: 'limits' }, { name: 'guards', reloadThread: () => [] }, { name: 'routing', reloadMain: () => undefined }];
    assert.deepEqual(restartProblems(current, candidate, features), [
      'server.port: changed; this setting is read only at start, so it needs a restart',
      'prices.b: changed; the limits feature does not reload its configuration, so it needs a restart',
    ]);
  });
});

describe('ConfigReloader', () => {
  test('applies in two steps, hands the new shared values on, counts the generation', async () => {
    const threads = fakeThreads();
    const seen: unknown[] = [];
    const features: Feature[] = [{ name: 'routing', reloadMain: (config) => ({ models: config.models.length }) }];
    let adopted: Record<string, unknown> | undefined;
    const reloader = new ConfigReloader(configOf(baseObject()), { features, host: fakeHost(), threads, adopt: (_c, shared) => (adopted = shared) });
    const next = { ...baseObject(), models: [{ name: 'a', provider: 'sim' }, { name: 'b', provider: 'sim' }] };
    const report = await reloader.reload(configOf(next));
    assert.equal(report.result, 'applied');
    assert.equal(report.generation, 2);
    assert.deepEqual(threads.steps, ['prepare 2 a,b', 'commit 2']);
    assert.deepEqual(adopted, { routing: { models: 2 } });
    assert.equal(reloader.config.models.length, 2);
    assert.equal(await metricValue(reloader, 'switchyard_config_reloads_total', { result: 'applied' }), 1);
    assert.equal(await metricValue(reloader, 'switchyard_config_generation'), 2);
    seen.push((await reloader.reload(configOf(next))).result);
    assert.deepEqual(seen, ['unchanged']);
    assert.deepEqual(threads.steps, ['prepare 2 a,b', 'commit 2'], 'an unchanged config asked the threads again');
  });

  test('a feature check failing rejects the whole candidate before anything is touched', async () => {
    const threads = fakeThreads();
    let reloaded = 0;
    const features: Feature[] = [
      { name: 'guards', validate: (c) => (c.models.some((m) => m.name === 'bad') ? ['guards.prompt.0.deny.0: invalid RE2 pattern'] : []) },
      { name: 'routing', reloadMain: () => void reloaded++ },
    ];
    const reloader = new ConfigReloader(configOf(baseObject()), { features, host: fakeHost(), threads, adopt: () => undefined });
    const report = await reloader.reload(configOf({ ...baseObject(), models: [{ name: 'bad', provider: 'sim' }] }));
    assert.equal(report.result, 'rejected');
    assert.deepEqual(report.problems, ['guards.prompt.0.deny.0: invalid RE2 pattern']);
    assert.equal(report.generation, 1);
    assert.equal(reloaded, 0);
    assert.deepEqual(threads.steps, []);
    assert.equal(reloader.config.models[0].name, 'a');
    assert.equal(await metricValue(reloader, 'switchyard_config_reloads_total', { result: 'rejected' }), 1);
    assert.equal(await metricValue(reloader, 'switchyard_config_last_reload_successful'), 0);
  });

  test('a thread that cannot prepare: every thread aborts and the features go back to the running config', async () => {
    const threads = fakeThreads(true);
    const calls: string[] = [];
    const features: Feature[] = [
      { name: 'routing', reloadMain: (config) => void calls.push(config.models.map((m) => m.name).join(',')) },
      { name: 'undoing', reloadMain: () => void calls.push('undoing'), abortMain: () => void calls.push('undone') },
    ];
    const reloader = new ConfigReloader(configOf(baseObject()), { features, host: fakeHost(), threads, adopt: () => assert.fail('adopted a failed reload') });
    const report = await reloader.reload(configOf({ ...baseObject(), models: [{ name: 'c', provider: 'sim' }] }));
    assert.equal(report.result, 'rejected');
    assert.deepEqual(report.problems, ['(server threads) server thread 1: compile failed']);
    assert.deepEqual(threads.steps, ['prepare 2 c', 'abort 2']);
    assert.deepEqual(calls, ['c', 'undoing', 'a', 'undone']);
    assert.equal(reloader.config.models[0].name, 'a');
  });

  test('from the file: read again, adjusted, parse problems reported with their paths; reloads run one at a time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-reload-unit-'));
    try {
      const path = join(dir, 'config.yaml');
      writeFileSync(path, 'providers: [\n');
      const threads = fakeThreads();
      const reloader = new ConfigReloader(configOf(baseObject()), {
        features: [],
        host: fakeHost(),
        threads,
        adopt: () => undefined,
        file: { path, adjust: (c: SwitchyardConfig) => void (c.server.threads = 'auto') },
      });
      const broken = await reloader.reload();
      assert.equal(broken.result, 'rejected');
      assert.equal(broken.source, path);
      assert.match(broken.problems[0], /^YAML syntax/);
      writeFileSync(path, stringify({ ...baseObject(), server: { threads: 3 }, models: [{ name: 'from-file', provider: 'sim' }] }));
      const [first, second] = await Promise.all([reloader.reload(), reloader.reload(configOf(baseObject()))]);
      assert.equal(first.result, 'applied', first.problems.join('\n'));
      assert.equal(second.result, 'applied');
      assert.deepEqual(threads.steps, ['prepare 2 from-file', 'commit 2', 'prepare 3 a', 'commit 3']);
      const missing = new ConfigReloader(configOf(baseObject()), { features: [], host: fakeHost(), threads, adopt: () => undefined });
      assert.match((await missing.reload()).problems[0], /started from a config object/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('deployment state slots across reloads', () => {
  test('kept keys keep their state; a freed slot is reused only when no other slot is free, and cleared', () => {
    const table = DeploymentStateTable.create(['p/a', 'p/b'], ['a', 'b'], 3);
    const a = table.slotOf('p/a');
    const b = table.slotOf('p/b');
    table.setInt(a, I.breaker, 1);
    table.setInt(b, I.inFlight, 2);
    const next = new DeploymentStateTable(table.reassign(['p/a', 'p/c'], ['a', 'c']));
    assert.equal(next.slotOf('p/a'), a);
    assert.equal(next.int(a, I.breaker), 1, 'the kept deployment lost its breaker state');
    const c = next.slotOf('p/c');
    assert.notEqual(c, b, 'a slot still held by requests on the old config was given to a new deployment');
    assert.equal(next.int(c, I.inFlight), 0);
    // Two new keys in a table of three: the second gets b's slot, the only one left, cleared.
    const full = new DeploymentStateTable(table.reassign(['p/a', 'p/c', 'p/d'], ['a']));
    assert.equal(full.slotOf('p/c'), c);
    assert.equal(full.slotOf('p/d'), b);
    assert.equal(full.int(b, I.inFlight), 0);
    assert.throws(() => full.reassign(['p/a', 'p/c', 'p/d', 'p/e'], ['a']), /table is full/);
  });
});

describe('routing across reloads (main thread)', () => {
  const withModels = (models: Array<Record<string, unknown>>) => configOf({ ...baseObject(), models });
  const pairModels = (ids: string[]) => [{ name: 'pair', deployments: ids.map((id) => ({ provider: 'sim', model: id, id })) }];

  async function breakerOf(route: AdminRoute, id: string): Promise<string | undefined> {
    const { body } = await route.handle({ method: 'GET', path: '/admin/deployments', params: {}, query: new URLSearchParams(), headers: {}, body: undefined, actor: { name: 'admin', readOnly: false } });
    const models = (body as { models: Array<{ deployments: Array<{ id: string; breaker: { state: string } }> }> }).models;
    return models.flatMap((m) => m.deployments).find((d) => d.id === id)?.breaker.state;
  }

  test('an aborted reload puts back the slots the threads still use; a completed one forgets a removed deployment', async () => {
    const routes: AdminRoute[] = [];
    const host = { ...fakeHost(), addAdminRoute: (route: AdminRoute) => void routes.push(route) };
    const routing = createRoutingFeature();
    const initial = withModels(pairModels(['x', 'y']));
    const memory = (await routing.initMain!(initial, host)) as DeploymentStateMemory;
    const route = routes.find((r) => r.path === '/admin/deployments')!;
    new DeploymentStateTable(memory).setInt(memory.slots['sim/x'], I.breaker, 1);
    assert.equal(await breakerOf(route, 'x'), 'open');

    const withoutX = withModels(pairModels(['y', 'z']));
    const next = (await routing.reloadMain!(withoutX, host)) as DeploymentStateMemory;
    assert.equal(next.slots['sim/x'], undefined);
    assert.equal(next.slots['sim/y'], memory.slots['sim/y']);
    assert.equal(await breakerOf(route, 'x'), undefined);
    await routing.abortMain!(host);
    assert.equal(await breakerOf(route, 'x'), 'open', 'the abort lost the state the threads still route by');
    assert.equal(await breakerOf(route, 'z'), undefined);

    await routing.reloadMain!(withoutX, host);
    const back = (await routing.reloadMain!(initial, host)) as DeploymentStateMemory;
    assert.equal(await breakerOf(route, 'x'), 'closed');
    assert.equal(new DeploymentStateTable(back).int(back.slots['sim/x'], I.breaker), 0);
    await routing.closeMain!();
  });
});
