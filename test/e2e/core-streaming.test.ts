// Streaming under stress: client aborts reach the upstream, a slow client holds the upstream back with
// bounded memory, shutdown drains in-flight streams, and several server threads share the port.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import OpenAI from 'openai';
import { startStack, waitFor, type Stack } from '../helpers/stack.js';

const user = (content: string) => [{ role: 'user' as const, content }];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('abort and backpressure', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ threads: 2 });
  });
  after(() => stack.stop());
  beforeEach(() => stack.sim.reset());

  test('aborting an SDK stream closes the upstream request', async () => {
    const controller = new AbortController();
    const stream = await stack.client.chat.completions.create(
      { model: 'gpt-4o-mini', messages: user('hi'), stream: true },
      {
        signal: controller.signal,
        headers: { 'x-sim-completion-tokens': '500', 'x-sim-tokens-per-second': '50' },
      },
    );
    let chunks = 0;
    try {
      for await (const _chunk of stream) {
        chunks++;
        if (chunks === 2) controller.abort();
      }
    } catch (err) {
      assert.ok(err instanceof OpenAI.APIUserAbortError || (err as Error).name === 'AbortError', `unexpected ${(err as Error).name}`);
    }
    assert.ok(chunks >= 2);
    assert.ok(
      await waitFor(() => stack.sim.stats().aborted === 1, 3000),
      `the upstream request was not aborted: ${JSON.stringify({ ...stack.sim.stats(), last: undefined })}`,
    );
    assert.equal(stack.sim.stats().completed, 0);
    assert.equal(stack.sim.stats().inFlight, 0);
  });

  test('aborting a slow non-stream request closes the upstream request', async () => {
    const controller = new AbortController();
    const pending = stack.client.chat.completions.create(
      { model: 'gpt-4o-mini', messages: user('hi') },
      { signal: controller.signal, headers: { 'x-sim-ttft-ms': '5000' } },
    );
    assert.ok(await waitFor(() => stack.sim.stats().inFlight === 1), 'the request never reached the upstream');
    controller.abort();
    await assert.rejects(pending);
    assert.ok(await waitFor(() => stack.sim.stats().aborted === 1, 3000), 'the upstream request was not aborted');
  });

  test('a slow client holds the upstream back (bounded memory), then gets the whole stream', async () => {
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: user('hi'), stream: true });
    const port = stack.gateway.port;
    const socket: Socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    let received = 0;
    let tail = '';
    let ended = false;
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      tail = (tail + chunk.toString('latin1')).slice(-64);
    };
    socket.on('data', onData);
    socket.once('end', () => {
      ended = true;
    });
    socket.write(
      'POST /v1/chat/completions HTTP/1.1\r\n' +
        `Host: 127.0.0.1:${port}\r\n` +
        'Content-Type: application/json\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        // ~8M tokens of ~6 bytes (~50 MB): far more than the socket buffers on the path hold.
        'x-sim-completion-tokens: 8000000\r\n' +
        'x-sim-chunk-tokens: 1000\r\n' +
        'Connection: close\r\n\r\n' +
        body,
    );
    assert.ok(await waitFor(() => received > 0, 3000), 'no response bytes');
    socket.pause();
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    for (let i = 0; i < 15; i++) {
      await sleep(100);
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    }
    const stats = stack.sim.stats();
    assert.equal(stats.completed, 0, `the upstream finished while the client was not reading (client had ${received} bytes)`);
    assert.equal(stats.inFlight, 1);
    const grownMB = (rssPeak - rssBefore) / 1024 / 1024;
    assert.ok(grownMB < 100, `RSS grew ${grownMB.toFixed(0)} MB while the client was paused`);

    socket.resume();
    assert.ok(await waitFor(() => ended, 30_000), `the stream did not end (received ${received} bytes)`);
    socket.destroy();
    assert.ok(received > 40 * 1024 * 1024, `only ${received} bytes`);
    assert.ok(tail.endsWith('data: [DONE]\n\n\r\n0\r\n\r\n'), `stream tail: ${JSON.stringify(tail)}`);
    assert.ok(await waitFor(() => stack.sim.stats().completed === 1), 'the upstream did not complete');
  });
});

describe('threads', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ threads: 2 });
  });
  after(() => stack.stop());

  test('two server threads serve many parallel requests, stream and not', async () => {
    assert.equal(stack.gateway.threads, 2);
    // Separate clients: separate connections, so SO_REUSEPORT spreads them over both threads.
    const clients = Array.from({ length: 8 }, () => new OpenAI({ baseURL: stack.baseURL, apiKey: 'k', maxRetries: 0 }));
    const jobs = Array.from({ length: 96 }, async (_, i) => {
      const client = clients[i % clients.length];
      if (i % 2 === 0) {
        const res = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: user(`n${i}`), max_tokens: 4 });
        return res.usage?.completion_tokens;
      }
      const stream = await client.chat.completions.create({ model: 'fast', messages: user(`s${i}`), stream: true, max_tokens: 4 });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      return text.trim().split(' ').length;
    });
    const results = await Promise.all(jobs);
    assert.deepEqual(results, Array(96).fill(4));
    assert.equal(stack.sim.stats().requests, 96);
  });
});

