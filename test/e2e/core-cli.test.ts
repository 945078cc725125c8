// The switchyard command as a user runs it: validate, --help, and start … SIGTERM against a real simulator.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.js';
import { freePort } from '../../src/shared/free-port.js';

const cli = fileURLToPath(new URL('../../src/cli.js', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const fixture = (name: string) => join(repoRoot, 'test/fixtures/config', name);

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion (killed after timeoutMs). */
function run(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 10_000): Promise<Finished> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: repoRoot, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

interface Started {
  child: ChildProcess;
  port: number;
  /** stderr so far (JSON log lines). */
  logs(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns `switchyard start …` and waits for its "switchyard listening" log line. */
async function start(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 10_000): Promise<Started> {
  // The listening line is an info log; the test helpers turn the level down to warn for in-process servers.
  const child = spawn(process.execPath, [cli, 'start', ...args], {
    cwd: repoRoot,
    env: { ...process.env, SWITCHYARD_LOG_LEVEL: 'info', ...env },
  });
  let stderr = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  child.stdout?.resume();
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no "switchyard listening" line within ${timeoutMs} ms; stderr:\n${stderr}`));
    }, timeoutMs);
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
      for (const line of stderr.split('\n')) {
        if (!line.includes('"switchyard listening"')) continue;
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
        return;
      }
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`switchyard exited with ${code} before listening; stderr:\n${stderr}`));
    });
  });
  return { child, port, logs: () => stderr, exited };
}

/** SIGTERM, then the exit status (SIGKILL after timeoutMs, which fails the caller's assertion). */
async function terminate(started: Started, timeoutMs = 10_000) {
  started.child.kill('SIGTERM');
  const timer = setTimeout(() => started.child.kill('SIGKILL'), timeoutMs);
  const status = await started.exited;
  clearTimeout(timer);
  return status;
}

describe('switchyard validate', () => {
  test('a config with four kinds of mistakes: exit 1, every problem printed with its path', async () => {
    const res = await run(['validate', fixture('bad.yaml')]);
    assert.equal(res.code, 1);
    const out = res.stdout + res.stderr;
    assert.match(out, /server: unknown key 'colour'/);
    assert.match(out, /server\.port: must be integer/);
    assert.match(out, /SWITCHYARD_TEST_UNSET_VARIABLE/);
    assert.match(out, /models\.0\.provider: unknown provider 'nobody'/, `the unknown provider was not reported:\n${out}`);
    assert.match(out, /providers\.0\.api_key/, `the missing variable was reported without the path that uses it:\n${out}`);
  });

  test('the embedded default config/switchyard.yaml is valid', async () => {
    const [res, minimal] = await Promise.all([
      run(['validate', join(repoRoot, 'config/switchyard.yaml')]),
      run(['validate', fixture('minimal.yaml')]),
    ]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /OK/);
    assert.equal(minimal.code, 0, minimal.stderr);
  });

  test('a file that does not exist: exit 1 with a readable message', async () => {
    const res = await run(['validate', fixture('no-such-file.yaml')]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /no-such-file\.yaml/);
  });
});

describe('switchyard --help', () => {
  test('exits 0 and explains start and validate', async () => {
    const res = await run(['--help']);
    assert.equal(res.code, 0);
    assert.match(res.stdout, /switchyard start/);
    assert.match(res.stdout, /switchyard validate/);
    assert.match(res.stdout, /--config/);
    assert.match(res.stdout, /--port/);
    assert.match(res.stdout, /--threads/);
  });

  test('an unknown command exits 1 and shows the help', async () => {
    const res = await run(['frobnicate']);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /Unknown command 'frobnicate'/);
    assert.match(res.stderr, /switchyard start/);
  });
});

describe('switchyard start', () => {
  let sim: RunningSimulator;
  let dir: string;
  let configPath: string;
  before(async () => {
    sim = await startSimulator();
    dir = mkdtempSync(join(tmpdir(), 'switchyard-cli-'));
    configPath = join(dir, 'switchyard.yaml');
    writeFileSync(
      configPath,
      [
        'server:',
        '  host: 127.0.0.1',
        'admin:',
        '  port: 0',
        `data_dir: ${join(dir, 'data')}`,
        'providers:',
        '  - name: up',
        `    base_url: http://127.0.0.1:${sim.port}/v1`,
        '    api_key: ${UPSTREAM_KEY}',
        'models:',
        '  - name: gpt-4o-mini',
        '    provider: up',
        '',
      ].join('\n'),
    );
  });
  after(async () => {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function smoke(threads: string): Promise<void> {
    sim.reset();
    const gateway = await start(['--config', configPath, '--port', '0', '--threads', threads], { UPSTREAM_KEY: 'sk-from-env' });
    try {
      const client = new OpenAI({ baseURL: `http://127.0.0.1:${gateway.port}/v1`, apiKey: 'client', maxRetries: 0 });
      const res = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(res.object, 'chat.completion');
      assert.equal(sim.stats().last.at(-1)?.headers.authorization, 'Bearer sk-from-env');
    } finally {
      const status = await terminate(gateway);
      assert.deepEqual(status, { code: 0, signal: null }, `logs:\n${gateway.logs()}`);
    }
  }

  test('--config FILE --port 0 --threads 2: listens, serves an SDK request, exits 0 on SIGTERM', () => smoke('2'));

  test('a listener that cannot start (admin port taken): exit 1 promptly with the reason, no hang', async () => {
    const blocker = createServer();
    const busyPort = await new Promise<number>((resolve) =>
      blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as { port: number }).port)),
    );
    try {
      const busyConfig = join(dir, 'busy-admin.yaml');
      writeFileSync(
        busyConfig,
        [
          'server: { host: 127.0.0.1 }',
          `admin: { host: 127.0.0.1, port: ${busyPort} }`,
          `data_dir: ${join(dir, 'busy-data')}`,
          'providers: [{ name: up, base_url: "http://127.0.0.1:9/v1" }]',
          'models: [{ name: m, provider: up }]',
          '',
        ].join('\n'),
      );
      const res = await run(['start', '--config', busyConfig, '--port', '0', '--threads', '2'], {}, 6000);
      assert.equal(res.signal, null, `switchyard did not exit by itself after failing to start (killed); stderr:\n${res.stderr}`);
      assert.equal(res.code, 1);
      assert.match(res.stderr, new RegExp(String(busyPort)));
    } finally {
      blocker.close();
    }
  });

  test('the embedded default config answers offline through its built-in simulator', async () => {
    const [port, adminPort, simPort] = [await freePort('127.0.0.1'), await freePort('127.0.0.1'), await freePort('127.0.0.1')];
    const gateway = await start([], {
      SWITCHYARD_PORT: String(port),
      SWITCHYARD_ADMIN_PORT: String(adminPort),
      SWITCHYARD_SIMULATOR_PORT: String(simPort),
      SWITCHYARD_DATA_DIR: join(dir, 'default-data'),
    });
    try {
      assert.equal(gateway.port, port);
      const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'client', maxRetries: 0 });
      const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      assert.ok(text.length > 0);
    } finally {
      const status = await terminate(gateway);
      assert.deepEqual(status, { code: 0, signal: null }, `logs:\n${gateway.logs()}`);
    }
  });
});
