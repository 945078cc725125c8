// Sends a request to a provider over a keep-alive undici Pool and reports the response through a sink.
// undici's dispatch API is used directly: no stream objects per request, and pause/resume gives
// backpressure from the client socket to the upstream socket. The handler is undici's raw one
// (onConnect/onHeaders/onData/onComplete): the controller-style API wraps it in an adapter that turns
// every header list into an object, which cost about 2 µs a request here for two headers we read.
import { Pool, type Dispatcher } from 'undici';
import { errors, GatewayError } from '../shared/errors.js';
import { log } from '../shared/log.js';
import type { Deployment } from '../config/compile.js';
import type { CoreConfig } from '../config/types.js';
import { BufferBudget } from './buffer-budget.js';
import { providerSecrets, SecretRedactor } from './secret-redaction.js';

/** What the relay needs of the upstream response head. */
export interface UpstreamHead {
  status: number;
  contentType: string | undefined;
  /** The announced body size, when the response has a valid content-length. */
  contentLength: number | undefined;
  /** content-encoding, lower case; the gateway asks for identity, so anything else is a fault. */
  contentEncoding: string | undefined;
  /** On an error status: the headers that tell clients (the OpenAI SDKs) whether and when to retry. */
  retryHeaders: Array<[string, string]> | undefined;
}

export interface UpstreamSink {
  onHeaders(head: UpstreamHead): void;
  onData(chunk: Buffer): void;
  onEnd(): void;
  /** The exchange failed, before or after onHeaders. */
  onError(error: GatewayError): void;
}

export interface UpstreamExchange {
  abort(): void;
  pause(): void;
  resume(): void;
  /** This thread's allowance for response bytes held in memory, shared by all its exchanges. */
  readonly buffers: BufferBudget;
  /** Removes the configured provider secrets and key-shaped text from what the upstream says. */
  readonly redactor: SecretRedactor;
}

const contentTypeName = 'content-type';
const contentLengthName = 'content-length';
const contentEncodingName = 'content-encoding';
const digitsOnly = /^\d{1,15}$/;
/** Relayed with an error status; lower case, as compared. */
const retryHeaderNames = ['retry-after', 'retry-after-ms', 'x-should-retry'];

/** content-type, content-length, content-encoding, and on an error status the retry headers, out of undici's raw [name, value, …] header buffers. */
export function readHead(status: number, raw: Buffer[]): UpstreamHead {
  let contentType: string | undefined;
  let contentLength: number | undefined;
  let contentEncoding: string | undefined;
  let retryHeaders: Array<[string, string]> | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const length = raw[i].length;
    // Only names as long as one we read are decoded.
    if (length !== 12 && length !== 14 && length !== 16 && length !== 11) continue;
    const name = raw[i].toString('latin1').toLowerCase();
    if (name === contentTypeName) {
      contentType ??= raw[i + 1].toString('latin1');
    } else if (name === contentLengthName) {
      const value = raw[i + 1].toString('latin1');
      if (contentLength === undefined && digitsOnly.test(value)) contentLength = Number(value);
    } else if (name === contentEncodingName) {
      contentEncoding ??= raw[i + 1].toString('latin1').trim().toLowerCase();
    } else if (status >= 400 && retryHeaderNames.includes(name) && !retryHeaders?.some(([seen]) => seen === name)) {
      (retryHeaders ??= []).push([name, raw[i + 1].toString('latin1')]);
    }
  }
  return { status, contentType, contentLength, contentEncoding, retryHeaders };
}

function classify(err: Error & { code?: string }, provider: string, totalTimedOut: boolean): GatewayError {
  if (err instanceof GatewayError) return err;
  if (totalTimedOut) return errors.upstreamTimeout(provider, 'total time limit');
  switch (err.code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return errors.upstreamTimeout(provider, 'connect');
    case 'UND_ERR_HEADERS_TIMEOUT':
      return errors.upstreamTimeout(provider, 'waiting for the first byte');
    case 'UND_ERR_BODY_TIMEOUT':
      return errors.upstreamTimeout(provider, 'idle between chunks');
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return errors.upstreamConnect(provider, err.code);
    default:
      return errors.upstreamBroken(provider, err.code ? `${err.code}: ${err.message}` : err.message);
  }
}

/** Until a config says otherwise (tests that build a handler by hand): the schema's default. */
const defaultMaxBufferedBytes = 256 * 1024 * 1024;

/** One Pool per provider origin, per server thread, and what every exchange of the thread shares. */
export class UpstreamClients {
  private readonly pools = new Map<string, Pool>();
  private readonly buffers: BufferBudget;
  private readonly redactor: SecretRedactor;

