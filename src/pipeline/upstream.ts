// Sends a request to a provider over a keep-alive undici Pool and reports the response through a sink.
// undici's dispatch API is used directly: no stream objects per request, and pause/resume gives
// backpressure from the client socket to the upstream socket.
import { Pool, type Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';
import { errors, GatewayError } from '../shared/errors.js';
import type { Deployment } from '../config/compile.js';
import type { ProviderConfig } from '../config/types.js';

export interface UpstreamSink {
  onHeaders(status: number, headers: IncomingHttpHeaders): void;
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
    let controller: Dispatcher.DispatchController | undefined;
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
      onRequestStart(ctrl) {
        controller = ctrl;
        if (aborted) ctrl.abort(new Error('client went away'));
      },
      onResponseStart(_ctrl, statusCode, responseHeaders) {
        headersSeen = true;
        sink.onHeaders(statusCode, responseHeaders);
      },
      onResponseData(_ctrl, chunk) {
        sink.onData(chunk);
      },
      onResponseEnd() {
        if (finished) return;
        finish();
        sink.onEnd();
      },
      onResponseError(_ctrl, err) {
        if (finished) return;
        finish();
        if (aborted) return;
        sink.onError(classify(err, provider.name, totalTimedOut), headersSeen);
      },
    };
    if (!stream) {
      totalTimer = setTimeout(() => {
        totalTimedOut = true;
        controller?.abort(new Error('total timeout'));
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
        controller?.abort(new Error('client went away'));
      },
      pause() {
        controller?.pause();
      },
      resume() {
        controller?.resume();
      },
    };
  }

  /** Closes every connection; requests still running (only after a drain deadline) are cut. */
  async destroy(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.destroy().catch(() => undefined)));
    this.pools.clear();
  }
}
