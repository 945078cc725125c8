// The container image without a Docker engine: the Dockerfile linted and checked against the gateway's
// needs, the .dockerignore context, and the runtime file set (scripts/container-fileset.sh) started as
// a non-root user the way the image runs it, with a smoke test over the official SDK.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { DockerfileParser, type Instruction, type ModifiableInstruction } from 'dockerfile-ast';
import { validate, ValidationSeverity, type ValidatorSettings } from 'dockerfile-utils';
import OpenAI from 'openai';
import { defaultConfigPath, loadConfig } from '../../src/config/load.js';
import { freePort } from '../../src/shared/free-port.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const dockerfileText = readFileSync(join(repo, 'Dockerfile'), 'utf8');
const instructions = DockerfileParser.parse(dockerfileText).getInstructions();
const filesetScript = join(repo, 'scripts/container-fileset.sh');

interface Stage {
  name: string | undefined;
  instructions: Instruction[];
}
/** The instructions of each FROM, in order. */
const stages: Stage[] = [];
for (const instruction of instructions) {
  if (instruction.getKeyword() === 'FROM') {
    const args = instruction.getArguments().map((a) => a.getValue());
    stages.push({ name: args[1]?.toUpperCase() === 'AS' ? args[2] : undefined, instructions: [] });
  }
  stages.at(-1)?.instructions.push(instruction);
}
const runtime = stages.at(-1)!;
const inStage = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.getKeyword() === keyword);
const args = (i: Instruction) => i.getArguments().map((a) => a.getValue());
const content = (i: Instruction) => i.getArgumentsContent() ?? '';
/** A JSON-form (exec form) instruction's argv; throws on the shell form. */
const execForm = (text: string): string[] => JSON.parse(text) as string[];
const runtimeEnv: Record<string, string> = Object.fromEntries(
  inStage(runtime, 'ENV').flatMap((i) => args(i).map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)])),
);

function linterSettings(): ValidatorSettings {
  const raw = JSON.parse(readFileSync(join(repo, '.dockerfile-utils.json'), 'utf8')) as Record<string, string>;
  const severity: Record<string, ValidationSeverity> = { error: ValidationSeverity.ERROR, warning: ValidationSeverity.WARNING, ignore: ValidationSeverity.IGNORE };
  return Object.fromEntries(Object.entries(raw).filter(([key]) => key !== '//').map(([key, value]) => [key, severity[value]])) as ValidatorSettings;
}

