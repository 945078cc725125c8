// The PostgreSQL config store shared by two gateway processes (`switchyard start`, each with two server
// threads): a change through one node's admin API is served by the other (LISTEN/NOTIFY), secrets are
// encrypted in the table and decrypted by the other node, concurrent writes on both nodes both land,
// a lost LISTEN connection is made good, and a node without the secrets key refuses to start.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { stringify } from 'yaml';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.js';

const cli = fileURLToPath(new URL('../../src/cli.js', import.meta.url));
const pgUrl = 'postgres://postgres@127.0.0.1:5432/test';
const adminToken = 'pg-store-test-admin-token-0123';
const secretsKey = randomBytes(32).toString('base64');

type Json = Record<string, unknown>;

interface Node {
  name: string;
  port: number;
  adminPort: number;
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
}

function configFor(simPort: number, dataDir: string, table: string): string {
  return stringify({
    server: { host: '127.0.0.1', port: 0, threads: 2 },
    admin: { host: '127.0.0.1', port: 0, token: adminToken },
    data_dir: dataDir,
    // A poll this slow cannot be what carries a change within the test: NOTIFY does.
    config_store: { backend: 'postgres', url: pgUrl, table, poll_ms: 600_000 },
    providers: [{ name: 'sim', base_url: `http://127.0.0.1:${simPort}/v1`, api_key: 'sk-upstream-test' }],
    models: [{ name: 'base', provider: 'sim', model: 'gpt-4o-mini' }],
  });
}

/** Starts `switchyard start --config file`; resolves once it logs that it listens, rejects if it exits first. */
function startNode(name: string, file: string, env: NodeJS.ProcessEnv): Promise<Node> {
  const child = spawn(process.execPath, [cli, 'start', '--config', file, '--no-watch'], { env: { ...env, SWITCHYARD_LOG_LEVEL: 'info' } });
  child.stdout?.resume();
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} not listening within 30 s:\n${stderr}`)), 30_000);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`${name} exited with ${code}:\n${stderr}`), { code, stderr }));
    });
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
      const line = stderr.split('\n').find((l) => l.includes('"switchyard listening"'));
      if (line === undefined) return;
      clearTimeout(timer);
      const logged = JSON.parse(line) as { port: number; admin: string };
      resolve({ name, port: logged.port, adminPort: Number(logged.admin.split(':').pop()), child, stderr: () => stderr, exited });
    });
  });
}

async function admin(node: Node, method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> {
  const res = await fetch(`http://127.0.0.1:${node.adminPort}${path}`, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Json) };
}

async function chatStatus(node: Node, model: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${node.port}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  });
  await res.arrayBuffer();
  return res.status;
}

/** Milliseconds until `node` serves `model` (polled every 5 ms), or undefined after `timeoutMs`. */
async function servedAfter(node: Node, model: string, since: number, timeoutMs = 15_000): Promise<number | undefined> {
  while (Date.now() - since < timeoutMs) {
    if ((await chatStatus(node, model)) === 200) return Date.now() - since;
    await sleep(5);
  }
  return undefined;
}

async function stopNode(node: Node | undefined): Promise<void> {
  if (node === undefined || node.child.exitCode !== null) return;
  node.child.kill('SIGTERM');
  await node.exited;
}

