// The only module that touches uWebSockets.js. It turns uWS callbacks into IncomingHead + body + Reply.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type * as UwsTypes from 'uWebSockets.js';
import { clientAddressText } from './client-address.js';
import { HeadScan } from './head-check.js';
import { chooseUws, describeFailure, uwsBuilds, type UwsBuild, type UwsProbe, type UwsTarget } from './uws-candidates.js';
import { errors } from '../shared/errors.js';
import {
  statusLine,
  type HeadRefusal,
  type HeaderList,
  type IncomingHead,
  type Listener,
  type ListenOptions,
  type Reply,
  type RequestHandler,
} from './http.js';

type Uws = typeof UwsTypes;
let loaded: { module: Uws; build: UwsBuild; version: string } | undefined;

/**
 * Loads the native uWS binary of the first build in `uwsBuilds` that has one for this Node ABI and
 * loads here, or throws an error naming every build tried and why it did not. Binaries are loaded
 * directly, never through a package's entry file: some builds fall back there to a pure-JS server
 * many times slower, which Switchyard refuses to run on. SWITCHYARD_UWS_BUILD=<alias> tries that one only.
 */
export function loadUws(): Uws {
  if (loaded) return loaded.module;
  const target = currentTarget();
  const only = process.env.SWITCHYARD_UWS_BUILD || undefined;
  const choice = chooseUws(uwsBuilds, target, nodeProbe, only);
  if (!choice.ok) throw new Error(describeFailure(target, choice.attempts, only));
  loaded = { module: choice.module, build: choice.build, version: choice.version };
  return choice.module;
}

/** The build serving in this thread, once loadUws has run (for the start-up log). */
export function uwsBuildInUse(): { alias: string; registryPackage: string; version: string; upstream: string } | undefined {
  return loaded && { alias: loaded.build.alias, registryPackage: loaded.build.registryPackage, version: loaded.version, upstream: loaded.build.upstream };
}

function currentTarget(): UwsTarget {
  return {
    platform: process.platform,
    arch: process.arch,
    abi: process.versions.modules,
    nodeVersion: process.version,
    // Read only when an error message needs it: a diagnostic report costs milliseconds.
    get glibc() {
      const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
      return report?.header?.glibcVersionRuntime;
    },
  };
}

const requireHere = createRequire(import.meta.url);

/** The probe over the installed packages and Node's loader (exported for the selection tests). */
export const nodeProbe: UwsProbe<Uws> = {
  locate(alias) {
    // Through the package folders Node would search, not require.resolve: a package's `exports` may hide package.json.
    for (const base of requireHere.resolve.paths(alias) ?? []) {
      try {
        const pkg = JSON.parse(readFileSync(join(base, alias, 'package.json'), 'utf8')) as { version?: string };
        return { dir: join(base, alias), version: pkg.version ?? 'unknown version' };
      } catch {
        // not in this folder
      }
    }
    return undefined;
  },
  list(dir) {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  },
  load(path, build) {
    // Read once, when the binary loads: set from the main thread, which loads it first (main.ts).
    for (const [name, value] of Object.entries(build.environment ?? {})) process.env[name] ??= value;
    return requireHere(path) as Uws;
  },
  isNative: (mod) => typeof mod?.App === 'function' && Function.prototype.toString.call(mod.App).includes('[native code]'),
};

/** The responses not yet ended, and when one last started or ended (a drain waits for quiet). */
class LiveReplies extends Set<UwsReply> {
  lastActivity = performance.now();
}

class UwsReply implements Reply {
  done = false;
  private abortCallbacks: Array<() => void> | undefined;
  private drainCallback: (() => void) | undefined;
  private pendingHead: { status: number; headers: HeaderList } | undefined;
  private closeAfterEnd = false;
  /** The head has been written and the body goes out in chunks. */
  private streaming = false;

  constructor(
    private readonly res: UwsTypes.HttpResponse,
    private readonly live: LiveReplies,
    /** A HEAD request: the answer carries the body's length but never its bytes. */
    private readonly headOnly: boolean,
  ) {
    live.add(this);
    live.lastActivity = performance.now();
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
      res.cork(() => this.writePendingHead(res, true));
    });
  }

  write(chunk: string | Uint8Array): boolean {
    if (this.done) return true;
    const res = this.res;
    let ok = true;
    res.cork(() => {
      this.writePendingHead(res, true);
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
      if (this.streaming) res.end(chunk);
      else {
        this.writePendingHead(res, false);
        res.end(chunk, this.closeAfterEnd);
      }
    });
  }

  /** `streamed`: chunks follow, so the response cannot be ended with uWS's close flag (see below). */
  private writePendingHead(res: UwsTypes.HttpResponse, streamed: boolean): void {
    const head = this.pendingHead;
    if (head === undefined) return;
    this.pendingHead = undefined;
    writeHead(res, head.status, head.headers);
    if (!streamed) return;
    // This uWS build's end(data, true) writes its Connection header wherever the response is, which
    // after a chunked body lands inside it; so a streamed answer announces the close in its head and
    // the client closes the connection after the last chunk.
    if (this.closeAfterEnd) res.writeHeader('connection', 'close');
    this.streaming = true;
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
    this.live.lastActivity = performance.now();
  }
}

