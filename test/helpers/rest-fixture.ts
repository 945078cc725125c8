// A small real REST API on node:http for the OpenAPI → MCP tests: the petstore and catalog operations of
// test/fixtures/mcp/, a redirect, a huge and a slow answer, an OAuth 2 token endpoint issuing expiring
// tokens, and a record of exactly what every request carried.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** The request target exactly as received. */
  url: string;
  /** Its path part, still percent-encoded. */
  path: string;
  query: Record<string, string[]>;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface RestFixture {
  origin: string;
  /** Every API request (the token endpoint's are in tokenRequests), in arrival order. */
  requests: RecordedRequest[];
  tokenRequests: RecordedRequest[];
  /** API calls must carry a live token from the token endpoint, else 401. */
  requireToken: boolean;
  /** expires_in of the tokens issued from now on; undefined leaves it out of the answer. */
  tokenLifetimeS: number | undefined;
  /** How /v1/slow waits before answering. */
  slowMs: number;
  /** Served at their path with GET (specs for spec_url); `/specs/moved` answers 302 to `/specs/petstore.yaml`. */
  readonly files: Map<string, string>;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Every token issued so far stops being accepted (as after a key rotation on the server). */
  invalidateTokens(): void;
  /** Requests whose path (encoded, query excluded) is `path`. */
  hits(path: string): RecordedRequest[];
  reset(): void;
  close(): Promise<void>;
}

export const hugeBodyBytes = 2 * 1024 * 1024;

const pet = { id: 1, name: 'Rex', tag: null, status: 'available' };
const category = { id: 7, name: 'Toys', description: null, children: [{ id: 8, name: 'Balls', children: [{ id: 9, name: 'Tennis' }] }] };

