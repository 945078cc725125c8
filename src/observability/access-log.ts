// Structured access log: one JSON line per request, to stdout or a file. Built from the request
// context only: no headers are copied, so Authorization and keys cannot leak into it.
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { RequestContext } from '../pipeline/context.js';
import { setLogLevel } from '../shared/log.js';
import type { LogLevel } from './config.js';

const severity: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** logging.level sets the gateway's own log threshold too, unless SWITCHYARD_LOG_LEVEL overrides it. */
export function applyLogLevel(level: LogLevel): void {
  if (process.env.SWITCHYARD_LOG_LEVEL === undefined) setLogLevel(level);
}

/** 5xx are errors, 4xx warnings, the rest info. */
export function levelOf(status: number): LogLevel {
  if (status >= 500 || status === 0) return 'error';
  if (status >= 400) return 'warn';
  return 'info';
}

export function accessLogLine(ctx: RequestContext, level: LogLevel): string {
  const r = ctx.result;
  return JSON.stringify({
    time: new Date(ctx.receivedAtEpochMs).toISOString(),
    level,
    msg: 'request',
    request_id: ctx.id,
    method: ctx.head.method,
    path: ctx.head.path,
    status: r.status,
    outcome: r.outcome,
    model: ctx.deployment?.name ?? ctx.model,
    provider: ctx.deployment?.provider.name,
    key_id: ctx.key?.id,
    client_ip: ctx.head.remoteAddress,
    stream: ctx.stream,
    attempts: r.attempts,
    duration_ms: r.durationMs === undefined ? undefined : Math.round(r.durationMs * 1000) / 1000,
    ttft_ms: r.ttftMs === undefined ? undefined : Math.round(r.ttftMs * 1000) / 1000,
    prompt_tokens: r.usage?.promptTokens,
    completion_tokens: r.usage?.completionTokens,
    error_code: r.error?.code ?? undefined,
  });
}

/** Where access log lines go (stdout or a file): lines of one event-loop turn are written together. */
export class AccessLogOutput {
  private readonly out: WriteStream | NodeJS.WritableStream;
  private batch: string[] = [];
  private scheduled = false;

  constructor(readonly file: string | undefined) {
    if (file === undefined) {
      this.out = process.stdout;
    } else {
      mkdirSync(dirname(file), { recursive: true });
      this.out = createWriteStream(file, { flags: 'a' });
    }
  }

  write(line: string): void {
    this.batch.push(line);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.batch.length === 0) return;
    const text = this.batch.join('\n') + '\n';
    this.batch = [];
    this.out.write(text);
  }

  async close(): Promise<void> {
    this.flush();
    if (this.out !== process.stdout) await new Promise<void>((resolve) => (this.out as WriteStream).end(resolve));
  }
}

/** The access log of one config: its threshold over an output that configs with the same destination share. */
export class AccessLog {
  private readonly minimum: number;

  constructor(
    level: LogLevel,
    readonly output: AccessLogOutput,
  ) {
    this.minimum = severity[level];
  }

  record(ctx: RequestContext): void {
    const level = levelOf(ctx.result.status);
    if (severity[level] < this.minimum) return;
    this.output.write(accessLogLine(ctx, level));
  }
}