function writeHead(res: UwsTypes.HttpResponse, status: number, headers: HeaderList): void {
  res.writeStatus(statusLine(status));
  for (let i = 0; i < headers.length; i++) res.writeHeader(headers[i][0], headers[i][1]);
}

/** The checks of the head readHead last read (one thread, one head at a time). */
const scan = new HeadScan();

function readHead(res: UwsTypes.HttpResponse, req: UwsTypes.HttpRequest, clientAddress: boolean): IncomingHead {
  const headers: Record<string, string> = {};
  const method = req.getCaseSensitiveMethod();
  const path = req.getUrl();
  const query = req.getQuery() ?? '';
  scan.start(method, path, query);
  req.forEach((key, value) => {
    headers[key] = value;
    scan.header(key, value);
  });
  return {
    method: method.toUpperCase(),
    path,
    query,
    headers,
    remoteAddress: clientAddress ? clientAddressText(res.getRemoteAddress()) : '',
  };
}

/**
 * Collects the request body. Past maxBytes the rest is read and dropped (up to discardBytes) before
 * onTooLarge runs, so a client still sending can read the answer instead of hitting a reset;
 * `readToEnd` tells whether the client sent all of it (else it passed discardBytes and is still sending).
 */
function readBody(
  res: UwsTypes.HttpResponse,
  declaredLength: number,
  maxBytes: number,
  discardBytes: number,
  onDone: (body: Buffer) => void,
  onTooLarge: (readToEnd: boolean) => void,
): void {
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
        onTooLarge(isLast);
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
  const live = new LiveReplies();

  // A throw escaping a uWS callback would take the whole process down: contain it to its request.
  const guarded = (head: IncomingHead, body: Buffer, reply: UwsReply, refused?: HeadRefusal) => {
    try {
      handler(head, body, reply, refused);
    } catch (err) {
      process.emitWarning(`request handler threw: ${(err as Error)?.stack ?? String(err)}`);
      reply.send(500, [['content-type', 'application/json']], internalError);
    }
  };

  const discardBytes = Math.max(options.maxBodyBytes * 4, 64 * 1024 * 1024);
  const maxHeadBytes = options.maxHeadBytes ?? 16 * 1024;
  const refuseHead = (status: 400 | 431, message: string) => {
    const error = errors.invalidHead(status, message);
    return { status, headers: [['content-type', 'application/json']] as HeaderList, body: error.toJSON() };
  };

  app.any('/*', (res, req) => {
    const head = readHead(res, req, options.clientAddress);
    const reply = new UwsReply(res, live, head.method === 'HEAD');
    if (scan.bytes > maxHeadBytes || scan.problem !== undefined) {
      const answer =
        scan.problem === undefined ? refuseHead(431, `Request line and headers exceed the limit of ${maxHeadBytes} bytes.`) : refuseHead(400, scan.problem);
      // Answered on the next turn of the loop, not now: answered within this callback, this uWS build
      // goes on to serve a request already buffered behind this one (a smuggled request) and keeps the
      // connection open; while an answer is pending it closes the connection when such a request comes.
      setImmediate(() => reply.refuse(answer));
      return;
    }
    const refused = options.screen?.(head);
    const declared = head.headers['content-length'];
    if (bodyless.has(head.method) && declared === undefined && head.headers['transfer-encoding'] === undefined) {
      guarded(head, emptyBody, reply, refused);
      return;
    }
    const length = declared === undefined ? 0 : Number(declared);
    if (refused !== undefined) {
      const answerAndClose = () => {
        reply.closeWhenDone();
        guarded(head, emptyBody, reply, refused);
      };
      const answer = () => guarded(head, emptyBody, reply, refused);
      // Nothing of the body is kept (at most 0 bytes): it is read and dropped, or too much of it closes the connection.
      if (length > discardBytes) answerAndClose();
      else readBody(res, 0, 0, discardBytes, answer, (readToEnd) => (readToEnd ? answer() : answerAndClose()));
      return;
    }
    if (length > discardBytes) {
      // Too large even to read and drop: answer now and close.
      reply.refuse(options.bodyTooLarge(head));
      return;
    }
    readBody(
      res,
      Number.isFinite(length) ? length : 0,
      options.maxBodyBytes,
      discardBytes,
      (body) => guarded(head, body, reply),
      () => reply.refuse(options.bodyTooLarge(head)),
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
        quietForMs: () => (live.size > 0 ? 0 : performance.now() - live.lastActivity),
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
