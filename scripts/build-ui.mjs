// Builds the admin UI (ui/) into <outdir>/ui: index.html plus hashed, minified assets/app-<hash>.{js,css}.
// Usage: node scripts/build-ui.mjs [--outdir dist] [--check]   (--check also type-checks ui/ with tsc)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const uiDir = join(repo, 'ui');

function fail(message) {
  console.error(`build-ui: ${message}`);
  process.exit(1);
}

function parseArgs(argv) {
  const args = { outdir: 'dist', check: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--outdir') {
      const value = argv[++i];
      if (!value || value.startsWith('--')) fail('--outdir needs a directory, e.g. --outdir dist');
      args.outdir = value;
    } else if (arg.startsWith('--outdir=')) args.outdir = arg.slice('--outdir='.length);
    else if (arg === '--check') args.check = true;
    else if (arg === '--help' || arg === '-h') {
      console.log('node scripts/build-ui.mjs [--outdir <dir>] [--check]\n  writes <dir>/ui (default dir: dist); --check runs tsc -p ui/tsconfig.json first');
      process.exit(0);
    } else fail(`unknown argument '${arg}' (use --outdir <dir> or --check)`);
  }
  return args;
}

function typeCheck() {
  const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
  const run = spawnSync(process.execPath, [tsc, '-p', join(uiDir, 'tsconfig.json'), '--noEmit'], { cwd: repo, encoding: 'utf8' });
  if (run.status !== 0) fail(`type errors in ui/:\n${run.stdout}${run.stderr}`);
}

async function main() {
  const started = performance.now();
  const args = parseArgs(process.argv.slice(2));
  if (!existsSync(join(uiDir, 'src', 'main.tsx'))) fail(`no UI sources at ${join(uiDir, 'src', 'main.tsx')}`);
  if (args.check) typeCheck();
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    fail('esbuild is not installed (it is a devDependency: run npm ci)');
  }
  const target = resolve(repo, args.outdir, 'ui');
  // Built beside the target and swapped in at the end, so a running gateway never serves half a build.
  const staging = `${target}.building-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  let result;
  try {
    result = await esbuild.build({
      absWorkingDir: repo,
      entryPoints: { app: join(uiDir, 'src', 'main.tsx') },
      outdir: join(staging, 'assets'),
      entryNames: '[name]-[hash]',
      assetNames: '[name]-[hash]',
      bundle: true,
      minify: true,
      format: 'esm',
      target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
      jsx: 'automatic',
      jsxImportSource: 'preact',
      tsconfig: join(uiDir, 'tsconfig.json'),
      legalComments: 'none',
      metafile: true,
      logLevel: 'silent',
      define: { 'process.env.NODE_ENV': '"production"' },
    });
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    const messages = err && Array.isArray(err.errors) ? err.errors : [];
    const text = messages.length
      ? messages.map((m) => `${m.location ? `${m.location.file}:${m.location.line}:${m.location.column}: ` : ''}${m.text}`).join('\n')
      : String(err);
    fail(`bundling failed:\n${text}`);
  }
  const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
  const js = outputs.find((f) => /^app-[A-Z0-9]+\.js$/.test(f));
  const css = outputs.find((f) => /^app-[A-Z0-9]+\.css$/.test(f));
  if (!js || !css) fail(`expected assets/app-<hash>.js and .css, got: ${outputs.join(', ')}`);
  const html = readFileSync(join(uiDir, 'index.html'), 'utf8').replace('%JS%', js).replace('%CSS%', css);
  if (html.includes('%JS%') || html.includes('%CSS%')) fail('ui/index.html must contain %JS% and %CSS% exactly once each');
  writeFileSync(join(staging, 'index.html'), html);
  mkdirSync(dirname(target), { recursive: true });
  const old = `${target}.old-${process.pid}`;
  if (existsSync(target)) renameSync(target, old);
  renameSync(staging, target);
  rmSync(old, { recursive: true, force: true });
  const sizes = [js, css].map((f) => `${f} ${result.metafile.outputs[Object.keys(result.metafile.outputs).find((p) => p.endsWith(f))].bytes} B`);
  console.log(`build-ui: ${target} (${sizes.join(', ')}) in ${Math.round(performance.now() - started)} ms`);
}

await main();
