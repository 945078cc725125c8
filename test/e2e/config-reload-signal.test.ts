// SIGHUP reloads the config file of a running `switchyard start` (here with --no-watch, so only the
// signal can have applied the change); a bad file on SIGHUP is logged and the process serves on.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.js';

const cli = fileURLToPath(new URL('../../src/cli.js', import.meta.url));

function configFor(simPort: number, dataDir: string, models: string[]): string {
  return stringify({
    server: { host: '127.0.0.1', port: 0, threads: 2 },
    admin: { host: '127.0.0.1', port: 0 },
    data_dir: dataDir,
    providers: [{ name: 'sim', base_url: `http://127.0.0.1:${simPort}/v1`, api_key: 'sk-upstream-test' }],
    models: models.map((name) => ({ name, provider: 'sim', model: 'gpt-4o-mini' })),
  });
}

async function chatStatus(port: number, model: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  });
  await res.arrayBuffer();
  return res.status;
}

describe('SIGHUP', () => {
  let sim: RunningSimulator;
  let dir: string;
  let file: string;
  let child: ChildProcess;
  let stderr = '';
  let port = 0;
  let exited: Promise<number | null>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'switchyard-sighup-'));
    file = join(dir, 'switchyard.yaml');
    sim = await startSimulator({});
    writeFileSync(file, configFor(sim.port, join(dir, 'data'), ['early']));
    child = spawn(process.execPath, [cli, 'start', '--config', file, '--no-watch'], { env: { ...process.env, SWITCHYARD_LOG_LEVEL: 'info' } });
    child.stdout?.resume();
    exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not listening within 15 s:\n${stderr}`)), 15_000);
      child.stderr?.on('data', (d: Buffer) => {
        stderr += d.toString();
        const line = stderr.split('\n').find((l) => l.includes('"switchyard listening"'));
        if (line !== undefined) {
          clearTimeout(timer);
          resolve((JSON.parse(line) as { port: number }).port);
        }
      });
    });
  });
  after(async () => {
    if (child?.exitCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the edited file is applied on SIGHUP, not before; a bad one is logged and the old config serves on', async () => {
    assert.equal(await chatStatus(port, 'early'), 200);
    assert.equal(await chatStatus(port, 'late'), 404);
    writeFileSync(file, configFor(sim.port, join(dir, 'data'), ['early', 'late']));
    await sleep(600);
    assert.equal(await chatStatus(port, 'late'), 404, '--no-watch still reloaded on the file change');

    child.kill('SIGHUP');
    const deadline = Date.now() + 10_000;
    while (!stderr.includes('"config reloaded"') && Date.now() < deadline) await sleep(20);
    assert.match(stderr, /"config reloaded"/);
    assert.equal(await chatStatus(port, 'late'), 200);

    writeFileSync(file, 'providers: [\n');
    child.kill('SIGHUP');
    while (!stderr.includes('"config reload rejected') && Date.now() < deadline + 10_000) await sleep(20);
    const rejected = stderr.split('\n').find((l) => l.includes('config reload rejected'));
    assert.ok(rejected, `no rejection logged:\n${stderr}`);
    assert.match((JSON.parse(rejected) as { problems: string[] }).problems[0], /^YAML syntax/);
    assert.equal(await chatStatus(port, 'late'), 200);
    assert.equal(child.exitCode, null);

    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  });
});
