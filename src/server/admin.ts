// The admin listener (main thread): health, readiness, admin credentials and sessions, and the routes
// features register (keys, metrics, audit, the console). Separate from the public listener.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AdminAuth } from '../admin/console/auth.js';
import type { AdminTokenSource } from '../admin/console/credentials.js';
import { sessionRoutes } from '../admin/console/session-routes.js';
import type { AdminActor, AdminRequest, AdminResponse, AdminRoute } from '../pipeline/stage.js';
import { errors, GatewayError } from '../shared/errors.js';
import { log } from '../shared/log.js';
import type { HeaderList, IncomingHead, Listener, Reply } from './http.js';
import { listen } from './uws.js';

interface CompiledRoute {
  route: AdminRoute;
  pattern: RegExp;
  params: string[];
}

const jsonType: [string, string] = ['content-type', 'application/json'];
// Admin answers hold configuration and usage: never cached, never sniffed into something else.
const dataHeaders: HeaderList = [jsonType, ['cache-control', 'no-store'], ['x-content-type-options', 'nosniff']];
const publicActor: AdminActor = { name: 'public', readOnly: true };

function compile(route: AdminRoute): CompiledRoute {
  const params: string[] = [];
  const parts = route.path.split('/');
  const wildcard = parts[parts.length - 1] === '*';
  if (wildcard) parts.pop();
  const source = parts
    .map((part) => {
      if (!part.startsWith(':')) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      params.push(part.slice(1));
      return '([^/]+)';
    })
    .join('/');
  if (wildcard) {
    params.push('*');
    return { route, pattern: new RegExp(`^${source}/(.*)$`), params };
  }
  return { route, pattern: new RegExp(`^${source}/?$`), params };
}

/**
 * The admin token: from config or SWITCHYARD_ADMIN_TOKEN, else one generated on first start and kept
 * in <data_dir>/admin.token (mode 0600) so it survives restarts.
 */
export function resolveAdminToken(configured: string | undefined, dataDir: string): { token: string; source: string } {
  if (configured) return { token: configured, source: 'config' };
  const fromEnv = process.env.SWITCHYARD_ADMIN_TOKEN;
  if (fromEnv) return { token: fromEnv, source: 'SWITCHYARD_ADMIN_TOKEN' };
  const file = join(dataDir, 'admin.token');
  if (existsSync(file)) return { token: readFileSync(file, 'utf8').trim(), source: file };
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const token = `sy-admin-${randomBytes(24).toString('base64url')}`;
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return { token, source: file };
}

export class AdminServer {
  private readonly routes: CompiledRoute[] = [];
  /** Credentials and sessions; the console points it at the config's `admin.tokens`. */
  readonly auth: AdminAuth;
  private listener: Listener | undefined;

  constructor(
    token: string,
    private readonly isReady: () => boolean,
  ) {
    this.auth = new AdminAuth(token);
    for (const route of sessionRoutes(this.auth)) this.add(route);
  }

  add(route: AdminRoute): void {
    this.routes.push(compile(route));
  }

  /** Where `admin.token` / `admin.tokens` are read from on each request (the config serving now). */
  useTokens(source: () => AdminTokenSource | undefined): void {
    this.auth.useTokens(source);
  }

  async listen(host: string, port: number): Promise<number> {
    this.listener = await listen(
      {
        host,
        port,
        clientAddress: false,
        maxBodyBytes: 4 * 1024 * 1024,
        bodyTooLarge: () => {
          const error = errors.bodyTooLarge(4 * 1024 * 1024);
          return { status: error.status, headers: dataHeaders, body: error.toJSON() };
        },
      },
      (head, body, reply) => void this.handle(head, body, reply),
    );
    return this.listener.port;
  }

  close(): void {
    this.listener?.closeAll();
    this.listener = undefined;
  }