describe('Dockerfile', () => {
  test('passes dockerfile-utils with every rule an error, and the linter sees a broken copy', () => {
    const problems = validate(dockerfileText, linterSettings()).map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
    assert.deepEqual(problems, []);
    const broken = dockerfileText.replace('--interval=10s', '--interval=10x').replace('STOPSIGNAL SIGTERM', 'stopsignal SIGTERM');
    assert.equal(validate(broken, linterSettings()).length, 2);
  });

  test('builds every stage on one Node 20 glibc base and cleans apt lists where it installs', () => {
    assert.deepEqual(stages.map((s) => s.name), ['build', 'deps', undefined]);
    for (const stage of stages) assert.equal(args(stage.instructions[0])[0], '${NODE_IMAGE}');
    const base = /^NODE_IMAGE=node:(\d+)-(bookworm|trixie)-slim$/.exec(content(instructions[0]));
    assert.ok(base, `the first ARG names a slim Debian Node image: ${content(instructions[0])}`);
    const engines = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
    assert.ok(Number(base[1]) >= Number(/\d+/.exec(engines)![0]), `node:${base[1]} vs engines ${engines}`);
    assert.equal(instructions.filter((i) => i.getKeyword() === 'ADD').length, 0, 'COPY, not ADD');
    for (const run of instructions.filter((i) => i.getKeyword() === 'RUN' && content(i).includes('apt-get install'))) {
      assert.match(content(run), /--no-install-recommends/);
      assert.match(content(run), /rm -rf \/var\/lib\/apt\/lists/);
    }
    // re2 compiles from source where its prebuilt binary cannot be downloaded.
    assert.match(inStage(stages[1], 'RUN').map(content).join('\n'), /python3 make g\+\+/);
  });

  test('copies the build context that container-fileset.sh stages, and the runtime stage only built files', () => {
    const listed = spawnSync('bash', [filesetScript, 'context'], { encoding: 'utf8' }).stdout.trim().split('\n');
    const copied = inStage(stages[0], 'COPY').flatMap((i) => args(i).slice(0, -1));
    assert.deepEqual(copied, listed);
    const fromStages = inStage(runtime, 'COPY').map((i) => `${(i as ModifiableInstruction).getFlags().find((f) => f.getName() === 'from')?.getValue()}:${args(i)[0]}`);
    assert.deepEqual(fromStages, ['deps:/app/node_modules', 'build:/out/']);
  });

  test('runs as a numeric non-root user with the data volume, the ports, SIGTERM and a /healthz check', () => {
    const user = args(inStage(runtime, 'USER')[0])[0];
    assert.match(user, /^[1-9]\d*:[1-9]\d*$/, 'numeric uid:gid, so Kubernetes runAsNonRoot can check it');
    assert.deepEqual(execForm(content(inStage(runtime, 'VOLUME')[0])), [runtimeEnv.SWITCHYARD_DATA_DIR]);
    assert.equal(args(inStage(runtime, 'STOPSIGNAL')[0])[0], 'SIGTERM');
    // Exec form: node is PID 1 and receives the stop signal itself, not a shell.
    assert.deepEqual(execForm(content(inStage(runtime, 'ENTRYPOINT')[0])), ['node', '/app/dist/src/cli.js']);
    const config = loadConfig(defaultConfigPath, { SWITCHYARD_PORT: runtimeEnv.SWITCHYARD_PORT, SWITCHYARD_ADMIN_PORT: runtimeEnv.SWITCHYARD_ADMIN_PORT });
    assert.equal(config.server.host, '0.0.0.0', 'the API must listen on every interface inside a container');
    assert.deepEqual(args(inStage(runtime, 'EXPOSE')[0]).map(Number), [config.server.port, config.admin.port]);
    const healthcheckInstruction = inStage(runtime, 'HEALTHCHECK')[0] as ModifiableInstruction;
    // Time for the guard pools and listeners to start before failures count.
    assert.match(healthcheckInstruction.getFlags().find((f) => f.getName() === 'start-period')?.getValue() ?? '', /^\d+s$/);
    const healthcheck = content(healthcheckInstruction);
    const command = execForm(/CMD\s+(\[.*\])\s*$/s.exec(healthcheck)![1]);
    assert.equal(command[0], 'node');
    assert.match(command.join(' '), /SWITCHYARD_ADMIN_PORT\|\|8081\)\+'\/healthz'/);
  });
});

/** A minimal .dockerignore matcher for the patterns used there: `*`, `!dir/`, `**\/name`, `**\/*.ext`; the last match wins. */
function ignored(patterns: string[], path: string): boolean {
  let result = false;
  const parts = path.split('/');
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const pattern = (negate ? raw.slice(1) : raw).replace(/\/$/, '');
    let matches: boolean;
    if (pattern === '*') matches = true;
    else if (pattern.startsWith('**/')) {
      const leaf = new RegExp(`^${pattern.slice(3).replace(/\./g, '\\.').replace(/\*/g, '[^/]*')}$`);
      matches = parts.some((part) => leaf.test(part));
    } else matches = path === pattern || path.startsWith(`${pattern}/`);
    if (matches) result = !negate;
  }
  return result;
}

