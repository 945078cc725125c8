import { connect } from 'node:net';
// The uWS adapter loads the native binary (never a JS fallback) and serves through the transport-neutral Reply.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadUws, listen } from '../../src/server/uws.js';

describe('loadUws', () => {
  test('returns the native build', () => {
    const uws = loadUws();
    assert.equal(typeof uws.App, 'function');
    assert.match(Function.prototype.toString.call(uws.App), /\[native code\]/);
    assert.equal(loadUws(), uws, 'loaded once');
  });
});

describe('listen', () => {
  test('serves a request with its head and body, and refuses a body over the limit with 413', async () => {
    const seen: Array<{ method: string; path: string; query: string; header: string | undefined; body: string; remote: string }> = [];
    const listener = await listen(
      {
        host: '127.0.0.1',
        port: 0,
        clientAddress: true,
        maxBodyBytes: 1024,
        bodyTooLarge: () => ({ status: 413, headers: [['content-type', 'application/json']], body: '{"error":"big"}' }),
      },
      (head, body, reply) => {
        seen.push({ method: head.method, path: head.path, query: head.query, header: head.headers['x-test'], body: body.toString(), remote: head.remoteAddress });
        reply.send(201, [['content-type', 'text/plain'], ['x-answer', 'yes']], 'created');
      },
    );
    try {
      assert.ok(listener.port > 0);
      const res = await fetch(`http://127.0.0.1:${listener.port}/a/b?x=1`, { method: 'POST', headers: { 'x-test': 'T' }, body: 'hello' });
      assert.equal(res.status, 201);
      assert.equal(res.headers.get('x-answer'), 'yes');
      assert.equal(await res.text(), 'created');
      assert.deepEqual(seen, [{ method: 'POST', path: '/a/b', query: 'x=1', header: 'T', body: 'hello', remote: '127.0.0.1' }]);

      const big = await fetch(`http://127.0.0.1:${listener.port}/`, { method: 'POST', body: 'x'.repeat(5000) });
      assert.equal(big.status, 413);
      assert.equal(await big.text(), '{"error":"big"}');
      assert.equal(seen.length, 1, 'the handler was not called for the refused body');
      assert.equal(listener.inFlight(), 0);
    } finally {
      listener.closeAll();
    }
  });

  test('a dual-stack listener reports IPv4 clients dotted and IPv6 clients in RFC 5952 form', async () => {
    const remotes: string[] = [];
    const listener = await listen(
      { host: '::', port: 0, clientAddress: true, maxBodyBytes: 1024, bodyTooLarge: () => ({ status: 413, headers: [], body: '' }) },
      (head, _body, reply) => {
        remotes.push(head.remoteAddress);
        reply.send(200, [['content-type', 'text/plain']], 'ok');
      },
    );
    try {
      assert.equal((await fetch(`http://127.0.0.1:${listener.port}/`)).status, 200);
      assert.equal((await fetch(`http://[::1]:${listener.port}/`)).status, 200);
      assert.deepEqual(remotes, ['127.0.0.1', '::1']);
    } finally {
      listener.closeAll();
    }
  });

  test('HEAD gets the headers and the length of the GET answer but no body, so a pipelined request still parses', async () => {
    const listener = await listen(
      {
        host: '127.0.0.1',
        port: 0,
        clientAddress: false,
        maxBodyBytes: 1024,
        bodyTooLarge: () => ({ status: 413, headers: [], body: '' }),
      },
      (_head, _body, reply) => reply.send(200, [['content-type', 'application/json']], '{"status":"ok"}'),
    );
    try {
      const text = await new Promise<string>((resolve, reject) => {
        const socket = connect(listener.port, '127.0.0.1', () => {
          socket.write('HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
        });
        let received = '';
        const timer = setTimeout(() => {
          socket.destroy();
          reject(new Error(`no complete answer: ${JSON.stringify(received)}`));
        }, 2000);
        socket.on('data', (chunk: Buffer) => {
          received += chunk.toString('latin1');
          if (received.endsWith('{"status":"ok"}')) {
            clearTimeout(timer);
            socket.destroy();
            resolve(received);
          }
        });
        socket.once('error', reject);
      });
      const answers = text.split('HTTP/1.1 200 OK').slice(1);
      assert.equal(answers.length, 2, text);
      assert.match(answers[0], /content-length: 15\r\n/i, 'HEAD: the length of the GET body');
      assert.ok(answers[0].endsWith('\r\n\r\n'), 'HEAD: no body bytes');
      assert.match(answers[1], /\r\n\r\n\{"status":"ok"\}$/, 'GET: the body');
    } finally {
      listener.closeAll();
    }
  });
});