describe('graceful shutdown', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ threads: 2 });
  });
  after(() => stack.stop());

  test('stop() lets an in-flight stream finish, then refuses new connections', async () => {
    const stream = await stack.client.chat.completions.create(
      { model: 'gpt-4o-mini', messages: user('hi'), stream: true, max_tokens: 12 },
      { headers: { 'x-sim-tokens-per-second': '30' } },
    );
    const iterator = stream[Symbol.asyncIterator]();
    const first = await iterator.next();
    assert.equal(first.done, false);

    let stoppedAt = 0;
    const stopping = stack.gateway.stop().then(() => {
      stoppedAt = Date.now();
    });
    await sleep(50);
    assert.equal(stoppedAt, 0, 'stop() resolved while a stream was in flight');

    let text = first.value.choices[0]?.delta.content ?? '';
    let finish: string | null | undefined;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      text += next.value.choices[0]?.delta.content ?? '';
      finish = next.value.choices[0]?.finish_reason ?? finish;
    }
    const streamEndedAt = Date.now();
    assert.equal(finish, 'length');
    assert.equal(text.trim().split(' ').length, 12);
    await stopping;
    assert.ok(stoppedAt >= streamEndedAt - 5, 'stop() resolved before the stream ended');

    const refused = await new Promise<string>((resolve) => {
      const socket = connect(stack.gateway.port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    });
    assert.equal(refused, 'ECONNREFUSED');
    assert.equal(stack.sim.stats().completed, 1);
  });
});

/** Sends one HTTP/1.1 request on an open socket and resolves with the status line and headers of the answer. */
function requestOn(socket: Socket, head: string, body = ''): Promise<{ status: number; head: string; text: string }> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const end = text.indexOf('\r\n\r\n');
      if (end === -1) return;
      const headText = text.slice(0, end);
      const length = /content-length: (\d+)/i.exec(headText);
      if (length && text.length < end + 4 + Number(length[1])) return;
      socket.off('data', onData);
      resolve({ status: Number(headText.split(' ')[1]), head: headText, text });
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(head + body);
  });
}

describe('draining', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ threads: 1, server: { drain_timeout_ms: 400 } });
  });
  after(() => stack.stop());

  test('while draining, a new request on an open keep-alive connection is served and its connection closed', async () => {
    const open = async () => {
      const socket = connect(stack.gateway.port, '127.0.0.1');
      await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      const warm = await requestOn(socket, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.equal(warm.status, 200);
      return socket;
    };
    // Two kept-alive connections: every answer while draining closes its connection, health probes too.
    const [probe, socket] = [await open(), await open()];

    // A stream longer than the drain time keeps the thread draining while the second request comes in.
    const stream = await stack.client.chat.completions.create(
      { model: 'gpt-4o-mini', messages: user('hi'), stream: true },
      { headers: { 'x-sim-completion-tokens': '80', 'x-sim-tokens-per-second': '20' } },
    );
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    const stopping = stack.gateway.stop();
    await sleep(100);

    const probeClosed = new Promise<void>((resolve) => probe.once('close', () => resolve()));
    const readiness = await requestOn(probe, 'GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(readiness.status, 503, 'readyz must say not ready while draining');
    assert.ok(await Promise.race([probeClosed.then(() => true), sleep(1000).then(() => false)]), 'a health probe kept its connection open while draining');
    probe.destroy();
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: user('hi') });
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const served = await requestOn(
      socket,
      `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
      body,
    );
    assert.equal(served.status, 200);
    assert.match(served.text, /"object":"chat.completion"/);
    assert.ok(await Promise.race([closed.then(() => true), sleep(1000).then(() => false)]), 'the gateway kept the connection open');
    socket.destroy();

    // Past drain_timeout_ms the long stream is cut off: stop() resolves soon after, it does not wait for the upstream.
    const started = Date.now();
    await Promise.race([stopping, sleep(2500)]);
    assert.ok(Date.now() - started < 2000, 'stop() waited for the cut-off stream upstream to finish');
    await assert.rejects(async () => {
      for (let next = await iterator.next(); !next.done; next = await iterator.next());
    }, 'the client of a cut-off stream sees an error, not a clean end');
    assert.ok(
      await waitFor(() => stack.sim.stats().aborted === 1, 2000),
      `the cut-off stream's upstream request was not aborted: ${JSON.stringify({ ...stack.sim.stats(), last: undefined })}`,
    );
  });
});
