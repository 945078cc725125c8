// The Playground on a real gateway: models, a chat proxied to the public listener (whole and streamed,
// chunk by chunk as they come), errors passed back, and a browser that leaves cancelling the upstream.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Playground } from '../../src/admin/console/playground.js';
import type { AdminRequest, MainHost } from '../../src/pipeline/stage.js';
import type { HeaderList, Reply } from '../../src/server/http.js';
import { expectErrorShape, startStack, waitFor, type Stack } from '../helpers/stack.js';

let stack: Stack;
let admin: string;
const viewerToken = 'viewer-admin-token-playground-01';

before(async () => {
  stack = await startStack({
    threads: 1,
    extra: () => ({
      providers: [],
      models: [
        // 20 tokens a second, one token per event: the answer takes most of a second.
        { name: 'paced', provider: 'sim', model: 'sim-tps-20' },
        { name: 'stalls', provider: 'sim', model: 'sim-fault-stall-after-2' },
        { name: 'grouped', deployments: [{ provider: 'sim', model: 'gpt-4o' }, { provider: 'sim', model: 'gpt-4o-mini' }] },
      ],
    }),
    config: { admin: { host: '127.0.0.1', port: 0, tokens: [{ name: 'viewer', token: viewerToken, read_only: true }] } },
  });
  admin = `http://127.0.0.1:${stack.gateway.adminPort}`;
});

after(async () => {
  await stack?.stop();
});

const headers = () => ({ authorization: `Bearer ${stack.gateway.adminToken}`, 'content-type': 'application/json' });

function chat(body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(`${admin}/admin/playground/chat`, { method: 'POST', headers: headers(), body: JSON.stringify(body), signal });
}

test('models: every configured model with its provider and deployment count', async () => {
  const res = await fetch(`${admin}/admin/playground/models`, { headers: headers() });
  assert.equal(res.status, 200);
  const { data, gateway } = (await res.json()) as { data: Array<{ name: string; provider: string; deployments: number }>; gateway: { host: string; port: number } };
  assert.deepEqual(gateway, { host: '127.0.0.1', port: stack.gateway.port });
  assert.deepEqual(
    data.map((m) => m.name),
    stack.config.models.map((m) => m.name),
  );
  assert.deepEqual(data.find((m) => m.name === 'gpt-4o-mini'), { name: 'gpt-4o-mini', provider: 'sim', deployments: 1 });
  assert.deepEqual(data.find((m) => m.name === 'grouped'), { name: 'grouped', provider: 'sim', deployments: 2 });
});

test('a non-streamed chat is passed through with the gateway headers', async () => {
  const res = await chat({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi there' }] });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  assert.equal(res.headers.get('x-switchyard-deployment'), 'sim/gpt-4o-mini');
  assert.equal(res.headers.get('x-switchyard-attempts'), '1');
  const body = (await res.json()) as { object: string; choices: Array<{ message: { content: string } }>; usage: { completion_tokens: number } };
  assert.equal(body.object, 'chat.completion');
  assert.ok(body.choices[0].message.content.length > 0);
  // The gateway saw the request as a client of its public listener.
  const last = stack.sim.stats().last.at(-1);
  assert.equal(last?.model, 'gpt-4o-mini');
});

test('a streamed chat arrives chunk by chunk while the upstream is still answering', async () => {
  const res = await chat({ model: 'paced', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'count slowly' }] });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  assert.equal(res.headers.get('x-switchyard-deployment'), 'sim/sim-tps-20');
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let reads = 0;
  let readsWhileUpstreamBusy = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    reads++;
    // The simulator still has the request in flight: this piece was passed on before the answer ended.
    if (stack.sim.stats().inFlight > 0) readsWhileUpstreamBusy++;
    text += decoder.decode(value, { stream: true });
  }
  const events = text.split('\n\n').filter((e) => e.startsWith('data: '));
  assert.equal(events.at(-1), 'data: [DONE]');
  const chunks = events.filter((e) => e !== 'data: [DONE]').map((e) => JSON.parse(e.slice(6)) as { choices: Array<{ delta?: { content?: string } }>; usage?: { completion_tokens: number } | null });
  const contentEvents = chunks.filter((c) => c.choices[0]?.delta?.content);
  const usage = chunks.at(-1)?.usage;
  assert.ok(usage && usage.completion_tokens > 5, 'the usage chunk came last');
  // One token per event (the simulator's chunk_tokens): every token arrived as its own event.
  assert.equal(contentEvents.length, usage.completion_tokens);
  assert.ok(reads >= 5, `the body came in ${reads} reads`);
  assert.ok(readsWhileUpstreamBusy >= 5, `${readsWhileUpstreamBusy} reads arrived while the upstream was still streaming`);
});

