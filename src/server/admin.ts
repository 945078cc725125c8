// The admin listener (main thread): health, readiness and the routes features register (keys, metrics, audit).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AdminRequest, AdminResponse, AdminRoute } from '../pipeline/stage.js';
import { errors, GatewayError } from '../shared/errors.js';
import { log } from '../shared/log.js';
import type { IncomingHead, Listener, Reply } from './http.js';
import { listen } from './uws.js';

interface CompiledRoute {
  route: AdminRoute;
  pattern: RegExp;
  params: string[];
}

const jsonType: [string, string] = ['content-type', 'application/json'];

function compile(route: AdminRoute): CompiledRoute {
  const params: string[] = [];
  const source = route.path
    .split('/')
    .map((part) => {
      if (!part.startsWith(':')) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      params.push(part.slice(1));
      return '([^/]+)';
    })
    .join('/');
  return { route, pattern: new RegExp(`^${source}/?$`), params };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
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
  private readonly tokenDigest: Buffer;
  private listener: Listener | undefined;

  constructor(
    token: string,
    private readonly isReady: () => boolean,
  ) {
    this.tokenDigest = digest(token);
  }

  add(route: AdminRoute): void {
    this.routes.push(compile(route));
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
          return { status: error.status, headers: [jsonType], body: error.toJSON() };
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

  private authorised(head: IncomingHead): boolean {
    const header = head.headers.authorization ?? '';
    const given = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
    return given !== '' && timingSafeEqual(digest(given), this.tokenDigest);
  }

  private async handle(head: IncomingHead, body: Buffer, reply: Reply): Promise<void> {
    try {
      if (head.path === '/healthz') return reply.send(200, [jsonType], '{"status":"ok"}');
      if (head.path === '/readyz') {
        const ready = this.isReady();
        return reply.send(ready ? 200 : 503, [jsonType], ready ? '{"status":"ready"}' : '{"status":"not ready"}');
      }
      let pathMatched = false;
      for (const { route, pattern, params } of this.routes) {
        const match = pattern.exec(head.path);
        if (!match) continue;
        pathMatched = true;
        if (route.method !== head.method) continue;
        if (!route.public && !this.authorised(head)) {
          throw new GatewayError(401, 'Missing or invalid admin token (Authorization: Bearer <token>).', {
            type: 'authentication_error',
            code: 'invalid_admin_token',
          });
        }
        const request: AdminRequest = {
          method: head.method,
          path: head.path,
          params: Object.fromEntries(params.map((name, i) => [name, decodeParam(name, match[i + 1])])),
          query: new URLSearchParams(head.query),
          headers: head.headers,
          body: parseBody(body),
          actor: route.public ? { name: 'public', readOnly: true } : { name: 'admin', readOnly: false },
        };
        const response = await route.handle(request);
        if (reply.done) return;
        return sendResponse(reply, response);
      }
      throw pathMatched ? errors.methodNotAllowed(head.method, head.path, this.methodsFor(head.path)) : errors.notFound(head.method, head.path);
    } catch (err) {
      const error = err instanceof GatewayError ? err : errors.internal('admin route failed');
      if (!(err instanceof GatewayError)) log.error('admin route failed', { path: head.path, error: (err as Error)?.stack });
      reply.send(error.status, [jsonType, ...Object.entries(error.headers ?? {})], error.toJSON());
    }
  }

  private methodsFor(path: string): string {
    return this.routes
      .filter((r) => r.pattern.test(path))
      .map((r) => r.route.method)
      .join(', ');
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
  if (response.text !== undefined) {
    reply.send(response.status, [['content-type', response.contentType ?? 'text/plain; charset=utf-8']], response.text);
    return;
  }
  reply.send(response.status, [jsonType], response.status === 204 ? '' : JSON.stringify(response.body));
}
