// The admin UI build (scripts/build-ui.mjs) and its type-check: hashed assets, uPlot's CSS, nothing remote, clear failures.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { repoRoot, runBuild } from './ui-harness.js';

const out = mkdtempSync(join(tmpdir(), 'switchyard-ui-build-'));
after(() => rmSync(out, { recursive: true, force: true }));

test('--outdir writes <dir>/ui: index.html pointing at hashed, minified app-<hash>.js and .css', () => {
  const run = runBuild(['--outdir', out]);
  assert.equal(run.status, 0, run.stderr);
  const ui = join(out, 'ui');
  const assets = readdirSync(join(ui, 'assets')).sort();
  assert.equal(assets.length, 2, assets.join(', '));
  const js = assets.find((f) => /^app-[A-Z0-9]{8}\.js$/.test(f));
  const css = assets.find((f) => /^app-[A-Z0-9]{8}\.css$/.test(f));
  assert.ok(js && css, `assets: ${assets.join(', ')}`);
  const html = readFileSync(join(ui, 'index.html'), 'utf8');
  assert.ok(html.includes(`<script type="module" src="/ui/assets/${js}"></script>`), html);
  assert.ok(html.includes(`<link rel="stylesheet" href="/ui/assets/${css}">`), html);
  // Nothing from the network: every reference in the page is the gateway's own /ui/ (or inline data).
  const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
  assert.ok(refs.length >= 2 && refs.every((r) => r.startsWith('/ui/') || r.startsWith('data:')), refs.join(', '));
  const code = readFileSync(join(ui, 'assets', js), 'utf8');
  assert.ok(!/\bimport\s*\(|from\s*["']https?:/.test(code), 'the bundle imports nothing at run time');
  assert.ok(!/\n {2,}\S/.test(code) && code.length / code.split('\n').length > 2000, 'minified: no indented lines, long lines');
  const style = readFileSync(join(ui, 'assets', css), 'utf8');
  assert.ok(style.includes('.uplot') && style.includes('.u-legend'), "uPlot's stylesheet is bundled");
  assert.ok(style.includes('prefers-color-scheme:dark'), 'dark mode follows the system');
  assert.ok(!/@import|url\(\s*["']?https?:/.test(style), 'the stylesheet loads nothing remote');
});

test('a rebuild replaces the previous assets instead of piling them up', () => {
  assert.equal(runBuild(['--outdir', out]).status, 0);
  assert.equal(readdirSync(join(out, 'ui', 'assets')).length, 2);
  assert.deepEqual(
    readdirSync(out).filter((f) => f !== 'ui'),
    [],
    'no staging directories left behind',
  );
});

test('bad arguments fail with a clear message and exit 1', () => {
  const missing = runBuild(['--outdir']);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /^build-ui: --outdir needs a directory/);
  const unknown = runBuild(['--minify-harder']);
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /^build-ui: unknown argument '--minify-harder'/);
  assert.ok(!existsSync(join(repoRoot(), '--minify-harder')));
});

test('the UI sources type-check (tsc -p ui/tsconfig.json, strict, jsxImportSource preact)', () => {
  const root = repoRoot();
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const run = spawnSync(process.execPath, [tsc, '-p', join(root, 'ui', 'tsconfig.json'), '--noEmit'], { encoding: 'utf8', cwd: root });
  assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);
  const config = JSON.parse(readFileSync(join(root, 'ui', 'tsconfig.json'), 'utf8')) as { compilerOptions: { strict: boolean; jsxImportSource: string } };
  assert.equal(config.compilerOptions.strict, true);
  assert.equal(config.compilerOptions.jsxImportSource, 'preact');
});
