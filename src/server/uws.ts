// The only module that touches uWebSockets.js. It turns uWS callbacks into IncomingHead + body + Reply.
import { createRequire } from 'node:module';
import type * as UwsTypes from 'uWebSockets.js';
import { clientAddressText } from './client-address.js';
import { statusLine, type HeaderList, type IncomingHead, type Listener, type ListenOptions, type Reply, type RequestHandler } from './http.js';

type Uws = typeof UwsTypes;
let loaded: Uws | undefined;

/**
 * Loads the native uWS binary, or throws a clear error. Some republished builds silently fall
 * back to a pure-JS server when the binary does not load; that would be many times slower, so
 * it is refused rather than run.
 */
export function loadUws(): Uws {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  let mod: Uws;
  try {
    mod = require('uWebSockets.js') as Uws;
  } catch (err) {
    throw new Error(`uWebSockets.js could not be loaded: ${(err as Error).message}. ${installHint}`);
  }
  if (typeof mod.App !== 'function' || !Function.prototype.toString.call(mod.App).includes('[native code]')) {
    throw new Error(
      `uWebSockets.js loaded a non-native fallback (Node ${process.version}, ABI ${process.versions.modules}, ` +
        `${process.platform}-${process.arch}); Switchyard refuses to run on it. ${installHint}`,
    );
  }
  if (process.env.UWS_HTTP_MAX_HEADERS_SIZE === undefined) process.env.UWS_HTTP_MAX_HEADERS_SIZE = '16384';
  loaded = mod;
  return mod;
}

const installHint =
  'Install a uWS build with a binary for this platform and Node ABI (see README "uWebSockets.js build").';

class UwsReply implements Reply {
  done = false;
  private abortCallbacks: Array<() => void> | undefined;
  private drainCallback: (() => void) | undefined;
  private pendingHead: { status: number; headers: HeaderList } | undefined;
  private closeAfterEnd = false;

  constructor(
    private readonly res: UwsTypes.HttpResponse,
    private readonly live: Set<UwsReply>,
    /** A HEAD request: the answer carries the body's length but never its bytes. */
    private readonly headOnly: boolean,
  ) {
    live.add(this);
    res.onAborted(() => {
      if (this.done) return;
      this.finish();
      this.runAbortCallbacks();
    });
  }

  private runAbortCallbacks(): void {
    const callbacks = this.abortCallbacks;
    this.abortCallbacks = undefined;
    if (callbacks) for (const cb of callbacks) cb();
  }

  onAbort(cb: () => void): void {
    (this.abortCallbacks ??= []).push(cb);
  }

  send(status: number, headers: HeaderList, body: string | Uint8Array): void {
    if (this.done) return;
    this.finish();
    const res = this.res;
    res.cork(() => {
      writeHead(res, status, headers);
      if (this.headOnly) {
        // endWithoutBody with any argument never sends in this uWS build, so the length is written by
        // hand and closeWhenDone cannot apply (a draining thread closes the connection at its deadline).
        res.writeHeader('content-length', String(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength));
        res.endWithoutBody();
      } else {
        res.end(body, this.closeAfterEnd);
      }
    });
  }

  /**
   * The head waits for the first chunk so both leave in one write; when no chunk comes in this
   * turn of the event loop (a slow first token), a microtask sends it alone.
   */
  start(status: number, headers: HeaderList): void {
    if (this.done) return;
    this.pendingHead = { status, headers };
    queueMicrotask(() => {
      if (this.pendingHead === undefined || this.done) return;
      const res = this.res;
      res.cork(() => this.writePendingHead(res));
    });
  }

  write(chunk: string | Uint8Array): boolean {
    if (this.done) return true;
    const res = this.res;
    let ok = true;
    res.cork(() => {
      this.writePendingHead(res);
      ok = res.write(chunk);
    });
    return ok;
  }

  onDrain(cb: () => void): void {
    if (this.done) return;
    if (this.drainCallback === undefined) {
      this.res.onWritable(() => {
        const pending = this.drainCallback;
        this.drainCallback = undefined;
        if (pending && !this.done) pending();
        return true;
      });
    }
    this.drainCallback = cb;
  }

  end(chunk?: string | Uint8Array): void {
    if (this.done) return;
    this.finish();
    const res = this.res;
    res.cork(() => {
      this.writePendingHead(res);
      res.end(chunk, this.closeAfterEnd);
    });
  }

  private writePendingHead(res: UwsTypes.HttpResponse): void {
    const head = this.pendingHead;
    if (head === undefined) return;
    this.pendingHead = undefined;
    writeHead(res, head.status, head.headers);
  }

  closeWhenDone(): void {
    this.closeAfterEnd = true;
  }

  /** Answers and closes the connection, because the rest of the request body was not read. */
  refuse(answer: { status: number; headers: HeaderList; body: string }): void {
    if (this.done) return;
    this.finish();
    const res = this.res;
    res.cork(() => {
      writeHead(res, answer.status, answer.headers);
      res.end(answer.body, true);
    });
  }

  destroy(): void {
    if (this.done) return;
    this.finish();
    this.res.close();
  }

