// CPU priority of a guard worker thread. Guard work is batch work: when the cores are busy, the server
// threads' event loops (and the upstreams they wait on, when those share the machine) come first.
// Linux keeps the scheduling policy and the nice value per thread, so a worker changes its own only.
import { spawnSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/**
 * idle: SCHED_IDLE, runs only on CPU time no other thread wants (under a sustained overload, guard
 * tasks then wait for their deadline). low: nice 10 (about a tenth of a busy core's time against a
 * thread at nice 0). normal: as the server threads.
 */
export type PoolPriority = 'idle' | 'low' | 'normal';

export const lowNice = 10;
/** SCHED_IDLE's number in sched.h, as /proc reports it. */
export const schedIdle = 5;

export interface ThreadScheduling {
  /** Kernel scheduling policy number (0 = SCHED_OTHER, 5 = SCHED_IDLE). */
  policy: number;
  nice: number;
}

/** This thread's policy and nice value, from /proc/thread-self/stat (Linux); undefined elsewhere. */
export function readThreadScheduling(): ThreadScheduling | undefined {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces: field 3 is [0].
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { nice: Number(fields[19 - 3]), policy: Number(fields[41 - 3]) };
  } catch {
    return undefined;
  }
}

/**
 * Sets the calling thread's priority; returns a reason when it could not be set as asked (the thread
 * then runs at nice 10 for idle where that works, else as it was). Node has no binding for
 * sched_setscheduler, so SCHED_IDLE is set by util-linux's chrt on this thread's id; an unprivileged
 * thread may always lower itself to SCHED_IDLE or raise its nice value.
 */
export function applyThreadPriority(priority: PoolPriority): string | undefined {
  if (priority === 'normal') return undefined;
  let problem: string | undefined;
  if (priority === 'idle') {
    problem = setSchedIdle();
    if (problem === undefined) return undefined;
  }
  try {
    // On Linux, setpriority(PRIO_PROCESS, 0) applies to the calling thread only.
    setPriority(0, lowNice);
  } catch (err) {
    return [problem, `nice ${lowNice} refused: ${(err as Error).message}`].filter(Boolean).join('; ');
  }
  return problem === undefined ? undefined : `${problem}; running at nice ${lowNice} instead`;
}

function setSchedIdle(): string | undefined {
  let tid: string;
  try {
    tid = readlinkSync('/proc/thread-self').split('/').pop()!;
  } catch {
    return 'SCHED_IDLE needs Linux (/proc/thread-self)';
  }
  const chrt = spawnSync('chrt', ['--idle', '--pid', '0', tid], { timeout: 5000, encoding: 'utf8' });
  if (chrt.error) return `SCHED_IDLE not set: chrt could not run (${chrt.error.message})`;
  if (chrt.status !== 0) return `SCHED_IDLE not set: chrt exited with ${chrt.status} (${chrt.stderr.trim()})`;
  return readThreadScheduling()?.policy === schedIdle ? undefined : 'SCHED_IDLE not set: the policy did not change';
}
