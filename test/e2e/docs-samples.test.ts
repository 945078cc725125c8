// Runs every code sample that README.md and docs/ mark runnable (```sh runnable, ```ts runnable,
// ```yaml runnable) against a gateway started from the embedded default config, as a user would.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transformSync } from 'esbuild';
import { parseConfig } from '../../src/config/load.js';
import { docSamples, type DocSample } from '../helpers/doc-samples.js';
import { freePort, waitFor } from '../helpers/stack.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const cli = fileURLToPath(new URL('../../src/cli.js', import.meta.url));
const samples = docSamples(root);
const sampleTimeoutMs = 60_000;

let gateway: ChildProcess | undefined;
let dataDir = '';
let scratch = '';
const ports = { public: 0, admin: 0, simulator: 0 };

/** The samples say localhost:8080/8081 and data/admin.token; the test gateway runs on free ports and a temp data dir. */
function localise(code: string): string {
  return code
    .replaceAll('localhost:8080', `127.0.0.1:${ports.public}`)
    .replaceAll('localhost:8081', `127.0.0.1:${ports.admin}`)
    .replaceAll('data/admin.token', join(dataDir, 'admin.token'));
}

function run(command: string, args: string[], cwd: string): { status: number | null; output: string } {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: sampleTimeoutMs, env: { ...process.env, NO_COLOR: '1' } });
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}` };
}

function runSample(sample: DocSample, index: number): { status: number | null; output: string } {
  const code = localise(sample.code);
  // An HTTP error answer fails the sample too, not only curl's own failures.
  if (sample.lang === 'sh') return run('bash', ['-euo', 'pipefail', '-c', `curl() { command curl --fail-with-body "$@"; }\n${code}`], root);
  if (sample.lang === 'ts') {
    // Inside the checkout, so `import OpenAI from 'openai'` resolves as in a user's project.
    const file = join(scratch, `sample-${index}.mjs`);
    writeFileSync(file, transformSync(code, { loader: 'ts', format: 'esm', target: 'node20' }).code);
    return run(process.execPath, [file], root);
  }
  const env: NodeJS.ProcessEnv = {};
  for (const [, name] of code.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)) env[name] = 'sample-value';
  try {
    parseConfig(code, `${sample.file}:${sample.line}`, env);
    return { status: 0, output: '' };
  } catch (err) {
    return { status: 1, output: (err as Error).message };
  }
}

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'switchyard-docs-'));
  scratch = join(root, '.doc-samples');
  mkdirSync(scratch, { recursive: true });
  ports.public = await freePort();
  ports.admin = await freePort();
  ports.simulator = await freePort();
  gateway = spawn(process.execPath, [cli, 'start', '--threads', '1'], {
    cwd: root,
    env: {
      ...process.env,
      SWITCHYARD_PORT: String(ports.public),
      SWITCHYARD_ADMIN_PORT: String(ports.admin),
      SWITCHYARD_SIMULATOR_PORT: String(ports.simulator),
      SWITCHYARD_DATA_DIR: dataDir,
      SWITCHYARD_ADMIN_TOKEN: '',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  gateway.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let ready = false;
  const poll = setInterval(() => {
    fetch(`http://127.0.0.1:${ports.admin}/readyz`).then((r) => (ready = r.ok), () => undefined);
  }, 100);
  const started = await waitFor(() => ready, 20_000);
  clearInterval(poll);
  assert.ok(started, `the gateway did not get ready: ${stderr}`);
  assert.match(readFileSync(join(dataDir, 'admin.token'), 'utf8'), /^sy-admin-/);
});

after(async () => {
  if (gateway && gateway.exitCode === null) {
    const exited = new Promise((done) => gateway?.once('exit', done));
    gateway.kill('SIGTERM');
    await exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
});

test('README marks its first-request samples runnable', () => {
  const inReadme = samples.filter((s) => s.file === 'README.md');
  assert.ok(inReadme.some((s) => s.lang === 'sh'), 'README.md has no ```sh runnable sample');
  assert.ok(inReadme.some((s) => s.lang === 'ts'), 'README.md has no ```ts runnable sample');
});

samples.forEach((sample, index) => {
  test(`${sample.file}:${sample.line} (${sample.lang}) runs as written`, () => {
    const { status, output } = runSample(sample, index);
    assert.equal(status, 0, `exit ${status}\n--- sample ---\n${sample.code}--- output ---\n${output}`);
  });
});