  /** Closed by the listener (drain deadline), not by its owner: the owner hears it as a client abort. */
  cutOff(): void {
    if (this.done) return;
    this.destroy();
    this.runAbortCallbacks();
  }

  private finish(): void {
    this.done = true;
    this.live.delete(this);
  }
}

function writeHead(res: UwsTypes.HttpResponse, status: number, headers: HeaderList): void {
  res.writeStatus(statusLine(status));
  for (let i = 0; i < headers.length; i++) res.writeHeader(headers[i][0], headers[i][1]);
}

function readHead(res: UwsTypes.HttpResponse, req: UwsTypes.HttpRequest, clientAddress: boolean): IncomingHead {
  const headers: Record<string, string> = {};
  req.forEach((key, value) => {
    headers[key] = value;
  });
  return {
    method: req.getCaseSensitiveMethod().toUpperCase(),
    path: req.getUrl(),
    query: req.getQuery() ?? '',
    headers,
    remoteAddress: clientAddress ? clientAddressText(res.getRemoteAddress()) : '',
  };
}

/**
 * Collects the request body. Past maxBytes the rest is read and dropped (up to discardBytes) before
 * onTooLarge runs, so a client still sending can read the answer instead of hitting a reset.
 */
function readBody(
  res: UwsTypes.HttpResponse,
  declaredLength: number,
  maxBytes: number,
  onDone: (body: Buffer) => void,
  onTooLarge: () => void,
): void {
  const discardBytes = Math.max(maxBytes * 4, 64 * 1024 * 1024);
  let buffer = declaredLength > 0 && declaredLength <= maxBytes ? Buffer.allocUnsafe(declaredLength) : undefined;
  let chunks: Buffer[] | undefined;
  let received = 0;
  let refused = false;
  res.onData((chunk, isLast) => {
    if (refused) return;
    const length = chunk.byteLength;
    received += length;
    if (received > maxBytes) {
      if (isLast || received > discardBytes) {
        refused = true;
        onTooLarge();
      }
      buffer = undefined;
      chunks = undefined;
      return;
    }
    const bytes = new Uint8Array(chunk);
    if (buffer && received <= buffer.byteLength) {
      buffer.set(bytes, received - length);
    } else {
      // No (or a wrong) Content-Length: fall back to a chunk list.
      if (buffer) {
        chunks = [buffer.subarray(0, received - length)];
        buffer = undefined;
      }
      (chunks ??= []).push(Buffer.from(bytes));
    }
    if (isLast) onDone(buffer ? buffer.subarray(0, received) : Buffer.concat(chunks ?? [], received));
  });
}

const bodyless = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS']);

export function listen(options: ListenOptions, handler: RequestHandler): Promise<Listener> {
  const uws = loadUws();
  const app = uws.App();
  const live = new Set<UwsReply>();

  // A throw escaping a uWS callback would take the whole process down: contain it to its request.
  const guarded = (head: IncomingHead, body: Buffer, reply: UwsReply) => {
    try {
      handler(head, body, reply);
    } catch (err) {
      process.emitWarning(`request handler threw: ${(err as Error)?.stack ?? String(err)}`);
      reply.send(500, [['content-type', 'application/json']], internalError);
    }
  };

  app.any('/*', (res, req) => {
    const head = readHead(res, req, options.clientAddress);
    const reply = new UwsReply(res, live, head.method === 'HEAD');
    const declared = head.headers['content-length'];
    if (bodyless.has(head.method) && declared === undefined && head.headers['transfer-encoding'] === undefined) {
      guarded(head, emptyBody, reply);
      return;
    }
    const length = declared === undefined ? 0 : Number(declared);
    if (length > Math.max(options.maxBodyBytes * 4, 64 * 1024 * 1024)) {
      // Too large even to read and drop: answer now and close.
      reply.refuse(options.bodyTooLarge());
      return;
    }
    readBody(
      res,
      Number.isFinite(length) ? length : 0,
      options.maxBodyBytes,
      (body) => guarded(head, body, reply),
      () => reply.refuse(options.bodyTooLarge()),
    );
  });

  return new Promise((resolve, reject) => {
    app.listen(options.host, options.port, (socket) => {
      if (!socket) {
        reject(new Error(`Could not listen on ${options.host}:${options.port} (address in use or not permitted).`));
        return;
      }
      let listenSocket: UwsTypes.us_listen_socket | undefined = socket;
      resolve({
        port: uws.us_socket_local_port(socket as unknown as UwsTypes.us_socket),
        stopAccepting() {
          if (listenSocket) uws.us_listen_socket_close(listenSocket);
          listenSocket = undefined;
        },
        inFlight: () => live.size,
        closeAll() {
          if (listenSocket) uws.us_listen_socket_close(listenSocket);
          listenSocket = undefined;
          for (const reply of [...live]) reply.cutOff();
          (app as unknown as { close?: () => void }).close?.();
        },
      });
    });
  });
}

const emptyBody = Buffer.alloc(0);
const internalError = JSON.stringify({
  error: { message: 'Internal gateway error.', type: 'server_error', param: null, code: 'internal_error' },
});