function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  const type = body === undefined ? {} : { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json' };
  res.writeHead(status, { ...type, ...headers, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function queryOf(url: string): Record<string, string[]> {
  const query: Record<string, string[]> = {};
  const index = url.indexOf('?');
  if (index < 0) return query;
  for (const [key, value] of new URLSearchParams(url.slice(index + 1))) (query[key] ??= []).push(value);
  return query;
}

export async function startRestFixture(): Promise<RestFixture> {
  /** Live tokens → when they expire (ms since the epoch). */
  const live = new Map<string, number>();
  let issued = 0;
  const pendingSlow = new Set<NodeJS.Timeout>();

  const fixture: RestFixture = {
    origin: '',
    requests: [],
    tokenRequests: [],
    requireToken: false,
    tokenLifetimeS: 3600,
    slowMs: 5000,
    files: new Map(),
    clientId: 'gw-client',
    clientSecret: 'gw-secret-s3cr3t',
    invalidateTokens: () => live.clear(),
    hits: (path) => fixture.requests.filter((r) => r.path === path),
    reset: () => {
      fixture.requests.length = 0;
      fixture.tokenRequests.length = 0;
      fixture.requireToken = false;
      fixture.tokenLifetimeS = 3600;
      fixture.slowMs = 5000;
      live.clear();
      issued = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of pendingSlow) clearTimeout(timer);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };

  function token(req: RecordedRequest, res: ServerResponse): void {
    fixture.tokenRequests.push(req);
    const form = new URLSearchParams(req.body);
    let id = form.get('client_id');
    let secret = form.get('client_secret');
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
    if (basic) {
      const [rawId, rawSecret] = Buffer.from(basic[1], 'base64').toString('utf8').split(':');
      id = decodeURIComponent(rawId.replace(/\+/g, ' '));
      secret = decodeURIComponent((rawSecret ?? '').replace(/\+/g, ' '));
    }
    if (form.get('grant_type') !== 'client_credentials') return send(res, 400, { error: 'unsupported_grant_type' });
    if (id !== fixture.clientId || secret !== fixture.clientSecret) return send(res, 401, { error: 'invalid_client' });
    const value = `tok-${++issued}-${'0123456789abcdef'.repeat(2)}`;
    live.set(value, fixture.tokenLifetimeS === undefined ? Infinity : Date.now() + fixture.tokenLifetimeS * 1000);
    const answer: Record<string, unknown> = { access_token: value, token_type: 'Bearer' };
    if (fixture.tokenLifetimeS !== undefined) answer.expires_in = fixture.tokenLifetimeS;
    send(res, 200, answer, { 'cache-control': 'no-store' });
  }

  function api(req: RecordedRequest, res: ServerResponse): void {
    fixture.requests.push(req);
    if (fixture.requireToken) {
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
      if (!bearer || !((live.get(bearer[1]) ?? 0) > Date.now())) return send(res, 401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
    }
    // The segment after a collection name is the id: /v1/pets/:id, /v1/store/orders/:id, /v1/categories/:id/items.
    const segments = req.path.split('/').slice(1);
    const idAt = segments.findIndex((_, i) => i >= 2 && /^(pets|categories|reports|orders)$/.test(segments[i - 1]));
    const route = `${req.method} /${segments.map((s, i) => (i === idAt ? ':id' : s)).join('/')}`;
    let id = idAt < 0 ? '' : segments[idAt];
    try {
      id = decodeURIComponent(id);
    } catch {
      // Kept encoded.
    }
    switch (route) {
      case 'GET /v1/pets':
        return send(res, 200, [pet]);
      case 'POST /v1/pets':
        return send(res, 201, { id: 42, ...JSON.parse(req.body) });
      case 'GET /v1/pets/:id':
        if (id === '1') return send(res, 200, pet);
        if (id === 'odd') return send(res, 200, { id: 'not-a-number', name: 'Odd' });
        if (id === 'text') return send(res, 200, 'just text');
        return send(res, 404, { error: `pet ${id} not found`, padding: 'x'.repeat(4096) });
      case 'DELETE /v1/pets/:id':
        return send(res, 204);
      case 'GET /v1/store/inventory':
        return send(res, 200, { available: 3, sold: 1 });
      case 'PUT /v1/store/orders/:id':
        return send(res, 200, { id: Number(id), ...JSON.parse(req.body || '{}') });
      case 'GET /v1/admin/stats':
        return send(res, 200, { secret: 'admin-only' });
      case 'GET /v1/redirect':
        return send(res, 302, undefined, { location: '/v1/admin/stats' });
      case 'GET /v1/echo-headers':
        return send(res, 200, req.headers);
      case 'GET /v1/huge': {
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(64 * 1024, 'a');
        res.write('{"data":"');
        for (let sent = 0; sent < hugeBodyBytes; sent += chunk.length) res.write(chunk);
        return void res.end('"}');
      }
      case 'GET /v1/slow': {
        const timer = setTimeout(() => {
          pendingSlow.delete(timer);
          send(res, 200, { slow: true });
        }, fixture.slowMs);
        pendingSlow.add(timer);
        res.on('close', () => clearTimeout(timer));
        return;
      }
      case 'GET /v1/categories/:id':
        return send(res, 200, category);
      case 'POST /v1/categories':
        return send(res, 201, { id: 10, ...JSON.parse(req.body) });
      case 'GET /v1/categories/:id/items':
        return send(res, 200, { items: [{ sku: 'ball-1', price: 2.5 }], next: null });
      case 'GET /v1/reports/:id':
        return send(res, 200, JSON.stringify({ id, rows: 3 }), { 'content-type': 'application/vnd.catalog.report+json' });
      case 'POST /v1/trees':
        return send(res, 204);
      default:
        return send(res, 404, { error: `no route ${route}` });
    }
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = req.url ?? '';
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        url,
        path: url.split('?')[0],
        query: queryOf(url),
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      if (recorded.path === '/oauth/token' && recorded.method === 'POST') token(recorded, res);
      else if (recorded.path === '/specs/moved') send(res, 302, undefined, { location: '/specs/petstore.yaml' });
      else if (fixture.files.has(recorded.path)) send(res, 200, fixture.files.get(recorded.path), { 'content-type': 'application/yaml' });
      else api(recorded, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fixture.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fixture;
}
