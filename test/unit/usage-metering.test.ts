// The metering hook: the request handler against a real simulator, seen by a stage through ctx.result.
// The handler runs in-process with a recording Reply, so what the client would receive and what the
// stages were told can both be checked.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { compileRoutes } from '../../src/config/compile.js';
import { parseConfig } from '../../src/config/load.js';
import type { RequestContext, RequestResult } from '../../src/pipeline/context.js';
import { createHandler } from '../../src/pipeline/handler.js';
import type { Stage } from '../../src/pipeline/stage.js';
import { UpstreamClients } from '../../src/pipeline/upstream.js';
import type { HeaderList, Reply, RequestHandler } from '../../src/server/http.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.js';
import { stackConfigObject, waitFor } from '../helpers/stack.js';

/** A Reply that records what the client would get. */
class RecordingReply implements Reply {
  done = false;
  status = 0;
  headers: HeaderList = [];
  chunks: string[] = [];
  private aborts: Array<() => void> = [];
  readonly ended: Promise<void>;
  private resolveEnded!: () => void;

  constructor() {
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
  }
  onAbort(cb: () => void): void {
    this.aborts.push(cb);
  }
  closeWhenDone(): void {}
  send(status: number, headers: HeaderList, body: string | Uint8Array): void {
    this.status = status;
    this.headers = headers;
    this.chunks.push(Buffer.from(body).toString('utf8'));
    this.finish();
  }
  start(status: number, headers: HeaderList): void {
    this.status = status;
    this.headers = headers;
  }
  write(chunk: string | Uint8Array): boolean {
    this.chunks.push(Buffer.from(chunk).toString('utf8'));
    return true;
  }
  onDrain(): void {}
  end(chunk?: string | Uint8Array): void {
    if (chunk !== undefined) this.chunks.push(Buffer.from(chunk).toString('utf8'));
    this.finish();
  }
  destroy(): void {
    this.finish();
  }
  /** The client goes away. */
  abort(): void {
    this.done = true;
    for (const cb of this.aborts) cb();
    this.resolveEnded();
  }
  get text(): string {
    return this.chunks.join('');
  }
  private finish(): void {
    this.done = true;
    this.resolveEnded();
  }
}

/** Records every hook call and a copy of the result at onComplete. */
class RecordingStage implements Stage {
  readonly name = 'recorder';
  calls: string[] = [];
  results: RequestResult[] = [];
  contexts: RequestContext[] = [];
  onRequest(): void {
    this.calls.push('request');
  }
  onUpstreamStart(): void {
    this.calls.push('upstreamStart');
  }
  onFirstToken(): void {
    this.calls.push('firstToken');
  }
  onComplete(ctx: RequestContext): void {
    this.calls.push('complete');
    this.results.push({ ...ctx.result });
    this.contexts.push(ctx);
  }
}

let sim: RunningSimulator;
let upstream: UpstreamClients;
let stage: RecordingStage;
let handle: RequestHandler;

before(async () => {
  sim = await startSimulator();
  const config = parseConfig(JSON.stringify(stackConfigObject(sim.port, '/tmp/switchyard-unused', { timeouts: { idle_ms: 300 } })), 'test');
  upstream = new UpstreamClients();
  stage = new RecordingStage();
  handle = createHandler({ routes: compileRoutes(config), stages: [stage], upstream, draining: false, serving: true });
});
after(async () => {
  await upstream.destroy();
  await sim.close();
});
beforeEach(() => {
  stage.calls = [];
  stage.results = [];
  stage.contexts = [];
  sim.reset();
});

async function call(body: unknown, headers: Record<string, string> = {}, path = '/v1/chat/completions'): Promise<RecordingReply> {
  const reply = new RecordingReply();
  handle(
    { method: 'POST', path, query: '', headers: { 'content-type': 'application/json', ...headers }, remoteAddress: '127.0.0.1' },
    Buffer.from(JSON.stringify(body)),
    reply,
  );
  await reply.ended;
  assert.ok(await waitFor(() => stage.results.length === 1, 2000), `onComplete ran ${stage.results.length} times`);
  return reply;
}

const user = (content: string) => [{ role: 'user', content }];