describe('PostgreSQL config store across two gateway processes', () => {
  let sim: RunningSimulator;
  let dir: string;
  let table: string;
  let a: Node;
  let b: Node;
  let db: pg.Client;
  const propagation: number[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'switchyard-pg-store-'));
    table = `sy_cfg_test_${randomBytes(4).toString('hex')}`;
    sim = await startSimulator({});
    db = new pg.Client({ connectionString: pgUrl });
    await db.connect();
    const env = { ...process.env, SWITCHYARD_SECRETS_KEY: secretsKey };
    for (const name of ['a', 'b']) writeFileSync(join(dir, `${name}.yaml`), configFor(sim.port, join(dir, `data-${name}`), table));
    [a, b] = await Promise.all([startNode('a', join(dir, 'a.yaml'), env), startNode('b', join(dir, 'b.yaml'), env)]);
  });
  after(async () => {
    await Promise.all([stopNode(a), stopNode(b)]);
    await db?.query(`DROP TABLE IF EXISTS "${table}", "${table}_changes"`).catch(() => undefined);
    await db?.end();
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a model created through one node is served by the other; both ways, each time', async (t) => {
    for (let i = 0; i < 6; i++) {
      const [writer, reader] = i % 2 === 0 ? [a, b] : [b, a];
      const name = `pg-model-${i}`;
      assert.equal(await chatStatus(reader, name), 404);
      const created = await admin(writer, 'POST', '/admin/models', { name, provider: 'sim', model: 'gpt-4o' });
      const answered = Date.now();
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const ms = await servedAfter(reader, name, answered);
      assert.ok(ms !== undefined, `${reader.name} never served ${name}`);
      propagation.push(ms);
    }
    const sorted = [...propagation].sort((x, y) => x - y);
    t.diagnostic(`propagation after the writer's answer (ms): ${propagation.join(', ')}; median ${sorted[Math.floor(sorted.length / 2)]}, max ${sorted.at(-1)}`);
  });

  test("a provider's secret is encrypted in the table and reaches the upstream through the other node", async () => {
    const secret = `sk-pg-secret-${randomBytes(6).toString('hex')}`;
    assert.equal((await admin(a, 'POST', '/admin/providers', { name: 'sim-secret', base_url: `http://127.0.0.1:${sim.port}/v1`, api_key: secret })).status, 201);
    assert.equal((await admin(a, 'POST', '/admin/models', { name: 'secret-model', provider: 'sim-secret', model: 'gpt-4o' })).status, 201);
    assert.ok((await servedAfter(b, 'secret-model', Date.now())) !== undefined);
    sim.reset();
    assert.equal(await chatStatus(b, 'secret-model'), 200);
    assert.equal(sim.stats().last.at(-1)?.headers.authorization, `Bearer ${secret}`);
    const { rows } = await db.query<{ document: string }>(`SELECT document::text AS document FROM "${table}"`);
    assert.equal(rows.length, 1);
    assert.ok(!rows[0].document.includes(secret), 'the secret is in the table in clear text');
    assert.match(rows[0].document, /"\$secret": ?"v1\./);
    assert.equal((await admin(b, 'GET', '/admin/providers/sim-secret')).body.api_key, '********');
    // One trail for every node: b lists a's change.
    const trail = (await admin(b, 'GET', '/admin/config/changes?limit=50')).body.data as Array<{ target: string; actor: string }>;
    assert.ok(trail.some((c) => c.target === 'providers.sim-secret' && c.actor === 'admin'));
    assert.ok(!JSON.stringify(trail).includes(secret));
  });

  test('writes on both nodes at once both land, on both nodes', async () => {
    const [one, two] = await Promise.all([
      admin(a, 'POST', '/admin/models', { name: 'race-a', provider: 'sim', model: 'gpt-4o' }),
      admin(b, 'POST', '/admin/models', { name: 'race-b', provider: 'sim', model: 'gpt-4o' }),
    ]);
    assert.equal(one.status, 201, JSON.stringify(one.body));
    assert.equal(two.status, 201, JSON.stringify(two.body));
    for (const node of [a, b]) for (const model of ['race-a', 'race-b']) assert.ok((await servedAfter(node, model, Date.now())) !== undefined, `${node.name} does not serve ${model}`);
  });

  test('a LISTEN connection the server drops is made good: the change still arrives', async () => {
    const { rowCount } = await db.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = $1 AND pid <> pg_backend_pid()`, [`LISTEN "${table}"`]);
    assert.ok((rowCount ?? 0) >= 2, `terminated ${rowCount} LISTEN connections`);
    assert.equal((await admin(b, 'POST', '/admin/models', { name: 'after-drop', provider: 'sim', model: 'gpt-4o' })).status, 201);
    assert.ok((await servedAfter(a, 'after-drop', Date.now())) !== undefined, 'a lost the change with its LISTEN connection');
  });

  test('a node without SWITCHYARD_SECRETS_KEY refuses to start while the store holds secrets', async () => {
    writeFileSync(join(dir, 'c.yaml'), configFor(sim.port, join(dir, 'data-c'), table));
    const env = { ...process.env };
    delete env.SWITCHYARD_SECRETS_KEY;
    await assert.rejects(startNode('c', join(dir, 'c.yaml'), env), (err: Error & { code?: number; stderr?: string }) => {
      assert.equal(err.code, 1);
      assert.match(err.stderr ?? '', /SWITCHYARD_SECRETS_KEY/);
      return true;
    });
  });
});
