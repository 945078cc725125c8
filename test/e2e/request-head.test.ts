// What the API listener decides from a request's head alone: a missing or wrong key is refused before
// the body is read (so an unauthenticated client cannot make the gateway buffer or parse it), and a
// head over server.max_head_bytes gets 431.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { startGateway, type RunningGateway } from '../../src/server/main.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.js';
import { expectErrorShape, stackConfigObject } from '../helpers/stack.js';
import { exchange } from '../helpers/raw-http.js';

/** One request on a fresh connection; `answers` 2 waits past the first answer to see whether the server closes. */
const ask = (port: number, request: string, answers = 1) =>
  exchange({ port, writes: [Buffer.from(request, 'latin1')], expectAnswers: Array<boolean>(answers).fill(false), deadlineMs: 3000 });

const key = 'sk-head-test-key';

describe('request heads', () => {
  let sim: RunningSimulator;
  let gateway: RunningGateway;
  let dataDir: string;
  let url: string;

  before(async () => {
    sim = await startSimulator({});
    dataDir = mkdtempSync(join(tmpdir(), 'switchyard-head-'));
    const object = stackConfigObject(sim.port, dataDir, { server: { max_body_bytes: 1024 * 1024, max_head_bytes: 16 * 1024 } });
    Object.assign(object, { auth: 'keys', keys: [{ name: 'ci', key }] });
    gateway = await startGateway(parseConfig(JSON.stringify(object), 'test'), { threads: 1 });
    url = `http://127.0.0.1:${gateway.port}/v1/chat/completions`;
  });

  after(async () => {
    await gateway?.stop();
    await sim?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  test('invalid JSON without a key is a 401, not a 400', async () => {
    const res = await post('{"model": "gpt-4o-mini", "messages": [');
    assert.equal(res.status, 401);
    assert.equal(expectErrorShape(await res.json()).error.code, 'missing_api_key');
    assert.ok(res.headers.get('x-request-id'));
  });

  test('a wrong key is refused before the body is judged', async () => {
    const res = await post('not json', { authorization: 'Bearer sk-wrong' });
    assert.equal(res.status, 401);
    assert.equal(expectErrorShape(await res.json()).error.code, 'invalid_api_key');
  });

  test('a body over max_body_bytes without a key gets the 401, read and dropped rather than buffered', async () => {
    const res = await post(' '.repeat(3 * 1024 * 1024));
    assert.equal(res.status, 401, 'a 413 would mean the body was buffered against the limit first');
    assert.equal(expectErrorShape(await res.json()).error.code, 'missing_api_key');
  });

  test('GET /v1/models without a key is refused from the head', async () => {
    const res = await fetch(`http://127.0.0.1:${gateway.port}/v1/models`);
    assert.equal(res.status, 401);
    expectErrorShape(await res.json());
  });

  test('the right key still gets its answer, and the refusals were counted', async () => {
    const res = await post(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }), { authorization: `Bearer ${key}` });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { choices: Array<{ message: { content: string } }> };
    assert.ok(body.choices[0].message.content);
    const metrics = await (await fetch(`http://127.0.0.1:${gateway.adminPort}/metrics`)).text();
    const refused = metrics
      .split('\n')
      .filter((line) => line.startsWith('switchyard_requests_total{') && line.includes('status="401"'))
      .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
    assert.ok(refused >= 4, `401s counted in switchyard_requests_total: ${refused}`);
  });

  test('a head over max_head_bytes gets 431 in the OpenAI shape and a close; one under it is served', async () => {
    const head = (size: number) =>
      `GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nX-Pad: ${'a'.repeat(size)}\r\n\r\n`;
    const big = await ask(gateway.port, head(20 * 1024), 2);
    assert.equal(big.ending, 'closed');
    assert.equal(big.responses[0]?.status, 431);
    assert.equal(expectErrorShape(JSON.parse(big.responses[0].body.toString())).error.code, 'request_header_fields_too_large');
    const small = await ask(gateway.port, head(15 * 1024));
    assert.equal(small.responses[0]?.status, 200);
  });

  describe('framing a proxy in front could read differently is refused, and nothing smuggled behind it is served', () => {
    const smuggled = 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n';
    // With a request buffered behind the refused one, this uWS build closes the connection before the
    // 400 can go out (reliability.md): the rule is that the smuggled request is never served.
    for (const [name, request] of [
      ['two Content-Length headers', `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`],
      ['Transfer-Encoding that only ends in chunked', `POST /v1/chat/completions/count_tokens HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n${smuggled}`],
    ]) {
      test(`${name}, with a request smuggled behind it`, async () => {
        const answer = await ask(gateway.port, request, 2);
        assert.equal(answer.ending, 'closed', `the connection is closed (${answer.responses.length} answers)`);
        assert.ok(answer.elapsedMs < 1000, `closed after ${answer.elapsedMs} ms`);
        assert.deepEqual(answer.responses.map((r) => r.status).filter((s) => s !== 400), [], 'the smuggled request was served');
      });
    }

    const cases: Array<[string, string]> = [
      ['two Content-Length headers', `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}`],
      ['Transfer-Encoding that only ends in chunked', `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n`],
      ['Transfer-Encoding: chunked, gzip', `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n`],
      ['two Host headers', `GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n`],
      ['a Host with a space', `GET /healthz HTTP/1.1\r\nHost: a b\r\n\r\n`],
      ['a Host with user info', `GET /healthz HTTP/1.1\r\nHost: user@127.0.0.1\r\n\r\n`],
    ];
    for (const [name, request] of cases) {
      test(name, async () => {
        const answer = await ask(gateway.port, request, 2);
        assert.equal(answer.ending, 'closed', 'the connection is closed after the refusal');
        assert.deepEqual(answer.responses.map((r) => r.status), [400]);
        assert.equal(expectErrorShape(JSON.parse(answer.responses[0].body.toString())).error.code, 'invalid_request_head');
        assert.equal(answer.rest.length, 0, `bytes after the answer: ${JSON.stringify(answer.rest.toString('latin1'))}`);
      });
    }

    test('an ordinary Host with a port, and an IPv6 literal, are served', async () => {
      for (const value of ['127.0.0.1:8080', 'llm.example.com', '[::1]:8080']) {
        const answer = await ask(gateway.port, `GET /healthz HTTP/1.1\r\nHost: ${value}\r\n\r\n`);
        assert.equal(answer.responses[0]?.status, 200, value);
      }
    });
  });
});
