// A response that must close its connection (a draining server) stays well framed, streamed or not.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Reply } from '../../src/server/http.js';
import { listen } from '../../src/server/uws.js';
import { exchange } from '../helpers/raw-http.js';

/** One request on a fresh connection; `answers` 2 waits past the first answer to see whether the server closes. */
const ask = (port: number, request: string, answers = 1) =>
  exchange({ port, writes: [Buffer.from(request, 'latin1')], expectAnswers: Array<boolean>(answers).fill(false), deadlineMs: 3000 });

function listenWith(handler: (reply: Reply) => void) {
  return listen(
    { host: '127.0.0.1', port: 0, clientAddress: false, maxBodyBytes: 1024, bodyTooLarge: () => ({ status: 413, headers: [], body: '' }) },
    (_head, _body, reply) => handler(reply),
  );
}

const request = 'GET /s HTTP/1.1\r\nHost: x\r\n\r\n';

describe('closeWhenDone', () => {
  test('a streamed answer announces the close in its head and its chunked body stays intact', async () => {
    const listener = await listenWith((reply) => {
      reply.closeWhenDone();
      reply.start(200, [['content-type', 'text/event-stream']]);
      let n = 0;
      const timer = setInterval(() => {
        n++;
        if (n < 4) reply.write(`data: ${'x'.repeat(250)}${n}\n\n`);
        else {
          clearInterval(timer);
          reply.end('data: [DONE]\n\n');
        }
      }, 5);
    });
    try {
      const answer = await ask(listener.port, request);
      assert.equal(answer.ending, 'complete', answer.problem);
      const response = answer.responses[0];
      assert.equal(response.status, 200);
      assert.equal(response.headers.connection, 'close', 'one Connection: close, in the head');
      assert.equal(response.body.toString(), [1, 2, 3].map((n) => `data: ${'x'.repeat(250)}${n}\n\n`).join('') + 'data: [DONE]\n\n');
      assert.equal(answer.rest.length, 0, `bytes after the last chunk: ${JSON.stringify(answer.rest.toString('latin1'))}`);
    } finally {
      listener.closeAll();
    }
  });

  test('a whole answer carries one Connection: close and the server closes after it', async () => {
    const listener = await listenWith((reply) => {
      reply.closeWhenDone();
      setTimeout(() => reply.send(200, [['content-type', 'application/json']], '{"ok":true}'), 5);
    });
    try {
      const answer = await ask(listener.port, request, 2);
      assert.equal(answer.ending, 'closed', 'the server closed the connection after its answer');
      assert.equal(answer.responses.length, 1);
      const response = answer.responses[0];
      assert.equal(response.body.toString(), '{"ok":true}');
      assert.equal(response.headers.connection?.toLowerCase(), 'close');
      assert.equal(answer.rest.length, 0);
    } finally {
      listener.closeAll();
    }
  });
});