describe('metering', () => {
  test('stream without include_usage: usage recorded, usage chunk not relayed, hooks in order, TTFT ≤ duration', async () => {
    const reply = await call({ model: 'gpt-4o-mini', messages: user('abcdefgh12'), stream: true, max_tokens: 5 });
    assert.equal(reply.status, 200);
    assert.ok(!reply.text.includes('"usage":{'), 'the usage chunk reached the client');
    assert.ok(reply.text.endsWith('data: [DONE]\n\n'));
    const result = stage.results[0];
    assert.deepEqual(result.usage, { promptTokens: 3, completionTokens: 5, totalTokens: 8, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 });
    assert.equal(result.outcome, 'ok');
    assert.equal(result.status, 200);
    assert.equal(result.finishReason, 'length');
    assert.equal(result.responseModel, 'gpt-4o-mini');
    assert.equal(result.attempts, 1);
    assert.ok(result.chunks >= 6, `chunks ${result.chunks}`);
    assert.ok(result.ttftMs !== undefined && result.ttftMs > 0);
    assert.ok(result.durationMs !== undefined && result.durationMs >= result.ttftMs);
    assert.ok(result.upstreamHeadersMs !== undefined && result.upstreamHeadersMs <= result.ttftMs);
    assert.deepEqual(stage.calls, ['request', 'upstreamStart', 'firstToken', 'complete']);
  });

  test('stream with include_usage: usage recorded and relayed', async () => {
    const reply = await call({ model: 'gpt-4o-mini', messages: user('hi'), stream: true, max_tokens: 4, stream_options: { include_usage: true } });
    assert.match(reply.text, /"choices":\[\],"usage":\{"prompt_tokens":1,"completion_tokens":4/);
    assert.equal(stage.results[0].usage?.completionTokens, 4);
  });

  test('TTFT includes the upstream time to first token', async () => {
    await call({ model: 'gpt-4o-mini', messages: user('hi'), stream: true, max_tokens: 3 }, { 'x-sim-ttft-ms': '150' });
    const result = stage.results[0];
    assert.ok(result.ttftMs !== undefined && result.ttftMs >= 140, `ttft ${result.ttftMs}`);
  });

  test('non-stream: usage read from the body without changing it; onFirstToken once', async () => {
    const reply = await call({ model: 'fast', messages: user('abcdefgh12'), max_tokens: 6 });
    assert.equal(reply.status, 200);
    const body = JSON.parse(reply.text) as { model: string; usage: { completion_tokens: number } };
    assert.equal(body.model, 'sim-fast');
    const result = stage.results[0];
    assert.deepEqual(result.usage, { promptTokens: 3, completionTokens: 6, totalTokens: 9, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 });
    assert.equal(result.responseModel, 'sim-fast');
    assert.equal(result.finishReason, 'length');
    assert.equal(stage.contexts[0].model, 'fast');
    assert.equal(stage.contexts[0].deployment?.upstreamModel, 'sim-fast');
    assert.deepEqual(stage.calls, ['request', 'upstreamStart', 'firstToken', 'complete']);
  });

  test('embeddings: prompt usage recorded', async () => {
    await call({ model: 'text-embedding-3-small', input: 'abcdefgh', dimensions: 4 }, {}, '/v1/embeddings');
    assert.equal(stage.results[0].usage?.promptTokens, 2);
    assert.equal(stage.contexts[0].operation, 'embeddings');
  });

  test('upstream 429: outcome upstream_error with status and error code', async () => {
    const reply = await call({ model: 'gpt-4o-mini', messages: user('hi') }, { 'x-sim-fault': 'status-429' });
    assert.equal(reply.status, 429);
    const result = stage.results[0];
    assert.equal(result.status, 429);
    assert.equal(result.outcome, 'upstream_error');
    assert.equal(result.error?.code, 'simulated_fault');
    assert.ok(!stage.calls.includes('firstToken'));
  });

  test('a refused request (unknown model): onComplete still runs, outcome client_error, upstream not called', async () => {
    const reply = await call({ model: 'nope', messages: user('hi') });
    assert.equal(reply.status, 404);
    assert.equal(stage.results[0].outcome, 'client_error');
    assert.equal(stage.results[0].error?.code, 'model_not_found');
    assert.deepEqual(stage.calls, ['complete']);
    assert.equal(sim.stats().requests, 0);
  });

  test('mid-stream idle timeout: outcome upstream_error, the final event is the error', async () => {
    const reply = await call({ model: 'gpt-4o-mini', messages: user('hi'), stream: true, max_tokens: 10 }, { 'x-sim-fault': 'stall-after-2' });
    const events = reply.text.split('\n\n').filter((e) => e !== '');
    assert.match(events.at(-1) ?? '', /^data: \{"error":\{.*"code":"upstream_timeout"/);
    assert.equal(stage.results[0].outcome, 'upstream_error');
    assert.equal(stage.results[0].error?.code, 'upstream_timeout');
  });

  test('client abort mid-stream: outcome aborted, onComplete once, upstream request aborted', async () => {
    const reply = new RecordingReply();
    handle(
      {
        method: 'POST',
        path: '/v1/chat/completions',
        query: '',
        headers: { 'content-type': 'application/json', 'x-sim-tokens-per-second': '20' },
        remoteAddress: '127.0.0.1',
      },
      Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', messages: user('hi'), stream: true, max_tokens: 50 })),
      reply,
    );
    assert.ok(await waitFor(() => reply.chunks.length >= 2, 3000), 'no chunks arrived');
    reply.abort();
    assert.ok(await waitFor(() => sim.stats().aborted === 1, 3000), 'the upstream request was not aborted');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(stage.results.length, 1);
    assert.equal(stage.results[0].outcome, 'aborted');
    assert.equal(stage.calls.filter((c) => c === 'complete').length, 1);
  });
});
