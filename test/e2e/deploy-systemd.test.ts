// The systemd unit in deploy/systemd: systemd-analyze verify and security, the sysusers and tmpfiles
// files applied to a scratch root, and the unit's system call filter enforced on a real gateway.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import OpenAI from 'openai';
import { defaultConfigPath, loadConfig } from '../../src/config/load.js';
import { freePort } from '../../src/shared/free-port.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const cli = fileURLToPath(new URL('../../src/cli.js', import.meta.url));
const unitPath = join(repo, 'deploy/systemd/switchyard.service');
const unitText = readFileSync(unitPath, 'utf8');
const scratch = mkdtempSync(join(tmpdir(), 'switchyard-systemd-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Every `Key=value` of a section, in order (a key may repeat). */
function directives(text: string, section: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.startsWith('[')) current = line.slice(1, -1);
    else if (current === section) {
      const eq = line.indexOf('=');
      out.push([line.slice(0, eq), line.slice(eq + 1)]);
    }
  }
  return out;
}
const service = directives(unitText, 'Service');
const all = (key: string) => service.filter(([k]) => k === key).map(([, v]) => v);
const one = (key: string): string | undefined => all(key).at(-1);

function hasTool(tool: string): boolean {
  return spawnSync(tool, ['--version'], { encoding: 'utf8' }).status === 0;
}
const analyze = hasTool('systemd-analyze');
const noAnalyze = analyze ? false : 'systemd-analyze is not installed (Debian package systemd)';

/** The unit with Node's path replaced by this Node's, so verify checks an executable that exists here. */
function unitCopy(text = unitText): string {
  const file = join(scratch, 'switchyard.service');
  writeFileSync(file, text.replaceAll('/usr/bin/node ', `${process.execPath} `));
  return file;
}

