// Sends a request to a provider over a keep-alive undici Pool and reports the response through a sink.
// undici's dispatch API is used directly: no stream objects per request, and pause/resume gives
// backpressure from the client socket to the upstream socket. The handler is undici's raw one
// (onConnect/onHeaders/onData/onComplete): the controller-style API wraps it in an adapter that turns
// every header list into an object, which cost about 2 µs a request here for two headers we read.
import { Pool, type Dispatcher } from 'undici';
import { errors, GatewayError } from '../shared/errors.js';
import type { Deployment } from '../config/compile.js';
import type { ProviderConfig } from '../config/types.js';

/** What the relay needs of the upstream response head. */
export interface UpstreamHead {
  status: number;
  contentType: string | undefined;
  /** On an error status: the headers that tell clients (the OpenAI SDKs) whether and when to retry. */
  retryHeaders: Array<[string, string]> | undefined;
}

export interface UpstreamSink {
  onHeaders(head: UpstreamHead): void;
  onData(chunk: Buffer): void;
  onEnd(): void;
  /** The exchange failed; `afterHeaders` tells whether onHeaders had already run. */
  onError(error: GatewayError, afterHeaders: boolean): void;
}

export interface UpstreamExchange {
  abort(): void;
  pause(): void;
  resume(): void;
}

/** Client headers that are about this hop or this client's credentials, never forwarded. */
const notForwarded = new Set([
  'host', 'connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'transfer-encoding', 'te', 'trailer',
  'upgrade', 'content-length', 'authorization', 'x-api-key', 'api-key', 'accept-encoding', 'cookie', 'x-request-id',
  'x-forwarded-for', 'expect', 'content-type',
  // Tied to the client's own OpenAI account; sent with the provider's key they make OpenAI refuse the request.
  'openai-organization', 'openai-project',
]);

export function upstreamHeaders(
  client: Readonly<Record<string, string>>,
  provider: ProviderConfig,
  requestId: string,
  fromStages: ReadonlyArray<readonly [string, string]> = [],
): string[] {
  const out: string[] = [];
  for (const name in client) {
    if (!notForwarded.has(name) && !fromStages.some(([stageName]) => stageName === name)) out.push(name, client[name]);
  }
  for (const [name, value] of fromStages) out.push(name, value);
  // The body was parsed as JSON whatever the client called it.
  out.push('x-request-id', requestId, 'accept-encoding', 'identity', 'content-type', 'application/json');
  if (provider.api_key) out.push('authorization', `Bearer ${provider.api_key}`);
  if (provider.headers) for (const name in provider.headers) out.push(name, provider.headers[name]);
  return out;
}

const contentTypeName = 'content-type';
/** Relayed with an error status; lower case, as compared. */
const retryHeaderNames = ['retry-after', 'retry-after-ms', 'x-should-retry'];

/** content-type, and on an error status the retry headers, out of undici's raw [name, value, …] header buffers. */
export function readHead(status: number, raw: Buffer[]): UpstreamHead {
  let contentType: string | undefined;
  let retryHeaders: Array<[string, string]> | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i];
    if (name.length === 12 && contentType === undefined && name.toString('latin1').toLowerCase() === contentTypeName) {
      contentType = raw[i + 1].toString('latin1');
    } else if (status >= 400 && (name.length === 11 || name.length === 14)) {
      const lower = name.toString('latin1').toLowerCase();
      if (retryHeaderNames.includes(lower) && !retryHeaders?.some(([seen]) => seen === lower)) {
        (retryHeaders ??= []).push([lower, raw[i + 1].toString('latin1')]);
      }
    }
  }
  return { status, contentType, retryHeaders };
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

/** One Pool per provider origin, per server thread. */
export class UpstreamClients {
  private readonly pools = new Map<string, Pool>();

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
  ): UpstreamExchange {
    const provider = deployment.provider;
    let abortUpstream: ((reason: Error) => void) | undefined;
    let resumeUpstream: (() => void) | undefined;
    let paused = false;
    let aborted = false;
    let headersSeen = false;
    let finished = false;
    let totalTimedOut = false;
    let totalTimer: NodeJS.Timeout | undefined;

    const finish = () => {
      finished = true;
      if (totalTimer) clearTimeout(totalTimer);
    };
    const handler: Dispatcher.DispatchHandler = {
      onConnect(abort) {
        abortUpstream = abort;
        if (aborted) abort(new Error('client went away'));
      },
      onHeaders(statusCode, rawHeaders, resume) {
        headersSeen = true;
        resumeUpstream = resume;
        sink.onHeaders(readHead(statusCode, rawHeaders));
        return !paused;
      },
      onData(chunk) {
        sink.onData(chunk);
        return !paused;
      },
      onComplete() {
        if (finished) return;
        finish();
        sink.onEnd();
      },
      onError(err) {
        if (finished) return;
        finish();
        if (aborted) return;
        sink.onError(classify(err, provider.name, totalTimedOut), headersSeen);
      },
    };
    if (!stream) {
      totalTimer = setTimeout(() => {
        totalTimedOut = true;
        abortUpstream?.(new Error('total timeout'));
      }, provider.timeouts.total_ms);
      totalTimer.unref();
    }
    this.pool(deployment).dispatch(
      { origin: deployment.origin, method: 'POST', path: deployment.basePath + path, headers, body },
      handler,
    );
    return {
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
