// UpstreamClients.send when the sink itself throws: undici swallows what its callbacks throw, so without a
// guard the sink never hears of the exchange again and its client waits for ever.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { compileRoutes } from '../../src/config/compile.js';
import { parseConfig } from '../../src/config/load.js';
import type { GatewayError } from '../../src/shared/errors.js';
import { UpstreamClients, type UpstreamHead, type UpstreamSink } from '../../src/pipeline/upstream.js';
import { stackConfigObject } from '../helpers/stack.js';

let server: Server;
let upstream: UpstreamClients;
let config: ReturnType<typeof parseConfig>;

before(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  config = parseConfig(JSON.stringify(stackConfigObject((server.address() as { port: number }).port, '/tmp/switchyard-unused')), 'test');
  upstream = new UpstreamClients(config);
});
after(async () => {
  await upstream.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** A sink that throws from `where` and resolves with the error it is then told about. */
function throwingSink(where: 'onHeaders' | 'onData' | 'onEnd'): { sink: UpstreamSink; failed: Promise<GatewayError> } {
  let report: (error: GatewayError) => void = () => undefined;
  const failed = new Promise<GatewayError>((resolve) => (report = resolve));
  const boom = (): never => {
    throw new Error(`sink failed in ${where}`);
  };
  const sink: UpstreamSink = {
    onHeaders: (_head: UpstreamHead) => (where === 'onHeaders' ? boom() : undefined),
    onData: () => (where === 'onData' ? boom() : undefined),
    onEnd: () => (where === 'onEnd' ? boom() : undefined),
    onError: (error) => report(error),
  };
  return { sink, failed };
}

describe('UpstreamClients.send with a sink that throws', () => {
  for (const where of ['onHeaders', 'onData', 'onEnd'] as const) {
    test(`from ${where}: the sink gets one internal error instead of silence`, { timeout: 10_000 }, async () => {
      const deployment = compileRoutes(config).byModel.get('gpt-4o-mini')!;
      const { sink, failed } = throwingSink(where);
      upstream.send(deployment, '/chat/completions', [], Buffer.from('{}'), false, sink);
      const error = await failed;
      assert.equal(error.status, 500);
      assert.equal(error.code, 'internal_error');
    });
  }
});