describe('deploy/systemd/switchyard.service', () => {
  test('passes systemd-analyze verify without a warning, and verify does see a broken copy', { skip: noAnalyze }, () => {
    const verify = (file: string) => spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8', cwd: scratch });
    // Other units on the machine may have complaints of their own; only ours count.
    const ours = (stderr: string) => stderr.split('\n').filter((line) => line.includes('switchyard'));
    const good = verify(unitCopy());
    assert.equal(good.status, 0, good.stderr);
    assert.deepEqual(ours(good.stderr), []);
    const broken = verify(unitCopy(unitText.replace('ProtectHome=yes', 'ProtectHomes=yes').replace('TimeoutStopSec=', 'TimeoutStopSec=x')));
    assert.equal(ours(broken.stderr).length, 2, broken.stderr);
  });

  test('runs as the switchyard user with the hardening directives', () => {
    assert.equal(one('User'), 'switchyard');
    assert.equal(one('Group'), 'switchyard');
    assert.equal(one('DynamicUser'), undefined);
    const expected: Record<string, string> = {
      NoNewPrivileges: 'yes',
      ProtectSystem: 'strict',
      ProtectHome: 'yes',
      PrivateTmp: 'yes',
      PrivateDevices: 'yes',
      CapabilityBoundingSet: '',
      AmbientCapabilities: '',
      ProtectKernelTunables: 'yes',
      ProtectKernelModules: 'yes',
      ProtectControlGroups: 'yes',
      RestrictNamespaces: 'yes',
      RestrictSUIDSGID: 'yes',
      LockPersonality: 'yes',
      SystemCallArchitectures: 'native',
      SystemCallErrorNumber: 'EPERM',
    };
    for (const [key, value] of Object.entries(expected)) assert.equal(one(key), value, key);
    assert.match(all('SystemCallFilter')[0], /^@system-service\b/);
    // V8's JIT writes executable pages: this would kill Node at start.
    assert.notEqual(one('MemoryDenyWriteExecute'), 'yes');
    // The only writable path is the state directory, and it is where the data dir points.
    assert.equal(one('StateDirectory'), 'switchyard');
    assert.deepEqual(all('ReadWritePaths'), ['/var/lib/switchyard']);
    assert.ok(all('Environment').includes('SWITCHYARD_DATA_DIR=/var/lib/switchyard'));
    assert.equal(one('ConfigurationDirectory'), 'switchyard');
    assert.match(one('ExecStart') ?? '', / start --config \/etc\/switchyard\/switchyard\.yaml$/);
    assert.equal(one('EnvironmentFile'), '-/etc/switchyard/switchyard.env');
  });

  test('stops by draining: SIGTERM, a stop timeout past the drain, SIGHUP to reload, restart on failure', () => {
    assert.equal(one('KillSignal'), 'SIGTERM');
    assert.equal(one('KillMode'), 'mixed');
    assert.equal(one('Restart'), 'on-failure');
    assert.ok(all('ExecReload').includes('/bin/kill -HUP $MAINPID'), all('ExecReload').join(' | '));
    const drainSeconds = loadConfig(defaultConfigPath).server.drain_timeout_ms / 1000;
    const stop = /^(\d+)(s|min)?$/.exec(one('TimeoutStopSec') ?? '');
    assert.ok(stop, `TimeoutStopSec=${one('TimeoutStopSec')}`);
    const stopSeconds = Number(stop[1]) * (stop[2] === 'min' ? 60 : 1);
    assert.ok(stopSeconds >= drainSeconds + 15, `TimeoutStopSec ${stopSeconds} s must exceed the drain (${drainSeconds} s) by 15 s for the flush`);
    // 100k client sockets, each request in flight also holding one upstream socket.
    assert.ok(Number(one('LimitNOFILE')) >= 200_000, `LimitNOFILE=${one('LimitNOFILE')}`);
  });

  test('systemd-analyze security --offline rates its exposure', { skip: noAnalyze }, (t) => {
    const run = spawnSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', unitCopy()], { encoding: 'utf8', cwd: scratch });
    if (/unrecognized option|Unknown option/i.test(run.stderr)) return t.skip('this systemd-analyze has no --offline (systemd < 250)');
    const level = /Overall exposure level for switchyard\.service: ([\d.]+) (\w+)/.exec(run.stdout);
    assert.ok(level, run.stdout + run.stderr);
    t.diagnostic(`exposure ${level[1]} ${level[2]} (0 = fully sandboxed, 10 = not at all)`);
    assert.ok(Number(level[1]) <= 2.5, `exposure ${level[1]}`);
  });

  const noRoot = process.getuid?.() === 0 ? false : 'needs root: systemd-tmpfiles sets owners in the scratch root';
  test('sysusers.d creates the user and tmpfiles.d the modes the unit expects', { skip: noAnalyze || noRoot }, () => {
    const root = join(scratch, 'root');
    for (const dir of ['etc/switchyard', 'usr/lib/sysusers.d', 'usr/lib/tmpfiles.d']) mkdirSync(join(root, dir), { recursive: true });
    writeFileSync(join(root, 'usr/lib/sysusers.d/switchyard.conf'), readFileSync(join(repo, 'deploy/systemd/switchyard.sysusers')));
    const sysusers = spawnSync('systemd-sysusers', [`--root=${root}`], { encoding: 'utf8' });
    assert.equal(sysusers.status, 0, sysusers.stderr);
    const user = readFileSync(join(root, 'etc/passwd'), 'utf8').split('\n').find((l) => l.startsWith('switchyard:'))?.split(':');
    assert.ok(user, 'no switchyard line in etc/passwd');
    const [, , uid, gid, , home, shell] = user;
    assert.ok(Number(uid) > 0 && Number(uid) < 1000, `uid ${uid} is not a system uid`);
    assert.equal(home, '/var/lib/switchyard');
    assert.equal(shell, '/usr/sbin/nologin');
    // Files as an operator might copy them: readable by everyone.
    for (const name of ['switchyard.yaml', 'switchyard.env']) {
      writeFileSync(join(root, 'etc/switchyard', name), '');
      chmodSync(join(root, 'etc/switchyard', name), 0o644);
    }
    writeFileSync(join(root, 'usr/lib/tmpfiles.d/switchyard.conf'), readFileSync(join(repo, 'deploy/systemd/switchyard.tmpfiles')));
    const tmpfiles = spawnSync('systemd-tmpfiles', ['--create', `--root=${root}`], { encoding: 'utf8' });
    assert.equal(tmpfiles.status, 0, tmpfiles.stderr);
    const mode = (path: string) => statSync(join(root, path));
    // systemd leaves an existing ConfigurationDirectory alone but warns when its mode is not ConfigurationDirectoryMode.
    const configDirMode = parseInt(one('ConfigurationDirectoryMode') ?? '0755', 8);
    assert.equal(mode('etc/switchyard').mode & 0o7777, configDirMode);
    assert.equal(mode('etc/switchyard/switchyard.yaml').mode & 0o777, 0o640);
    assert.equal(mode('etc/switchyard/switchyard.yaml').gid, Number(gid));
    assert.equal(mode('etc/switchyard/switchyard.env').mode & 0o777, 0o600);
    assert.equal(mode('etc/switchyard/switchyard.env').uid, 0);
    assert.equal(mode('var/lib/switchyard').mode & 0o7777, parseInt(one('StateDirectoryMode') ?? '0755', 8));
    assert.equal(mode('var/lib/switchyard').uid, Number(uid));
  });
});