  private async handle(head: IncomingHead, body: Buffer, reply: Reply): Promise<void> {
    const tracked = new TrackedReply(reply);
    try {
      if (head.path === '/healthz') return reply.send(200, [jsonType], '{"status":"ok"}');
      if (head.path === '/readyz') {
        const ready = this.isReady();
        return reply.send(ready ? 200 : 503, [jsonType], ready ? '{"status":"ready"}' : '{"status":"not ready"}');
      }
      // A HEAD is a GET whose body the listener leaves out.
      const method = head.method === 'HEAD' ? 'GET' : head.method;
      let pathMatched = false;
      for (const { route, pattern, params } of this.routes) {
        const match = pattern.exec(head.path);
        if (!match) continue;
        pathMatched = true;
        if (route.method !== method) continue;
        let actor = publicActor;
        if (!route.public) {
          const auth = this.auth.authenticate(head.headers);
          this.auth.authorise(auth, method, head.path, head.headers);
          actor = auth.actor;
        }
        const request: AdminRequest = {
          method,
          path: head.path,
          params: Object.fromEntries(params.map((name, i) => [name, decodeParam(name, match[i + 1])])),
          query: new URLSearchParams(head.query),
          headers: head.headers,
          body: parseBody(body),
          actor,
        };
        if (route.stream) return await route.stream(request, tracked);
        const response = await route.handle(request);
        if (reply.done) return;
        return sendResponse(reply, response);
      }
      throw pathMatched ? errors.methodNotAllowed(head.method, head.path, this.methodsFor(head.path)) : errors.notFound(head.method, head.path);
    } catch (err) {
      const error = err instanceof GatewayError ? err : errors.internal('admin route failed');
      if (!(err instanceof GatewayError)) log.error('admin route failed', { path: head.path, error: (err as Error)?.stack });
      // A streaming route that has begun its answer cannot switch to an error: the client sees the cut.
      if (tracked.started) return reply.destroy();
      reply.send(error.status, [...dataHeaders, ...Object.entries(error.headers ?? {})], error.toJSON());
    }
  }

  private methodsFor(path: string): string {
    return this.routes
      .filter((r) => r.pattern.test(path))
      .map((r) => r.route.method)
      .join(', ');
  }
}

/** The reply a streaming route gets: remembers whether the answer has begun. */
class TrackedReply implements Reply {
  started = false;
  constructor(private readonly reply: Reply) {}
  get done(): boolean {
    return this.reply.done;
  }
  onAbort(cb: () => void): void {
    this.reply.onAbort(cb);
  }
  send(status: number, headers: HeaderList, body: string | Uint8Array): void {
    this.started = true;
    this.reply.send(status, headers, body);
  }
  start(status: number, headers: HeaderList): void {
    this.started = true;
    this.reply.start(status, headers);
  }
  write(chunk: string | Uint8Array): boolean {
    this.started = true;
    return this.reply.write(chunk);
  }
  onDrain(cb: () => void): void {
    this.reply.onDrain(cb);
  }
  end(chunk?: string | Uint8Array): void {
    this.started = true;
    this.reply.end(chunk);
  }
  destroy(): void {
    this.started = true;
    this.reply.destroy();
  }
  closeWhenDone(): void {
    this.reply.closeWhenDone();
  }
}

function decodeParam(name: string, raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new GatewayError(400, `The URL path has malformed percent-encoding in '${name}': ${raw}.`, { param: name, code: 'invalid_url' });
  }
}

function parseBody(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw errors.badJson((err as Error).message);
  }
}

function sendResponse(reply: Reply, response: AdminResponse): void {
  const extra = response.headers ?? [];
  if (response.text !== undefined || response.raw !== undefined) {
    const contentType: [string, string] = ['content-type', response.contentType ?? (response.text !== undefined ? 'text/plain; charset=utf-8' : 'application/octet-stream')];
    reply.send(response.status, [contentType, ...extra], response.text ?? response.raw ?? '');
    return;
  }
  reply.send(response.status, [...dataHeaders, ...extra], response.status === 204 ? '' : JSON.stringify(response.body));
}
