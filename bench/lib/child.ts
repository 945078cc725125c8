// A benchmarked process (simulator, gateway, nginx, load generator): spawn, wait for its ready line, stop.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Lines kept per stream for the report when a process misbehaves. */
const keptLines = 200;

/** Every child not yet exited, so an interrupted run can stop what it started. */
const running = new Set<Child>();

/** Sends SIGTERM to every child still running (the runner was interrupted). */
export function killRunningChildren(): void {
  for (const child of running) child.process.kill('SIGTERM');
}

export class Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly stdoutLines: string[] = [];
  readonly stderrLines: string[] = [];
  /** Lines that look like warnings or errors (JSON logs with level warn/error, or "error" text). */
  problemLines = 0;
  private exitInfo: ChildExit | undefined;
  private readonly exited: Promise<ChildExit>;
  private readonly lineWatchers = new Set<(line: string) => void>();

  constructor(name: string, command: string, args: readonly string[], options: SpawnOptions = {}) {
    this.name = name;
    this.process = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    running.add(this);
    this.exited = new Promise((resolve) => {
      this.process.once('close', (code, signal) => {
        running.delete(this);
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
      this.process.once('error', (err) => {
        running.delete(this);
        this.stderrLines.push(`spawn failed: ${err.message}`);
        this.exitInfo = { code: -1, signal: null };
        resolve(this.exitInfo);
      });
    });
    // Always drain both pipes: a full pipe would block the child and distort the measurement.
    this.collect(this.process.stdout, this.stdoutLines);
    this.collect(this.process.stderr, this.stderrLines);
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  get exit(): ChildExit | undefined {
    return this.exitInfo;
  }

  private collect(stream: NodeJS.ReadableStream | null, into: string[]): void {
    if (!stream) return;
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (text: string) => {
      const parts = (partial + text).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        if (/"level":"(warn|error)"|\berror\b|\[(error|crit|alert|emerg)\]/i.test(line)) this.problemLines++;
        into.push(line);
        if (into.length > keptLines) into.shift();
        for (const watch of this.lineWatchers) watch(line);
      }
    });
    stream.on('end', () => {
      if (partial !== '') into.push(partial);
    });
  }

  /** Resolves with the first output line matching `pattern`; rejects if the process exits or time runs out. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const seen = [...this.stdoutLines, ...this.stderrLines].map((line) => line.match(pattern)).find((m) => m !== null);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.lineWatchers.delete(watch);
      };
      const watch = (line: string): void => {
        const match = line.match(pattern);
        if (match) {
          done();
          resolve(match);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name}: no line matching ${pattern} within ${timeoutMs} ms.\n${this.tail()}`));
      }, timeoutMs);
      this.lineWatchers.add(watch);
      void this.exited.then((exit) => {
        done();
        reject(new Error(`${this.name} exited (code ${exit.code}, signal ${exit.signal}) before it was ready.\n${this.tail()}`));
      });
    });
  }

  waitForExit(): Promise<ChildExit> {
    return this.exited;
  }

  /** Last output lines, for error messages. */
  tail(lines = 15): string {
    const out = [...this.stdoutLines.slice(-lines), ...this.stderrLines.slice(-lines)];
    return out.map((line) => `  ${this.name}| ${line}`).join('\n');
  }

  /** SIGTERM (or `signal`), then SIGKILL if it has not exited after `graceMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<ChildExit> {
    if (this.exitInfo) return this.exitInfo;
    this.process.kill(signal);
    const timer = setTimeout(() => this.process.kill('SIGKILL'), graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }
}

/** Runs a command to completion and returns its output; a non-zero exit is an error carrying the output's tail. */
export async function runToCompletion(
  name: string,
  command: string,
  args: readonly string[],
  timeoutMs: number,
): Promise<{ stdout: string; stderr: string }> {
  const child = new Child(name, command, args);
  const timer = setTimeout(() => child.process.kill('SIGKILL'), timeoutMs);
  const exit = await child.waitForExit();
  clearTimeout(timer);
  if (exit.code !== 0) throw new Error(`${name} failed (code ${exit.code}, signal ${exit.signal}).\n${child.tail()}`);
  return { stdout: child.stdoutLines.join('\n'), stderr: child.stderrLines.join('\n') };
}