// ---- The system call filter, enforced with seccomp on the real gateway ----

/** Expands a systemd syscall group (or name) into call names, as this machine's systemd defines it. */
function expandSyscalls(item: string): string[] {
  if (!item.startsWith('@')) return [item];
  const run = spawnSync('systemd-analyze', ['syscall-filter', item], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`systemd-analyze syscall-filter ${item}: ${run.stderr}`);
  return run.stdout
    .split('\n')
    .slice(1)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .flatMap(expandSyscalls);
}

/** The calls the unit allows: its first SystemCallFilter= is an allow list, later `~` lines remove calls. */
function allowedSyscalls(filters: string[]): Set<string> {
  const allowed = new Set<string>();
  for (const filter of filters) {
    const deny = filter.startsWith('~');
    for (const item of (deny ? filter.slice(1) : filter).split(/\s+/).filter(Boolean)) {
      for (const name of expandSyscalls(item)) deny ? allowed.delete(name) : allowed.add(name);
    }
  }
  return allowed;
}

// libseccomp is on every systemd machine; its headers are not, so the few declarations are here.
const seccompRunSource = String.raw`
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
typedef void *scmp_filter_ctx;
scmp_filter_ctx seccomp_init(uint32_t def_action);
int seccomp_syscall_resolve_name(const char *name);
int seccomp_rule_add(scmp_filter_ctx ctx, uint32_t action, int syscall, unsigned int arg_cnt, ...);
int seccomp_load(scmp_filter_ctx ctx);
int main(int argc, char **argv) {
  if (argc < 3) return 2;
  FILE *list = fopen(argv[1], "r");
  if (!list) { perror(argv[1]); return 2; }
  scmp_filter_ctx ctx = seccomp_init(0x80000000U); /* any other call kills the process (SIGSYS) */
  char name[128];
  while (fscanf(list, "%127s", name) == 1) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr >= 0) seccomp_rule_add(ctx, 0x7fff0000U, nr, 0); /* allow */
  }
  if (seccomp_load(ctx) != 0) { fprintf(stderr, "seccomp_load failed\n"); return 2; }
  execvp(argv[2], argv + 2);
  perror(argv[2]);
  return 127;
}
`;

function buildSeccompRun(): string | undefined {
  if (!analyze || !hasTool('gcc')) return undefined;
  const source = join(scratch, 'seccomp-run.c');
  const binary = join(scratch, 'seccomp-run');
  writeFileSync(source, seccompRunSource);
  return spawnSync('gcc', ['-O2', '-o', binary, source, '-l:libseccomp.so.2'], { encoding: 'utf8' }).status === 0 ? binary : undefined;
}
const seccompRun = buildSeccompRun();
const noSeccomp = seccompRun ? false : 'needs systemd-analyze, gcc and libseccomp.so.2 to enforce the filter';

function writeAllowList(name: string, calls: Set<string>): string {
  const file = join(scratch, name);
  writeFileSync(file, [...calls].join('\n'));
  return file;
}

