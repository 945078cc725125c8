// Simulator plumbing: the request plan rules, the worker-thread runner and the standalone CLI.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { defaultSimulatorOptions, parseFault, planRequest, resolveOptions } from '../../src/simulator/options.js';
import { startSimulatorThread } from '../../src/simulator/thread.js';

describe('request plan', () => {
  const options = resolveOptions({ ttft_ms: 5 });

  test('model-name rules and headers, headers winning', () => {
    assert.equal(planRequest(options, {}, 'gpt-4o').ttft_ms, 5);
    assert.equal(planRequest(options, {}, 'sim-slow-250').ttft_ms, 250);
    assert.deepEqual(planRequest(options, {}, 'sim-fast'), { ...planRequest(options, {}, 'x'), ttft_ms: 0, tokens_per_second: 0 });
    assert.equal(planRequest(options, {}, 'sim-tps-30').tokens_per_second, 30);
    assert.equal(planRequest(options, {}, 'sim-len-3').completion_tokens, 3);
    assert.equal(planRequest(options, { 'x-sim-ttft-ms': '7' }, 'sim-slow-250').ttft_ms, 7);
    assert.deepEqual(planRequest(options, { 'x-sim-fault': 'stall-after-3' }, 'sim-fault-status-500').fault, { kind: 'stall-after', chunks: 3 });
    assert.throws(() => planRequest(options, { 'x-sim-chunk-tokens': '0' }, 'm'), /x-sim-chunk-tokens/);
  });

  test('fault names', () => {
    assert.deepEqual(parseFault('status-429'), { kind: 'status', status: 429 });
    assert.deepEqual(parseFault('reset-after-0'), { kind: 'reset-after', chunks: 0 });
    assert.deepEqual(parseFault('stall-headers'), { kind: 'stall-headers' });
    assert.deepEqual(parseFault('malformed'), { kind: 'malformed' });
    assert.deepEqual(parseFault('end-after-3'), { kind: 'end-after', chunks: 3 });
    assert.deepEqual(parseFault('key-echo-stream'), { kind: 'key-echo', inStream: true, key: '' });
    assert.equal(parseFault('key-echo-later'), undefined);
    assert.deepEqual(planRequest(options, { 'x-sim-fault': 'key-echo', authorization: 'Bearer sk-abc' }, 'm').fault, { kind: 'key-echo', inStream: false, key: 'sk-abc' });
    assert.equal(parseFault('status-42'), undefined);
    assert.equal(parseFault('status-abc'), undefined);
    assert.equal(parseFault('stall-headers-now'), undefined);
  });

  test('options: defaults and validation', () => {
    assert.deepEqual(resolveOptions(), { ...defaultSimulatorOptions });
    assert.equal(defaultSimulatorOptions.completion_tokens, 16);
    assert.throws(() => resolveOptions({ chunk_tokens: 0 }), /chunk_tokens/);
    assert.throws(() => resolveOptions({ ttft_ms: Number.NaN }), /ttft_ms/);
  });
});

describe('worker thread', () => {
  test('serves from a worker thread and stops cleanly, closing its port', async () => {
    const thread = await startSimulatorThread({ completion_tokens: 3 });
    const url = `http://127.0.0.1:${thread.port}/v1/chat/completions`;
    const res = await fetch(url, { method: 'POST', body: JSON.stringify({ model: 'm', messages: [] }) });
    const body = (await res.json()) as { usage: { completion_tokens: number } };
    assert.equal(body.usage.completion_tokens, 3);
    // A stalled request is still open when stop() is called: it must be closed, not block the exit.
    const stalled = fetch(url, { method: 'POST', body: '{"model":"sim-fault-stall-headers","messages":[]}' }).catch((err: unknown) => err);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await thread.stop();
    assert.ok((await stalled) instanceof Error);
    await assert.rejects(fetch(url, { method: 'POST', body: '{}' }));
  });
});

describe('worker threads sharing a port', () => {
  test('two threads serve one port and both stop', async () => {
    const threads = await startSimulatorThread({ threads: 2, completion_tokens: 1 });
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        fetch(`http://127.0.0.1:${threads.port}/v1/models`, { headers: { connection: 'close' } }).then((res) => res.status),
      ),
    );
    assert.ok(answers.every((status) => status === 200));
    await threads.stop();
    await assert.rejects(fetch(`http://127.0.0.1:${threads.port}/v1/models`));
  });
});

describe('cli', () => {
  test('prints the port, answers, and exits 0 on SIGTERM', async () => {
    const main = fileURLToPath(new URL('../../src/simulator/main.js', import.meta.url));
    const child = spawn(process.execPath, [main, '--port', '0', '--completion-tokens', '2'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [line] = (await once(child.stdout, 'data')) as [Buffer];
    const port = /:(\d+)\s*$/.exec(line.toString())?.[1];
    assert.ok(port, line.toString());
    const res = await fetch(`http://127.0.0.1:${port}/v1/completions`, { method: 'POST', body: '{"model":"m","prompt":"x"}' });
    assert.equal(((await res.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens, 2);
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0);
  });
});
