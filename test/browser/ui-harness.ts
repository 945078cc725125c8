// Shared pieces of the admin UI browser tests: the build root, the UI build, headless Chromium, screenshots.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

export const chromiumPath = process.env.SWITCHYARD_CHROMIUM ?? '/usr/bin/chromium';
export const haveChromium = existsSync(chromiumPath);

/** The tsc output root this test runs from (dist/ or .build-<name>/): the gateway serves <root>/ui/ from it. */
export const buildRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The checkout: the first directory above the build root holding scripts/build-ui.mjs. */
export function repoRoot(): string {
  let dir = buildRoot;
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'scripts', 'build-ui.mjs'))) return dir;
    dir = dirname(dir);
  }
  throw new Error(`scripts/build-ui.mjs not found above ${buildRoot}`);
}

export interface BuildRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runBuild(args: string[]): BuildRun {
  const run = spawnSync(process.execPath, [join(repoRoot(), 'scripts', 'build-ui.mjs'), ...args], { encoding: 'utf8', cwd: repoRoot() });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** Builds the UI into the build root, so the gateway under test serves exactly these sources. */
export function buildUiIntoRoot(): void {
  const run = runBuild(['--outdir', buildRoot]);
  if (run.status !== 0) throw new Error(`UI build failed:\n${run.stdout}${run.stderr}`);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export const viewport = { width: 1280, height: 800 };

/**
 * Saves <name>.png (the viewport, 1280×800) to the build's screenshots/ dir, or to docs/images/admin-ui/
 * with SWITCHYARD_UPDATE_SCREENSHOTS=1 (so a test run does not rewrite the committed pictures).
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = process.env.SWITCHYARD_UPDATE_SCREENSHOTS === '1' ? join(repoRoot(), 'docs', 'images', 'admin-ui') : fileURLToPath(new URL('../../screenshots/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  // Top of the page, toasts out of the picture; charts and fonts settled.
  await page.evaluate(() => {
    window.scrollTo(0, 0);
    document.querySelector<HTMLElement>('.toast-region')?.style.setProperty('visibility', 'hidden');
    return new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  });
  await page.screenshot({ path: join(dir, `${name}.png`), animations: 'disabled', caret: 'hide' });
  await page.evaluate(() => document.querySelector<HTMLElement>('.toast-region')?.style.removeProperty('visibility'));
}

/** Polls `check` in the test (not the page) until it is truthy or `timeoutMs` passes; returns the last value. */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 10_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await check();
  while (!value && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, everyMs));
    value = await check();
  }
  return value;
}
