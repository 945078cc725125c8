// The Playground: GET /admin/playground/models and POST /admin/playground/chat, which proxies to the
// public listener on loopback as the Playground identity (or as a key), streaming SSE through with
// backpressure and cancelling the gateway request when the browser goes away.
import { Agent, request } from 'undici';
import type { AdminRequest, AdminResponse, AdminRoute, MainHost } from '../../pipeline/stage.js';
import type { SwitchyardConfig } from '../../config/types.js';
import type { HeaderList, Reply } from '../../server/http.js';
import { errors, GatewayError } from '../../shared/errors.js';

export const playgroundKeyHeader = 'x-switchyard-playground-key';

export interface PlaygroundDeps {
  host: MainHost;
  config: () => SwitchyardConfig;
  publicHost: string;
  publicPort: number;
}

export interface PlaygroundModel {
  name: string;
  /** The provider of its deployments (several: comma-separated, in config order). */
  provider: string;
  deployments: number;
}

/** Where a listener bound to `host` is reached from this process. */
export function loopbackOf(host: string): string {
  if (host === '' || host === '0.0.0.0' || host === '::' || host === '[::]') return '127.0.0.1';
  if (host.includes(':') && !host.startsWith('[')) return `[${host}]`;
  return host;
}

/** Response headers of the gateway passed back to the browser. */
function passedBack(name: string): boolean {
  return name === 'content-type' || name === 'cache-control' || name === 'retry-after' || name === 'x-request-id' || name.startsWith('x-switchyard-') || name.startsWith('x-ratelimit-');
}

export function responseHeaders(upstream: Record<string, string | string[] | undefined>): HeaderList {
  const out: Array<[string, string]> = [['x-content-type-options', 'nosniff']];
  for (const [name, value] of Object.entries(upstream)) {
    if (value === undefined || !passedBack(name.toLowerCase())) continue;
    for (const v of Array.isArray(value) ? value : [value]) out.push([name.toLowerCase(), v]);
  }
  if (!out.some(([n]) => n === 'cache-control')) out.push(['cache-control', 'no-store']);
  return out;
}

export function playgroundModels(config: SwitchyardConfig): PlaygroundModel[] {
  return config.models.map((m) => {
    const providers = m.deployments?.length ? m.deployments.map((d) => d.provider) : m.provider ? [m.provider] : [];
    return { name: m.name, provider: [...new Set(providers)].join(', '), deployments: Math.max(1, m.deployments?.length ?? 1) };
  });
}

function keyIdParam(raw: unknown): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'string' || raw === '') throw errors.invalidParam('key_id', "'key_id' must be a non-empty string: the id of a virtual key.");
  return raw;
}

/** Checks a key id with the limits feature's view of the keys, when it offers one. */
function checkKey(host: MainHost, id: string): { models: readonly string[] | null } | undefined {
  const keyView = host.services?.keyView;
  if (keyView === undefined) return undefined;
  const key = keyView(id);
  if (key === undefined) throw new GatewayError(404, `No virtual key with id '${id}'.`, { param: 'key_id', code: 'not_found' });
  if (key.revoked) throw new GatewayError(400, `The virtual key '${id}' is revoked.`, { param: 'key_id', code: 'key_revoked' });
  return key;
}

export class Playground {
  private readonly agent = new Agent({ keepAliveTimeout: 10_000 });

  constructor(private readonly deps: PlaygroundDeps) {}

  routes(): AdminRoute[] {
    return [
      { method: 'GET', path: '/admin/playground/models', handle: (req) => this.models(req) },
      {
        method: 'POST',
        path: '/admin/playground/chat',
        handle: (req) => this.chatBuffered(req),
        stream: (req, reply) => this.chatStreamed(req, reply),
      },
    ];
  }

  /** At shutdown: open Playground streams are cut rather than waited for. */
  async close(): Promise<void> {
    await this.agent.destroy();
  }

  private models(req: AdminRequest): AdminResponse {
    const all = playgroundModels(this.deps.config());
    // Where the public listener is, for the code snippets the UI shows (as configured: 0.0.0.0 means any address).
    const gateway = { host: this.deps.publicHost, port: this.deps.publicPort };
    const keyId = keyIdParam(req.query.get('key_id') ?? undefined);
    if (keyId === undefined) return { status: 200, body: { data: all, gateway } };
    const key = checkKey(this.deps.host, keyId);
    if (key === undefined) {
      throw new GatewayError(503, 'Keys cannot be looked up here: the limits feature offers no key view.', { type: 'api_error', param: 'key_id', code: 'key_lookup_unavailable' });
    }
    const allowed = key.models;
    return { status: 200, body: { data: allowed === null ? all : all.filter((m) => allowed.includes(m.name)), gateway } };
  }

  /** The request to the public listener: the chat body without `key_id`, as the Playground identity. */
  private upstreamRequest(req: AdminRequest): { url: string; headers: Record<string, string>; body: string } {
    const body = req.body;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw errors.invalidParam('body', 'The body must be a JSON object: an OpenAI chat-completions request, plus an optional "key_id".');
    }
    const { key_id: rawKeyId, ...chat } = body as Record<string, unknown>;
    const keyId = keyIdParam(rawKeyId);
    if (keyId !== undefined) checkKey(this.deps.host, keyId);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const token = this.deps.host.playgroundToken;
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    if (keyId !== undefined) headers[playgroundKeyHeader] = keyId;
    const url = `http://${loopbackOf(this.deps.publicHost)}:${this.deps.publicPort}/v1/chat/completions`;
    return { url, headers, body: JSON.stringify(chat) };
  }

  private async send(req: AdminRequest, signal?: AbortSignal): Promise<Awaited<ReturnType<typeof request>>> {
    const { url, headers, body } = this.upstreamRequest(req);
    try {
      return await request(url, { method: 'POST', headers, body, dispatcher: this.agent, signal });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new GatewayError(502, `The Playground could not reach the gateway's public listener: ${(err as Error).message}`, {
        type: 'api_error',
        code: 'playground_unreachable',
      });
    }
  }

  /** The streaming form: status and headers as the gateway sent them, then its body chunk by chunk. */
  private async chatStreamed(req: AdminRequest, reply: Reply): Promise<void> {
    const controller = new AbortController();
    reply.onAbort(() => controller.abort());
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await this.send(req, controller.signal);
    } catch (err) {
      if (reply.done) return;
      throw err;
    }
    if (reply.done) {
      res.body.destroy();
      return;
    }
    reply.start(res.statusCode, responseHeaders(res.headers));
    const body = res.body;
    await new Promise<void>((resolve) => {
      body.on('data', (chunk: Buffer) => {
        if (reply.write(chunk) || reply.done) return;
        // The browser reads slower than the gateway writes: hold the gateway's stream until it catches up.
        body.pause();
        reply.onDrain(() => body.resume());
      });
      body.on('end', () => {
        reply.end();
        resolve();
      });
      body.on('error', () => {
        // Aborted by the browser (the reply is done already) or cut by the gateway: the browser sees the cut.
        reply.destroy();
        resolve();
      });
    });
  }

  /** The buffered form, for hosts that cannot stream: the whole answer at once. */
  private async chatBuffered(req: AdminRequest): Promise<AdminResponse> {
    const res = await this.send(req);
    const raw = Buffer.from(await res.body.arrayBuffer());
    const headers = responseHeaders(res.headers);
    const contentType = headers.find(([n]) => n === 'content-type')?.[1] ?? 'application/octet-stream';
    return { status: res.statusCode, body: null, raw, contentType, headers: headers.filter(([n]) => n !== 'content-type') };
  }
}
