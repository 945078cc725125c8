// The admin UI's static serving on a real admin listener: content types, cache headers, security
// headers, client routing, no path traversal, and the answers when the UI is missing or turned off.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdminServer } from '../../src/server/admin.js';
import { defaultUiDir, uiRoutes } from '../../src/admin/console/static-ui.js';

const csp = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";
const indexHtml = '<!doctype html><title>Switchyard</title><script type="module" src="/ui/assets/app-5FQGJ4XK.js"></script>';
const appJs = 'console.log("switchyard ui")';
const pngBytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 1, 2, 255]);

interface Fixture {
  root: string;
  uiDir: string;
  url: string;
  port: number;
  enabled: { on: boolean };
  close(): void;
}

async function start(build = true): Promise<Fixture> {
  const root = mkdtempSync(join(tmpdir(), 'sy-ui-'));
  const uiDir = join(root, 'ui');
  // A secret next to the UI directory: traversal must never reach it.
  writeFileSync(join(root, 'admin.token'), 'sy-admin-secret-token\n');
  if (build) {
    mkdirSync(join(uiDir, 'assets'), { recursive: true });
    writeFileSync(join(uiDir, 'index.html'), indexHtml);
    writeFileSync(join(uiDir, 'assets', 'app-5FQGJ4XK.js'), appJs);
    writeFileSync(join(uiDir, 'assets', 'app-5FQGJ4XK.css'), 'body{margin:0}');
    writeFileSync(join(uiDir, 'assets', 'logo.png'), pngBytes);
    writeFileSync(join(uiDir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  }
  const enabled = { on: true };
  const admin = new AdminServer('admin-token-0123456789abcdef', () => true);
  for (const route of uiRoutes({ dir: uiDir, enabled: () => enabled.on })) admin.add(route);
  admin.add({ method: 'GET', path: '/admin/data', handle: () => ({ status: 200, body: { secret: true } }) });
  const port = await admin.listen('127.0.0.1', 0);
  return { root, uiDir, port, url: `http://127.0.0.1:${port}`, enabled, close: () => (admin.close(), rmSync(root, { recursive: true, force: true })) };
}

/** A GET with the path sent exactly as written (fetch would normalise `..`). */
function rawGet(port: number, path: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

function assertSecurityHeaders(headers: Headers, what: string): void {
  assert.equal(headers.get('content-security-policy'), csp, what);
  assert.equal(headers.get('x-content-type-options'), 'nosniff', what);
  assert.equal(headers.get('referrer-policy'), 'no-referrer', what);
}

test('the UI directory is <build root>/ui next to the compiled src/', () => {
  // This test runs from <build root>/test/unit/, the module from <build root>/src/admin/console/.
  assert.equal(defaultUiDir, join(new URL('../../', import.meta.url).pathname, 'ui') + '/');
});

test('index.html (no-store) and hashed assets (immutable) with their content types and security headers, without a credential', async () => {
  const f = await start();
  try {
    const index = await fetch(`${f.url}/ui/`);
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(index.headers.get('cache-control'), 'no-store');
    assertSecurityHeaders(index.headers, '/ui/');
    assert.equal(await index.text(), indexHtml);

    const js = await fetch(`${f.url}/ui/assets/app-5FQGJ4XK.js`);
    assert.equal(js.status, 200);
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.match(js.headers.get('cache-control') ?? '', /immutable/);
    assertSecurityHeaders(js.headers, 'asset');
    assert.equal(await js.text(), appJs);

    const css = await fetch(`${f.url}/ui/assets/app-5FQGJ4XK.css`);
    assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8');

    const png = await fetch(`${f.url}/ui/assets/logo.png`);
    assert.equal(png.headers.get('content-type'), 'image/png');
    assert.equal(png.headers.get('cache-control'), 'no-cache', 'a name without a hash may change: revalidated');
    assert.deepEqual(Buffer.from(await png.arrayBuffer()), pngBytes, 'binary bytes unchanged');

    const svg = await fetch(`${f.url}/ui/favicon.svg`);
    assert.equal(svg.headers.get('content-type'), 'image/svg+xml');

    const head = await fetch(`${f.url}/ui/assets/app-5FQGJ4XK.js`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(Buffer.byteLength(appJs)));

    // The pages are public; the data is not.
    assert.equal((await fetch(`${f.url}/admin/data`)).status, 401);
  } finally {
    f.close();
  }
});

test('client routes get index.html, a missing asset is a 404, / and /ui redirect to /ui/', async () => {
  const f = await start();
  try {
    for (const path of ['/ui/dashboard', '/ui/keys/abc/edit', '/ui/playground?model=x']) {
      const res = await fetch(`${f.url}${path}`);
      assert.equal(res.status, 200, path);
      assert.equal(await res.text(), indexHtml, path);
      assert.equal(res.headers.get('cache-control'), 'no-store');
    }
    const missing = await fetch(`${f.url}/ui/assets/gone-ABCDEFGH.js`);
    assert.equal(missing.status, 404);
    assert.notEqual(missing.headers.get('content-type'), 'text/javascript; charset=utf-8');
    for (const path of ['/', '/ui']) {
      const res = await fetch(`${f.url}${path}`, { redirect: 'manual' });
      assert.equal(res.status, 302, path);
      assert.equal(res.headers.get('location'), '/ui/');
      assertSecurityHeaders(res.headers, path);
    }
  } finally {
    f.close();
  }
});

test('no path traversal: .., encoded .., backslashes and absolute paths never leave the UI directory', async () => {
  const f = await start();
  try {
    const attempts = [
      '/ui/../admin.token',
      '/ui/assets/../../admin.token',
      '/ui/%2e%2e/admin.token',
      '/ui/assets/..%2f..%2fadmin.token',
      '/ui/%2e%2e%2fadmin.token',
      '/ui/..%5cadmin.token',
      '/ui//etc/passwd',
      `/ui/${encodeURIComponent(join(f.root, 'admin.token'))}`,
      '/ui/assets/%00.js',
    ];
    for (const path of attempts) {
      const res = await rawGet(f.port, path);
      assert.ok(!res.body.toString('utf8').includes('sy-admin-secret-token'), `${path} leaked the file`);
      assert.ok(!res.body.toString('utf8').includes('root:'), `${path} leaked /etc/passwd`);
      assert.ok(res.status === 404 || res.status === 400 || (res.status === 200 && res.body.toString() === indexHtml), `${path}: ${res.status}`);
    }
  } finally {
    f.close();
  }
});

test('UI not built: 503 with how to build it; admin.ui false: 404', async () => {
  const f = await start(false);
  try {
    const res = await fetch(`${f.url}/ui/`);
    assert.equal(res.status, 503);
    assert.match(await res.text(), /not built.*npm run build/);
    f.enabled.on = false;
    const off = await fetch(`${f.url}/ui/`);
    assert.equal(off.status, 404);
    assert.match(await off.text(), /admin\.ui: false/);
    assert.equal((await fetch(`${f.url}/`, { redirect: 'manual' })).status, 404);
  } finally {
    f.close();
  }
});
