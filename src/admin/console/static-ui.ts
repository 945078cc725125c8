// Serves the built admin UI (<build root>/ui/: index.html and assets/*) at /ui/, with security headers.
// The pages hold no data: every /admin/* route they call needs the credential.
import { readFile, stat } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AdminResponse, AdminRoute } from '../../pipeline/stage.js';
import type { HeaderList } from '../../server/http.js';

/** <build root>/ui/ for this compiled module (dist/src/admin/console/ → dist/ui/), so any --outDir works. */
export const defaultUiDir = fileURLToPath(new URL('../../../ui/', import.meta.url));

export const securityHeaders: HeaderList = [
  ['content-security-policy', "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"],
  ['x-content-type-options', 'nosniff'],
  ['referrer-policy', 'no-referrer'],
];

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
};

const immutable = 'public, max-age=31536000, immutable';
/** A content hash in the file name (esbuild's `[name]-[hash]`, or `name.hash.ext`): its bytes never change. */
const hashedName = /[-.][A-Za-z0-9_]{8,}\.[A-Za-z0-9]+$/;

export interface UiOptions {
  /** Directory holding index.html and assets/; default <build root>/ui/. */
  dir?: string;
  /** `admin.ui` of the config serving now (false: the UI is not served). */
  enabled: () => boolean;
}

function textAnswer(status: number, text: string, extra: HeaderList = []): AdminResponse {
  return { status, body: null, text, contentType: 'text/plain; charset=utf-8', headers: [...securityHeaders, ['cache-control', 'no-store'], ...extra] };
}

export class UiAssets {
  readonly dir: string;

  constructor(dir: string = defaultUiDir) {
    this.dir = resolve(dir);
  }

  /**
   * The answer for `rest`, the decoded path below /ui/. Unknown paths outside assets/ get index.html
   * (the UI routes on the client); a missing asset is a 404.
   */
  async serve(rest: string): Promise<AdminResponse> {
    const file = this.resolveInside(rest);
    if (file === undefined) return textAnswer(404, 'Not found.\n');
    const index = resolve(this.dir, 'index.html');
    if (file !== this.dir && (await isFile(file))) return this.fileAnswer(file, file === index);
    if (rest.startsWith('assets/')) return textAnswer(404, `No such UI asset: /ui/${rest}\n`);
    if (!(await isFile(index))) {
      return textAnswer(503, `The admin UI is not built (no ${index}). Build it with \`npm run build\`; the admin API works without it.\n`);
    }
    return this.fileAnswer(index, true);
  }

  /** The file `rest` names inside the UI directory, or undefined when it would leave it (.., NUL, backslash). */
  private resolveInside(rest: string): string | undefined {
    if (rest.includes('\0') || rest.includes('\\')) return undefined;
    if (rest.split('/').some((part) => part === '..')) return undefined;
    const file = resolve(this.dir, rest);
    if (file !== this.dir && !file.startsWith(this.dir + sep)) return undefined;
    return file;
  }

  private async fileAnswer(file: string, isIndex: boolean): Promise<AdminResponse> {
    const bytes = await readFile(file);
    const ext = extname(file).toLowerCase();
    const relative = file.slice(this.dir.length + 1).split(sep).join('/');
    const cache = isIndex ? 'no-store' : relative.startsWith('assets/') && hashedName.test(relative) ? immutable : 'no-cache';
    return {
      status: 200,
      body: null,
      raw: bytes,
      contentType: contentTypes[ext] ?? 'application/octet-stream',
      headers: [...securityHeaders, ['cache-control', cache]],
    };
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** GET /ui/*, GET /ui (→ /ui/) and GET / (→ /ui/); public. */
export function uiRoutes(options: UiOptions): AdminRoute[] {
  const assets = new UiAssets(options.dir);
  const redirect = (): AdminResponse => textAnswer(302, 'See /ui/\n', [['location', '/ui/']]);
  const disabled = () => textAnswer(404, 'The admin UI is turned off (admin.ui: false); the admin API is still served.\n');
  return [
    // Before /ui, whose pattern also matches /ui/.
    { method: 'GET', path: '/ui/*', public: true, handle: (req) => (options.enabled() ? assets.serve(req.params['*'] ?? '') : disabled()) },
    { method: 'GET', path: '/ui', public: true, handle: () => (options.enabled() ? redirect() : disabled()) },
    { method: 'GET', path: '/', public: true, handle: () => (options.enabled() ? redirect() : disabled()) },
  ];
}
