// Where and when the numbers were taken, stored next to them.
import { spawnSync } from 'node:child_process';
import { availableParallelism, cpus, loadavg, totalmem, release } from 'node:os';
import { existsSync } from 'node:fs';
import { repoRoot } from './targets.js';

export interface MachineInfo {
  cpu_model: string;
  cores: number;
  memory_gib: number;
  kernel: string;
  node: string;
  nginx: string;
  wrk: string;
  date: string;
  git_commit: string;
  git_dirty: boolean | 'unknown';
  loadavg_start: number[];
}

/** stdout + stderr of a short command, whatever its exit code (nginx -v and wrk -v use stderr or exit 1). */
function quiet(command: string, args: string[]): string {
  const run = spawnSync(command, args, { cwd: repoRoot, encoding: 'utf8', timeout: 10_000 });
  if (run.error) return 'unknown';
  return `${run.stdout ?? ''}${run.stderr ?? ''}`.trim();
}

export function machineInfo(): MachineInfo {
  const commit = quiet('git', ['rev-parse', 'HEAD']);
  const status = /^[0-9a-f]{40}$/.test(commit) ? quiet('git', ['--no-optional-locks', 'status', '--porcelain', '--untracked-files=no']) : 'unknown';
  return {
    cpu_model: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    memory_gib: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    nginx: existsSync('/usr/sbin/nginx') ? quiet('/usr/sbin/nginx', ['-v']).replace(/^nginx version: /, '') : 'absent',
    wrk: existsSync('/usr/bin/wrk') ? (quiet('/usr/bin/wrk', ['-v']).split('\n')[0] ?? '').replace(/\s+Copyright.*$/, '') : 'absent',
    date: new Date().toISOString(),
    git_commit: /^[0-9a-f]{40}$/.test(commit) ? commit : 'unknown',
    git_dirty: status === 'unknown' ? 'unknown' : status !== '',
    loadavg_start: loadavg().map((v) => Math.round(v * 100) / 100),
  };
}