test('the browser going away cancels the request upstream', async () => {
  const abortedBefore = stack.sim.stats().aborted;
  const controller = new AbortController();
  const res = await chat({ model: 'stalls', stream: true, messages: [{ role: 'user', content: 'then stall' }] }, controller.signal);
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  const { value } = await reader.read();
  assert.ok(value && value.length > 0, 'the first events arrived');
  assert.equal(stack.sim.stats().inFlight, 1, 'the stalled answer is still open upstream');
  controller.abort();
  await reader.cancel().catch(() => undefined);
  assert.ok(await waitFor(() => stack.sim.stats().aborted > abortedBefore, 5000), 'the simulator saw its client go away');
  assert.equal(stack.sim.stats().inFlight, 0);
});

test('gateway errors come back with their status; bad bodies and read-only tokens are refused by the admin server', async () => {
  const unknown = await chat({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] });
  assert.equal(unknown.status, 404);
  assert.equal(expectErrorShape(await unknown.json()).error.code, 'model_not_found');

  const invalid = await chat({ model: 'gpt-4o-mini' });
  assert.equal(invalid.status, 400);
  expectErrorShape(await invalid.json());

  const notObject = await chat([1, 2]);
  assert.equal(notObject.status, 400);
  assert.equal(expectErrorShape(await notObject.json()).error.param, 'body');

  const badKey = await chat({ key_id: 42, model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] });
  assert.equal(badKey.status, 400);
  assert.equal(expectErrorShape(await badKey.json()).error.param, 'key_id');

  const anonymous = await fetch(`${admin}/admin/playground/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(anonymous.status, 401);
  const readOnly = await fetch(`${admin}/admin/playground/chat`, {
    method: 'POST',
    headers: { authorization: `Bearer ${viewerToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }),
  });
  assert.equal(readOnly.status, 403);
  assert.equal(expectErrorShape(await readOnly.json()).error.code, 'read_only_token');
  // The read-only token may still list the models.
  assert.equal((await fetch(`${admin}/admin/playground/models`, { headers: { authorization: `Bearer ${viewerToken}` } })).status, 200);
});

/** A browser that reads slowly: every write fills its buffer; it drains later than the next event comes. */
class SlowBrowser implements Reply {
  done = false;
  status = 0;
  headers: HeaderList = [];
  readonly chunks: Buffer[] = [];
  full = false;
  writesWhileFull = 0;
  drains = 0;
  private ended!: () => void;
  readonly finished = new Promise<void>((resolve) => (this.ended = resolve));
  onAbort(): void {}
  send(status: number, headers: HeaderList, body: string | Uint8Array): void {
    this.start(status, headers);
    this.end(body);
  }
  start(status: number, headers: HeaderList): void {
    this.status = status;
    this.headers = headers;
  }
  write(chunk: string | Uint8Array): boolean {
    if (this.full) this.writesWhileFull++;
    this.chunks.push(Buffer.from(chunk));
    this.full = true;
    return false;
  }
  onDrain(cb: () => void): void {
    setTimeout(() => {
      this.full = false;
      this.drains++;
      cb();
    }, 120);
  }
  end(chunk?: string | Uint8Array): void {
    if (chunk) this.chunks.push(Buffer.from(chunk));
    this.done = true;
    this.ended();
  }
  destroy(): void {
    this.done = true;
    this.ended();
  }
  closeWhenDone(): void {}
}

test('backpressure: nothing more is written to a browser whose buffer is full until it drains', async () => {
  const host = { dataDir: '', broadcast() {}, gather: async () => [], on() {}, addAdminRoute() {}, services: {} } satisfies MainHost;
  const playground = new Playground({ host, config: () => stack.config, publicHost: '127.0.0.1', publicPort: stack.gateway.port });
  try {
    const route = playground.routes().find((r) => r.path === '/admin/playground/chat');
    assert.ok(route?.stream);
    const request: AdminRequest = {
      method: 'POST',
      path: '/admin/playground/chat',
      params: {},
      query: new URLSearchParams(),
      headers: {},
      // An event every 50 ms, a drain only after 120 ms: without backpressure events would be written while full.
      body: { model: 'paced', stream: true, messages: [{ role: 'user', content: 'faster than the browser' }] },
      actor: { name: 'admin', readOnly: false },
    };
    const browser = new SlowBrowser();
    await route.stream(request, browser);
    await browser.finished;
    assert.equal(browser.status, 200);
    const text = Buffer.concat(browser.chunks).toString('utf8');
    assert.ok(text.trimEnd().endsWith('data: [DONE]'), 'the whole stream arrived');
    assert.ok(browser.drains >= 3, `the proxy waited for drains (${browser.drains})`);
    assert.equal(browser.writesWhileFull, 0, 'no write while the browser was full');
  } finally {
    await playground.close();
  }
});