  constructor(config?: Pick<CoreConfig, 'server' | 'providers'>) {
    this.buffers = new BufferBudget(config?.server.max_buffered_upstream_bytes ?? defaultMaxBufferedBytes);
    this.redactor = new SecretRedactor(config ? providerSecrets(config.providers) : []);
  }

  private pool(deployment: Deployment): Pool {
    let pool = this.pools.get(deployment.origin);
    if (!pool) {
      const provider = deployment.provider;
      pool = new Pool(deployment.origin, {
        connections: provider.connections,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        keepAliveMaxTimeout: 600_000,
        headersTimeout: provider.timeouts.first_byte_ms,
        bodyTimeout: provider.timeouts.idle_ms,
        connect: { timeout: provider.timeouts.connect_ms, noDelay: true, keepAlive: true },
      });
      this.pools.set(deployment.origin, pool);
    }
    return pool;
  }

  send(
    deployment: Deployment,
    path: string,
    headers: string[],
    body: Buffer,
    stream: boolean,
    sink: UpstreamSink,
    /** The request's deadline leaves this long: the wait for the answer's head (and a whole answer) is cut to it. */
    budgetMs?: number,
  ): UpstreamExchange {
    const provider = deployment.provider;
    let abortUpstream: ((reason: Error) => void) | undefined;
    let resumeUpstream: (() => void) | undefined;
    let paused = false;
    let aborted = false;
    let finished = false;
    let totalTimedOut = false;
    let totalTimer: NodeJS.Timeout | undefined;

    const finish = () => {
      finished = true;
      if (totalTimer) clearTimeout(totalTimer);
    };
    // undici swallows what its callbacks throw and, the exchange being over for it, reports nothing more:
    // the client would wait for an answer forever. So a sink that throws gets an internal error instead.
    const sinkFailed = (err: unknown) => {
      log.error('relaying an upstream response failed', { provider: provider.name, error: (err as Error)?.stack ?? String(err) });
      const wasAborted = aborted;
      aborted = true;
      finish();
      abortUpstream?.(new Error('relay failed'));
      if (!wasAborted) sink.onError(errors.internal('relaying the provider response failed'));
    };
    const handler: Dispatcher.DispatchHandler = {
      onConnect(abort) {
        abortUpstream = abort;
        if (aborted) abort(new Error('client went away'));
      },
      onHeaders(statusCode, rawHeaders, resume) {
        resumeUpstream = resume;
        try {
          sink.onHeaders(readHead(statusCode, rawHeaders));
        } catch (err) {
          sinkFailed(err);
        }
        return !paused;
      },
      onData(chunk) {
        try {
          sink.onData(chunk);
        } catch (err) {
          sinkFailed(err);
        }
        return !paused;
      },
      onComplete() {
        if (finished) return;
        finish();
        try {
          sink.onEnd();
        } catch (err) {
          sinkFailed(err);
        }
      },
      onError(err) {
        if (finished) return;
        finish();
        if (aborted) return;
        sink.onError(classify(err, provider.name, totalTimedOut));
      },
    };
    const timeouts = deployment.timeouts;
    if (!stream) {
      totalTimer = setTimeout(() => {
        totalTimedOut = true;
        abortUpstream?.(new Error('total timeout'));
      }, budgetMs === undefined ? timeouts.total_ms : Math.min(budgetMs, timeouts.total_ms));
      totalTimer.unref();
    }
    const options: Dispatcher.DispatchOptions = { origin: deployment.origin, method: 'POST', path: deployment.basePath + path, headers, body };
    // A deployment's own timeouts go with its requests; the pool carries its provider's.
    const firstByteMs = budgetMs === undefined ? timeouts.first_byte_ms : Math.min(budgetMs, timeouts.first_byte_ms);
    if (firstByteMs !== provider.timeouts.first_byte_ms) options.headersTimeout = firstByteMs;
    if (timeouts.idle_ms !== provider.timeouts.idle_ms) options.bodyTimeout = timeouts.idle_ms;
    this.pool(deployment).dispatch(options, handler);
    return {
      buffers: this.buffers,
      redactor: this.redactor,
      abort() {
        if (finished || aborted) return;
        aborted = true;
        finish();
        abortUpstream?.(new Error('client went away'));
      },
      pause() {
        paused = true;
      },
      resume() {
        if (!paused) return;
        paused = false;
        resumeUpstream?.();
      },
    };
  }

  /** Closes every connection; requests still running (only after a drain deadline) are cut. */
  async destroy(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.destroy().catch(() => undefined)));
    this.pools.clear();
  }
}
