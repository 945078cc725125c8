// The admin UI in real headless Chromium against a real gateway (simulator upstream, auth: keys, audit on):
// login, a key's secret shown once, a streamed Playground answer, the audit view, a model remapped in the
// Models page and seen on the dashboard. Saves a screenshot of each page (docs/images/admin-ui/ with SWITCHYARD_UPDATE_SCREENSHOTS=1).
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startStack, upstreamKey, type Stack } from '../helpers/stack.js';
import { buildUiIntoRoot, eventually, haveChromium, launchChromium, screenshot, viewport } from './ui-harness.js';

const adminToken = 'ui-test-admin-token-7c1f0b9e4a';
const viewerToken = 'ui-test-viewer-token-5d2e8a61c3';
const skip = haveChromium ? false : 'no Chromium at /usr/bin/chromium (set SWITCHYARD_CHROMIUM)';

let stack: Stack;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let admin: string;
/** Every URL the page asked for: all must be the admin listener's (nothing from the network). */
const requested: string[] = [];
const pageErrors: string[] = [];

/** Whether the admin listener has a route at `path` (a 404 `unknown_url` says it has none). */
async function apiAvailable(path: string): Promise<boolean> {
  const res = await fetch(`${admin}${path}`, { headers: { authorization: `Bearer ${adminToken}` } });
  const body = (await res.json().catch(() => ({}))) as { error?: { code?: string } };
  return !(res.status === 404 && body.error?.code === 'unknown_url');
}

/** Marks the test todo and returns true when the admin API it needs is not there yet. */
async function needs(t: TestContext, ...paths: string[]): Promise<boolean> {
  for (const p of paths) {
    if (!(await apiAvailable(p))) {
      t.todo(`${p} is not served by the admin API yet`);
      return true;
    }
  }
  return false;
}

async function goto(path: string): Promise<void> {
  await page.goto(`${admin}${path}`);
  await page.locator('#page-title').waitFor();
}

/** Navigates with the UI's own links (client-side routing, no reload). */
async function nav(label: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label, exact: true }).click();
  await page.locator('#page-title', { hasText: label }).waitFor();
}

/** Runs the Playground with `model` and returns the answer's text at every change while it streamed. */
async function runPlayground(model: string, prompt: string): Promise<{ seen: string[]; deployment: string }> {
  await page.locator('#f-model').selectOption(model);
  await page.locator('#f-turn-0-content').fill(prompt);
  const answer = page.locator('#answer-0 .answer-text');
  await page.locator('#playground-run').click();
  const seen: string[] = [];
  const deadline = Date.now() + 20_000;
  for (;;) {
    const [text, busy] = await Promise.all([answer.textContent(), page.locator('#answer-0').getAttribute('aria-busy')]);
    const t = text ?? '';
    if (t !== '' && t !== seen[seen.length - 1]) seen.push(t);
    if (busy !== 'true' && seen.length > 0) break;
    if (Date.now() > deadline) throw new Error(`the answer did not finish; seen ${JSON.stringify(seen)}`);
    await new Promise((r) => setTimeout(r, 15));
  }
  const final = (await answer.textContent()) ?? '';
  if (final !== seen[seen.length - 1]) seen.push(final);
  const deployment = ((await page.locator('#answer-0 .answer-deployment').textContent()) ?? '').trim();
  return { seen, deployment };
}

