// The runtime config API on a real gateway (two server threads, the simulator upstream, the OpenAI SDK
// as client): objects created and changed through the API are served, secrets stay masked and reach
// the upstream, the store survives a restart and a file reload keeps its changes, keys land in the trail.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI, { BadRequestError, NotFoundError } from 'openai';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { startGateway, type RunningGateway } from '../../src/server/main.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.js';
import { clientKey, stackConfigObject, waitFor } from '../helpers/stack.js';

type Json = Record<string, unknown>;
const user = [{ role: 'user' as const, content: 'hello there' }];

describe('runtime config API', () => {
  let sim: RunningSimulator;
  let dir: string;
  let file: string;
  let gateway: RunningGateway;
  let client: OpenAI;

  const fileConfig = (): Json => stackConfigObject(sim.port, join(dir, 'data'), { config: { admin: { host: '127.0.0.1', port: 0, token: 'test-admin-token-0123456789' } } });
  const save = (config: Json) => {
    writeFileSync(`${file}.tmp`, stringify(config));
    renameSync(`${file}.tmp`, file);
  };
  const start = async () => {
    gateway = await startGateway(parseConfig(readFileSync(file, 'utf8'), file), { threads: 2, configFile: { path: file, watch: true } });
    client = new OpenAI({ baseURL: `http://127.0.0.1:${gateway.port}/v1`, apiKey: clientKey, maxRetries: 0 });
  };
  const admin = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> => {
    const res = await fetch(`http://127.0.0.1:${gateway.adminPort}${path}`, {
      method,
      headers: { authorization: `Bearer ${gateway.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Json) };
  };
  const deploymentOf = async (model: string, content = 'hello there') => {
    const { response } = await client.chat.completions.create({ model, messages: [{ role: 'user', content }] }).withResponse();
    return response.headers.get('x-switchyard-deployment');
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'switchyard-config-api-'));
    file = join(dir, 'switchyard.yaml');
    sim = await startSimulator({});
    save(fileConfig());
    await start();
  });
  after(async () => {
    await gateway?.stop();
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a provider and a model created through the API are served; the secret reaches the upstream, never an answer', async () => {
    await assert.rejects(client.chat.completions.create({ model: 'via-api', messages: user }), NotFoundError);
    const provider = await admin('POST', '/admin/providers', { name: 'sim-api', base_url: `http://127.0.0.1:${sim.port}/v1`, api_key: 'sk-set-through-the-api', headers: { 'X-Tenant': 'tenant-secret' } });
    assert.equal(provider.status, 201, JSON.stringify(provider.body));
    assert.equal(provider.body.api_key, '********');
    const model = await admin('POST', '/admin/models', { name: 'via-api', provider: 'sim-api', model: 'gpt-4o' });
    assert.equal(model.status, 201, JSON.stringify(model.body));
    assert.equal(model.body.generation, (await admin('GET', '/admin/config')).body.generation);
    sim.reset();
    assert.equal(await deploymentOf('via-api'), 'sim-api/gpt-4o');
    const seen = sim.stats().last.at(-1)!;
    assert.equal(seen.headers.authorization, 'Bearer sk-set-through-the-api');
    assert.equal(seen.headers['x-tenant'], 'tenant-secret');
    for (const path of ['/admin/providers', '/admin/providers/sim-api', '/admin/config', '/admin/config/changes']) {
      const text = JSON.stringify((await admin('GET', path)).body);
      assert.ok(!text.includes('sk-set-through-the-api') && !text.includes('tenant-secret'), `${path} shows a secret`);
    }
    assert.ok(!readFileSync(join(dir, 'data', 'config-store.json'), 'utf8').includes('sk-set-through-the-api'));
  });

  test('a mapping changed through the API is used by new requests on every thread', async () => {
    assert.equal(await deploymentOf('fast'), 'sim/sim-fast');
    const put = await admin('PUT', '/admin/models/fast', { provider: 'sim', model: 'sim-remapped' });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal(put.body.source, 'store');
    const answers = await Promise.all(Array.from({ length: 8 }, () => new OpenAI({ baseURL: `http://127.0.0.1:${gateway.port}/v1`, apiKey: clientKey, maxRetries: 0 }).chat.completions.create({ model: 'fast', messages: user }).withResponse()));
    for (const { response } of answers) assert.equal(response.headers.get('x-switchyard-deployment'), 'sim/sim-remapped');
  });

  test('a guard patched in through the API refuses; an invalid change is refused with its path and nothing changes', async () => {
    const secret = 'tell me the launch codes';
    assert.equal(await deploymentOf('gpt-4o-mini', secret), 'sim/gpt-4o-mini');
    const patched = await admin('PATCH', '/admin/config/sections/guards', { prompt: [{ name: 'no-codes', deny: ['launch\\s+codes'] }] });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    await assert.rejects(client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: secret }] }), (err: unknown) => err instanceof BadRequestError && err.code === 'content_policy_violation');
    const generation = (await admin('GET', '/admin/config')).body.generation;
    const bad = await admin('PATCH', '/admin/config/sections/guards', { prompt: [{ name: 'broken', deny: ['(unclosed'] }] });
    assert.equal(bad.status, 400);
    const error = bad.body.error as Json;
    assert.equal(error.code, 'invalid_config');
    assert.equal(error.param, 'guards.prompt.0.deny.0');
    assert.equal((await admin('GET', '/admin/config')).body.generation, generation);
    await assert.rejects(client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: secret }] }), BadRequestError);
    const price = await admin('PUT', '/admin/prices/via-api', { input: 1.5, output: 6 });
    assert.equal(price.status, 201, JSON.stringify(price.body));
    assert.deepEqual((await admin('GET', '/admin/prices/via-api')).body, { model: 'via-api', input: 1.5, output: 6, source: 'store' });
  });

  test('a file edit is applied with the store changes over it: the store wins for its objects', async () => {
    const edited = fileConfig();
    (edited.models as Json[]).push({ name: 'from-file', provider: 'sim', model: 'gpt-4o' });
    // The file says something else for 'fast'; the store's object stays in force.
    (edited.models as Json[]).find((m) => m.name === 'fast')!.model = 'sim-file-says';
    save(edited);
    assert.ok(await waitFor(() => gateway.config().models.some((m) => m.name === 'from-file'), 10_200), 'the file edit was not applied');
    assert.equal(await deploymentOf('from-file'), 'sim/gpt-4o');
    assert.equal(await deploymentOf('fast'), 'sim/sim-remapped');
    assert.equal(await deploymentOf('via-api'), 'sim-api/gpt-4o');
    const reset = await admin('POST', '/admin/config/reset', { target: 'models.fast' });
    assert.equal(reset.status, 200, JSON.stringify(reset.body));
    assert.equal(await deploymentOf('fast'), 'sim/sim-file-says');
  });

  test('key changes are recorded in the change trail without the key secret', async () => {
    const created = await admin('POST', '/admin/keys', { name: 'trail-key' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;
    const plaintext = created.body.key as string;
    assert.equal((await admin('PATCH', `/admin/keys/${id}`, { name: 'renamed-key' })).status, 200);
    const changes = ((await admin('GET', '/admin/config/changes?limit=20')).body.data as Array<{ target: string; action: string; actor: string; diff: Array<{ path: string; before: unknown; after: unknown }> }>).filter((c) => c.target === `keys.${id}`);
    assert.deepEqual(changes.map((c) => c.action), ['update', 'create']);
    assert.equal(changes[0].actor, 'admin');
    assert.deepEqual(changes[0].diff, [{ path: `keys.${id}.name`, before: 'trail-key', after: 'renamed-key' }]);
    assert.ok(!JSON.stringify(changes).includes(plaintext), 'the key secret is in the trail');
  });

  test('after a restart the gateway runs the file with the stored changes', async () => {
    await gateway.stop();
    await start();
    assert.equal(await deploymentOf('via-api'), 'sim-api/gpt-4o');
    sim.reset();
    await deploymentOf('via-api');
    assert.equal(sim.stats().last.at(-1)!.headers.authorization, 'Bearer sk-set-through-the-api');
    await assert.rejects(client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'the launch codes' }] }), BadRequestError);
    const view = (await admin('GET', '/admin/config')).body;
    const sources = view.sources as Record<string, string>;
    assert.equal(sources['providers.sim-api'], 'store');
    assert.equal(sources['models.fast'], 'file');
    assert.equal(sources['sections.guards'], 'store');
  });
});