describe('the unit\'s SystemCallFilter on a real gateway (seccomp, kill on any other call)', { skip: noSeccomp }, () => {
  const allowed = allowedSyscalls(all('SystemCallFilter'));

  test('serves, guards in worker threads, reloads on SIGHUP and drains on SIGTERM', async () => {
    const [port, adminPort, simPort] = [await freePort('127.0.0.1'), await freePort('127.0.0.1'), await freePort('127.0.0.1')];
    const dataDir = join(scratch, 'data');
    const configFile = join(scratch, 'config', 'switchyard.yaml');
    mkdirSync(join(scratch, 'config'), { recursive: true });
    const config = (extraModel: string) => `
server: { host: 127.0.0.1, port: ${port}, threads: 2 }
admin: { host: 127.0.0.1, port: ${adminPort} }
data_dir: ${dataDir}
simulator: { enabled: true, port: ${simPort} }
providers:
  - { name: sim, base_url: "http://127.0.0.1:${simPort}/v1", api_key: sk-sim }
models:
  - { name: gpt-4o-mini, provider: sim }
  - { name: ${extraModel}, provider: sim, model: gpt-4o-mini }
guards:
  prompt:
    - { name: no-bombs, deny: ['\\bbuild\\b.*\\bbomb\\b'] }
`;
    writeFileSync(configFile, config('before-reload'));
    const child = spawn(seccompRun!, [writeAllowList('allowed.txt', allowed), process.execPath, cli, 'start', '--config', configFile, '--no-watch'], {
      env: { ...process.env, SWITCHYARD_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let logs = '';
    child.stderr.on('data', (d: Buffer) => (logs += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    try {
      await waitUntil(() => logs.includes('"switchyard listening"'), exited, () => logs);
      const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'unused', maxRetries: 0 });
      const answer = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] });
      assert.ok(answer.choices[0].message.content);
      let streamed = '';
      for await (const chunk of await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hello' }] })) {
        streamed += chunk.choices[0]?.delta?.content ?? '';
      }
      assert.ok(streamed.length > 0);
      await assert.rejects(client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'build a bomb' }] }), { status: 400 });
      const metrics = await fetch(`http://127.0.0.1:${adminPort}/metrics`);
      assert.match(await metrics.text(), /switchyard_requests_total/);
      writeFileSync(configFile, config('after-reload'));
      child.kill('SIGHUP');
      await waitUntil(() => logs.includes('"config reloaded"'), exited, () => logs);
      const models = (await client.models.list()).data.map((m) => m.id);
      assert.ok(models.includes('after-reload'), models.join(','));
      child.kill('SIGTERM');
      assert.deepEqual(await exited, { code: 0, signal: null }, logs);
    } finally {
      child.kill('SIGKILL');
    }
  });

  test('without the pkey calls it adds to @system-service, Node dies of SIGSYS on a CPU with PKU', (t) => {
    const cpu = readFileSync('/proc/cpuinfo', 'utf8');
    if (!/\bpku\b/.test(cpu) || !/\bospke\b/.test(cpu)) return t.skip('this CPU has no memory protection keys: V8 does not call pkey_alloc');
    const withoutPkeys = new Set([...allowed].filter((name) => !name.startsWith('pkey_')));
    const run = spawnSync(seccompRun!, [writeAllowList('no-pkeys.txt', withoutPkeys), process.execPath, '-e', '0'], { encoding: 'utf8' });
    assert.equal(run.signal, 'SIGSYS');
    const control = spawnSync(seccompRun!, [writeAllowList('allowed.txt', allowed), process.execPath, '-e', 'process.exit(7)'], { encoding: 'utf8' });
    assert.equal(control.status, 7, control.stderr);
  });
});

/** Resolves once `ready()` holds; rejects if the process exits first or after 60 s (a slow start under load). */
async function waitUntil(ready: () => boolean, exited: Promise<unknown>, logs: () => string): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + 60_000;
  while (!ready()) {
    if (gone) throw new Error(`the gateway exited (a system call outside the filter kills it with SIGSYS); log:\n${logs()}`);
    if (Date.now() > deadline) throw new Error(`gave up waiting; log:\n${logs()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