describe('admin UI in headless Chromium', { skip }, () => {
  before(async () => {
    buildUiIntoRoot();
    // Short dashboard steps so new traffic shows within a second or two.
    process.env.SWITCHYARD_STATS_STEP_MS = '500';
    stack = await startStack({
      threads: 1,
      extra: (simPort) => ({
        providers: [{ name: 'sim-b', type: 'openai', base_url: `http://127.0.0.1:${simPort}/v1`, api_key: upstreamKey }],
        models: [
          // 16 tokens at 20 tokens/s: about a second of streaming, one token per event.
          { name: 'paced', provider: 'sim', model: 'sim-tps-20' },
          { name: 'mapped', provider: 'sim', model: 'sim-tps-40' },
        ],
      }),
      config: {
        auth: 'keys',
        admin: { host: '127.0.0.1', port: 0, token: adminToken, tokens: [{ name: 'viewer', token: viewerToken, read_only: true }] },
        audit: { enabled: true },
      },
    });
    delete process.env.SWITCHYARD_STATS_STEP_MS;
    admin = `http://127.0.0.1:${stack.gateway.adminPort}`;
    browser = await launchChromium();
    context = await browser.newContext({ viewport, colorScheme: 'light', reducedMotion: 'reduce' });
    page = await context.newPage();
    page.on('request', (r) => requested.push(r.url()));
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  test('log in: a wrong token is refused next to the field, the right one opens the dashboard', async () => {
    await page.goto(`${admin}/`);
    await page.waitForURL(/\/ui\/login$/);
    const token = page.getByLabel('Admin token');
    await token.waitFor();
    assert.equal(await token.getAttribute('type'), 'password');
    await screenshot(page, 'login');
    await token.fill('not-the-admin-token');
    await token.press('Enter');
    await page.locator('#admin-token-error').waitFor();
    assert.match((await page.locator('#admin-token-error').textContent()) ?? '', /invalid admin token/i);
    assert.equal(await token.getAttribute('aria-invalid'), 'true');
    await token.fill(adminToken);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('#page-title', { hasText: 'Dashboard' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/ui/');
    assert.ok(!page.url().includes(adminToken), 'the token is never in a URL');
    // The session is the HttpOnly cookie: invisible to scripts, and the token is in no storage.
    const stored = await page.evaluate(() => ({ cookie: document.cookie, local: JSON.stringify({ ...localStorage }), session: JSON.stringify({ ...sessionStorage }) }));
    assert.ok(!stored.cookie.includes('sy_admin'), `cookie visible to scripts: ${stored.cookie}`);
    assert.ok(!stored.local.includes(adminToken) && !stored.session.includes(adminToken));
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'sy_admin');
    assert.ok(session?.httpOnly, 'session cookie is HttpOnly');
    assert.equal(session?.sameSite, 'Strict');
  });

  test('keyboard: the skip link is the first stop and moves focus to the content', async () => {
    await goto('/ui/');
    await page.locator('body').focus();
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => location.hash), '#main');
  });

  let secret = '';
  test('keys: a validation error shows at its field; a new key shows its secret once', async (t) => {
    if (await needs(t, '/admin/keys')) return;
    await nav('Keys');
    await page.getByRole('button', { name: 'Create key' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name').fill('ui-team');
    await dialog.getByLabel('Requests / minute').fill('-5');
    await dialog.getByRole('button', { name: 'Create key' }).click();
    const rpmError = dialog.locator('#key-limits-rpm-error');
    await rpmError.waitFor();
    assert.match((await rpmError.textContent()) ?? '', /rpm|>= 0|minimum/i);
    await dialog.getByLabel('Requests / minute').fill('600');
    await dialog.getByRole('button', { name: 'Create key' }).click();
    const value = dialog.locator('#new-key-value');
    await value.waitFor();
    secret = await value.inputValue();
    assert.match(secret, /^sk-sy-/);
    assert.ok(await dialog.getByRole('button', { name: 'Copy' }).isVisible());
    // The secret is real: the public API accepts it.
    const models = await fetch(`${stack.baseURL}/models`, { headers: { authorization: `Bearer ${secret}` } });
    assert.equal(models.status, 200);
    await screenshot(page, 'keys-created');
    await dialog.getByRole('button', { name: 'Done' }).click();
    await page.locator('#keys-table tr', { hasText: 'ui-team' }).waitFor();
    assert.ok(!(await page.content()).includes(secret), 'closed: the secret is gone from the page');
    await page.reload();
    await page.locator('#keys-table tr', { hasText: 'ui-team' }).waitFor();
    assert.ok(!(await page.content()).includes(secret), 'after a reload the secret is nowhere on the page');
    assert.equal(await page.locator('#new-key-value').count(), 0);
    await screenshot(page, 'keys');
  });

  let streamedPrompt = '';
  test('playground: a streamed answer renders token by token, with TTFT, tokens and the deployment', async (t) => {
    if (await needs(t, '/admin/playground/models')) return;
    await nav('Playground');
    streamedPrompt = `Tell me about switchyards ${Date.now()}`;
    const { seen, deployment } = await runPlayground('paced', streamedPrompt);
    assert.ok(seen.length >= 4, `the answer grew over several observations: ${JSON.stringify(seen)}`);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.startsWith(seen[i - 1]!) && seen[i]!.length > seen[i - 1]!.length, `text only grows: ${JSON.stringify(seen)}`);
    assert.equal(deployment, 'sim/sim-tps-20');
    assert.match((await page.locator('#answer-0 .answer-ttft').textContent()) ?? '', /\d+ ms/);
    assert.match((await page.locator('#answer-0 .answer-tokens').textContent()) ?? '', /\d+ in · 16 out/);
    // The snippets point at the public listener (as the Playground reports it, or as typed in), never carry a secret.
    const listed = (await (await fetch(`${admin}/admin/playground/models`, { headers: { authorization: `Bearer ${adminToken}` } })).json()) as { gateway?: unknown };
    if (listed.gateway === undefined) await page.getByLabel('Public gateway URL').fill(`http://127.0.0.1:${stack.gateway.port}`);
    const snippet = (await page.locator('#snippet-panel').textContent()) ?? '';
    assert.ok(snippet.includes(`:${stack.gateway.port}/v1/chat/completions`), snippet);
    assert.ok(snippet.includes('"model": "paced"') && !snippet.includes(adminToken) && !snippet.includes(secret));
    await page.getByRole('tab', { name: 'OpenAI SDK (TS)' }).click();
    assert.match((await page.locator('#snippet-panel').textContent()) ?? '', /new OpenAI\(\{ baseURL: "http:\/\/127\.0\.0\.1:\d+\/v1"/);
    await page.getByRole('tab', { name: 'Anthropic SDK (TS)' }).click();
    assert.match((await page.locator('#snippet-panel').textContent()) ?? '', /client\.messages\.stream/);
    await page.getByRole('tab', { name: 'curl' }).click();
    await screenshot(page, 'playground');
  });

  test('playground: the same prompt against two models side by side', async (t) => {
    if (await needs(t, '/admin/playground/models')) return;
    await goto('/ui/playground');
    await page.getByLabel('Compare two models side by side').check();
    await page.locator('#f-model').selectOption('gpt-4o-mini');
    await page.locator('#f-model2').selectOption('gpt-4o');
    await page.locator('#playground-run').click();
    await eventually(async () => (await page.locator('#answer-1 .answer-deployment').textContent()) === 'sim/gpt-4o' && (await page.locator('#answer-0').getAttribute('aria-busy')) !== 'true');
    assert.equal(await page.locator('#answer-0 .answer-deployment').textContent(), 'sim/gpt-4o-mini');
    assert.equal(await page.locator('#answer-1 .answer-deployment').textContent(), 'sim/gpt-4o');
    assert.ok(((await page.locator('#answer-1 .answer-text').textContent()) ?? '').length > 0);
    await screenshot(page, 'playground-compare');
  });

  test('audit: the Playground request is found by text and opens with both bodies', async (t) => {
    if (!streamedPrompt || (await needs(t, '/admin/audit'))) {
      if (!streamedPrompt) t.todo('needs the Playground request');
      return;
    }
    await nav('Audit');
    await page.getByLabel('Model').fill('paced');
    await page.getByLabel('Text in bodies').fill(streamedPrompt.split(' ').at(-1)!);
    await page.getByRole('button', { name: 'Search' }).click();
    const row = page.locator('#audit-table tbody tr[data-record-id]');
    await eventually(async () => (await row.count()) === 1, 10_000, 250).then(async (found) => {
      // Records reach the sink asynchronously: search again until it is there.
      if (!found) throw new Error(`no audit row: ${await page.locator('#audit-table').textContent()}`);
    });
    assert.match((await row.textContent()) ?? '', /paced/);
    await screenshot(page, 'audit');
    await row.getByRole('link').click();
    await page.locator('#page-title', { hasText: 'Audit record' }).waitFor();
    await page.locator('#audit-request-body').waitFor();
    assert.ok(((await page.locator('#audit-request-body').textContent()) ?? '').includes(streamedPrompt));
    assert.ok(((await page.locator('#audit-response-body').textContent()) ?? '').length > 0);
    assert.match((await page.locator('#audit-attempts').textContent()) ?? '', /sim\/sim-tps-20/);
    // The trace id shown is the record's (a dash when tracing is off, as in this stack).
    const id = decodeURIComponent(new URL(page.url()).pathname.split('/').at(-1)!);
    const record = (await (await fetch(`${admin}/admin/audit/${id}`, { headers: { authorization: `Bearer ${adminToken}` } })).json()) as { trace_id?: string | null };
    assert.equal((await page.locator('#audit-trace-id').textContent())?.trim(), record.trace_id ?? '–');
    await screenshot(page, 'audit-record');
  });

  test('models: remapping a model to another provider sends its traffic to the new deployment, seen on the dashboard', async (t) => {
    if (await needs(t, '/admin/models', '/admin/providers', '/admin/stats')) return;
    await nav('Models');
    // The gateway's validation error lands on the field it names.
    await page.getByRole('button', { name: 'Add model' }).click();
    const adding = page.getByRole('dialog');
    await adding.getByLabel('Name clients send').fill('bad-fallback');
    await adding.getByLabel('Fallback models').fill('no-such-model');
    await adding.getByRole('button', { name: 'Add model' }).click();
    await adding.locator('#f-fallbacks-error').waitFor();
    assert.match((await adding.locator('#f-fallbacks-error').textContent()) ?? '', /unknown model 'no-such-model'/);
    assert.equal(await adding.getByLabel('Fallback models').getAttribute('aria-invalid'), 'true');
    await adding.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('dialog').waitFor({ state: 'hidden' });
    assert.equal(await page.locator('#models-table tr[data-model="bad-fallback"]').count(), 0, 'nothing was applied');
    const row = page.locator('#models-table tr[data-model="mapped"]');
    await row.getByRole('button', { name: /Edit/ }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Provider').selectOption('sim-b');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await eventually(async () => ((await row.textContent()) ?? '').includes('sim-b'));
    assert.match((await row.textContent()) ?? '', /sim-b · sim-tps-40/);
    await screenshot(page, 'models');

    await nav('Playground');
    const { deployment } = await runPlayground('mapped', 'Which deployment answers now?');
    assert.equal(deployment, 'sim-b/sim-tps-40');

    await nav('Dashboard');
    const traffic = page.locator(`#deployment-traffic tr[data-deployment="${deployment}"]`);
    const shown = await eventually(async () => (await traffic.count()) === 1, 15_000, 250);
    assert.ok(shown, `dashboard shows ${deployment}: ${await page.locator('#deployment-traffic').textContent()}`);
    assert.ok(Number((await traffic.locator('td').first().textContent()) ?? '0') >= 1);
    await page.locator('.chart canvas').first().waitFor();
    await screenshot(page, 'dashboard');
    // Dark mode: the toggle switches the page, and the choice (only that) is kept in sessionStorage.
    await page.getByRole('button', { name: 'Dark mode' }).click();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
    await page.reload();
    await page.locator('#page-title', { hasText: 'Dashboard' }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
    await traffic.waitFor();
    await page.locator('.chart canvas').first().waitFor();
    await screenshot(page, 'dashboard-dark');
    await page.getByRole('button', { name: 'Light mode' }).click();
  });

  test('providers, guards, prices and changes pages load their data', async (t) => {
    if (await needs(t, '/admin/providers', '/admin/config/sections/guards', '/admin/prices', '/admin/config/changes')) return;
    await nav('Providers');
    await page.locator('#providers-table tr[data-provider="sim-b"]').waitFor();
    assert.ok(!(await page.content()).includes(upstreamKey), 'provider secrets never reach the page');
    await screenshot(page, 'providers');
    await nav('Guards');
    await page.locator('#guards-summary').waitFor();
    await screenshot(page, 'guards');
    await nav('Prices');
    await page.getByRole('button', { name: 'Add price' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Model').fill('paced');
    await dialog.getByLabel('Input (USD / 1M tokens)', { exact: true }).fill('2.5');
    await dialog.getByLabel('Output (USD / 1M tokens)', { exact: true }).fill('10');
    await dialog.getByRole('button', { name: 'Save price' }).click();
    const price = page.locator('#prices-table tr[data-model="paced"]');
    await price.waitFor();
    assert.match((await price.textContent()) ?? '', /2\.5.*10/);
    await screenshot(page, 'prices');
    await nav('Changes');
    await page.locator('#changes-list li', { hasText: 'prices.paced' }).first().waitFor();
    await page.locator('#changes-list li', { hasText: 'models.mapped' }).first().waitFor();
    await screenshot(page, 'changes');
  });

  test('a read-only token sees the pages but every write control is off', async () => {
    const viewer = await browser.newContext({ viewport, colorScheme: 'light' });
    try {
      const p = await viewer.newPage();
      await p.goto(`${admin}/ui/keys`);
      await p.getByLabel('Admin token').fill(viewerToken);
      await p.getByRole('button', { name: 'Log in' }).click();
      // Back where the login interrupted: the Keys page, with its data, and no way to change it.
      await p.locator('#page-title', { hasText: 'Keys' }).waitFor();
      await p.locator('#keys-table tr', { hasText: 'ui-team' }).waitFor();
      assert.ok(await p.getByText('read-only', { exact: true }).isVisible());
      assert.ok(await p.getByRole('button', { name: 'Create key' }).isDisabled());
      assert.ok(await p.getByRole('button', { name: /Revoke/ }).first().isDisabled());
      // Log out ends the session at the gateway, not just in the page.
      await p.getByRole('button', { name: 'Log out' }).click();
      await p.getByLabel('Admin token').waitFor();
      assert.equal(await p.evaluate(async () => (await fetch('/admin/session')).status), 401);
    } finally {
      await viewer.close();
    }
  });

  test('nothing was fetched from anywhere but the admin listener, and no page error was thrown', () => {
    const elsewhere = requested.filter((u) => !u.startsWith(`${admin}/`) && !u.startsWith('data:'));
    assert.deepEqual(elsewhere, []);
    assert.deepEqual(pageErrors, []);
  });
});