test('.dockerignore lets in the build context and keeps out node_modules, builds, data and secrets', () => {
  const patterns = readFileSync(join(repo, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  for (const path of ['package.json', 'src/cli.ts', 'ui/src/main.tsx', 'scripts/container-fileset.sh', 'config/switchyard.yaml']) {
    assert.equal(ignored(patterns, path), false, `${path} must be in the build context`);
  }
  for (const path of ['node_modules/re2/re2.js', 'dist/src/cli.js', 'data/admin.token', '.env', 'src/.env', '.git/HEAD', 'test/e2e/x.ts', '.build-deploy/x.js', 'ui/node_modules/a.js']) {
    assert.equal(ignored(patterns, path), true, `${path} must stay out of the build context`);
  }
});

// ---- The runtime file set, started as the image starts it ----

const slow =
  process.env.SWITCHYARD_SKIP_SLOW
    ? 'SWITCHYARD_SKIP_SLOW is set (this test compiles re2 from source: minutes)'
    : process.getuid?.() !== 0
      ? 'needs root, to run the gateway as another user (nobody) with setpriv'
      : spawnSync('setpriv', ['--version']).status !== 0
        ? 'setpriv is not installed (Debian package util-linux)'
        : false;

describe('the runtime file set as the image runs it (non-root, embedded default config)', { skip: slow }, () => {
  const nobody = 65534;
  const root = mkdtempSync(join(tmpdir(), 'switchyard-image-'));
  chmodSync(root, 0o755);
  after(() => rmSync(root, { recursive: true, force: true }));
  const app = join(root, 'app');

  test('container-fileset.sh stage assembles dist, config and production node_modules only', (t) => {
    const started = Date.now();
    const run = spawnSync('bash', [filesetScript, 'stage', app], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    t.diagnostic(`staged in ${Math.round((Date.now() - started) / 1000)} s (build, npm ci --omit=dev, re2 from source)`);
    assert.equal(run.status, 0, run.stdout + run.stderr);
    const present = (path: string) => existsSync(join(app, path));
    for (const path of ['dist/src/cli.js', 'dist/workers', 'dist/ui/index.html', 'config/switchyard.yaml', 'package.json', 'node_modules/re2/build/Release/re2.node']) {
      assert.ok(present(path), `${path} is missing`);
    }
    for (const path of ['dist/test', 'dist/bench', 'src', 'test', 'ui/src', 'node_modules/typescript', 'node_modules/openai', 'node_modules/esbuild']) {
      assert.ok(!present(path), `${path} must not be in the image`);
    }
  });

  test('serves chat, a stream, /metrics and /healthz as nobody, passes its HEALTHCHECK and drains on SIGTERM', async () => {
    const ports = { SWITCHYARD_PORT: await freePort('127.0.0.1'), SWITCHYARD_ADMIN_PORT: await freePort('127.0.0.1'), SWITCHYARD_SIMULATOR_PORT: await freePort('127.0.0.1') };
    const dataDir = join(root, 'data');
    mkdirSync(dataDir, { mode: 0o700 });
    chownSync(dataDir, nobody, nobody);
    // The app tree stays root's: the gateway must not need to write anywhere but the data volume.
    assert.equal(statSync(app).uid, 0);
    const env = { PATH: '/usr/local/bin:/usr/bin:/bin', ...runtimeEnv, SWITCHYARD_DATA_DIR: dataDir, ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])) };
    const asNobody = ['--reuid', String(nobody), '--regid', String(nobody), '--clear-groups', '--no-new-privs'];
    const entrypoint = execForm(content(inStage(runtime, 'ENTRYPOINT')[0])).map((arg) => arg.replace(/^\/app\//, `${app}/`));
    const cmd = execForm(content(inStage(runtime, 'CMD')[0]));
    const child = spawn('setpriv', [...asNobody, ...entrypoint.map((a, i) => (i === 0 ? process.execPath : a)), ...cmd], {
      cwd: app,
      env: { ...env, SWITCHYARD_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let logs = '';
    child.stderr.on('data', (d: Buffer) => (logs += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    try {
      const deadline = Date.now() + 90_000;
      while (!logs.includes('"switchyard listening"')) {
        assert.ok(Date.now() < deadline && child.exitCode === null, `the gateway did not start; log:\n${logs}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const client = new OpenAI({ baseURL: `http://127.0.0.1:${ports.SWITCHYARD_PORT}/v1`, apiKey: 'unused', maxRetries: 0 });
      const answer = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] });
      assert.ok(answer.choices[0].message.content);
      let chunks = 0;
      let usage = 0;
      const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hello' }] });
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta?.content) chunks++;
        usage = chunk.usage?.total_tokens ?? usage;
      }
      assert.ok(chunks > 1 && usage > 0, `${chunks} chunks, ${usage} tokens`);
      const admin = `http://127.0.0.1:${ports.SWITCHYARD_ADMIN_PORT}`;
      assert.match(await (await fetch(`${admin}/metrics`)).text(), /switchyard_requests_total\{[^}]*model="gpt-4o-mini"/);
      assert.deepEqual(await (await fetch(`${admin}/healthz`)).json(), { status: 'ok' });
      assert.equal((await fetch(`${admin}/ui/`)).status, 200);
      const healthcheck = execForm(/CMD\s+(\[.*\])\s*$/s.exec(content(inStage(runtime, 'HEALTHCHECK')[0]))![1]);
      const probe = spawnSync('setpriv', [...asNobody, process.execPath, ...healthcheck.slice(1)], { env, encoding: 'utf8' });
      assert.equal(probe.status, 0, probe.stderr);
      // What the gateway wrote, it wrote as nobody, inside the data volume.
      assert.equal(statSync(join(dataDir, 'admin.token')).uid, nobody);
      child.kill('SIGTERM');
      assert.deepEqual(await exited, { code: 0, signal: null }, logs);
      assert.match(logs, /"switchyard stopped"/);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
