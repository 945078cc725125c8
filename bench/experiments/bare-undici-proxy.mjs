// Experiment (docs/BENCHMARKS.md, "The c=1 tail"): the gateway's stack without its stages — uWS in a
// worker thread, undici Pool.dispatch upstream, non-stream bodies only.
// node bench/experiments/bare-undici-proxy.mjs PORT UPSTREAM_PORT
import { createRequire } from 'node:module';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const require = createRequire(import.meta.url);
if (isMainThread) {
  const worker = new Worker(new URL(import.meta.url), { workerData: { port: Number(process.argv[2]), up: Number(process.argv[3]) } });
  worker.on('message', (line) => console.log(line));
} else {
  const uws = require('uWebSockets.js');
  const { Pool } = require('undici');
  const pool = new Pool(`http://127.0.0.1:${workerData.up}`, { connections: 256, pipelining: 1, connect: { noDelay: true } });
  uws
    .App()
    .any('/*', (res, req) => {
      const path = req.getUrl();
      const chunks = [];
      let aborted = false;
      res.onAborted(() => (aborted = true));
      res.onData((ab, last) => {
        chunks.push(Buffer.from(ab.slice(0)));
        if (!last) return;
        const out = [];
        let status = 0;
        pool.dispatch(
          { method: 'POST', path, headers: ['content-type', 'application/json'], body: Buffer.concat(chunks) },
          {
            onConnect() {},
            onHeaders: (s) => ((status = s), true),
            onData: (c) => (out.push(c), true),
            onComplete: () => aborted || res.cork(() => res.writeStatus(String(status)).writeHeader('content-type', 'application/json').end(Buffer.concat(out))),
            onError: () => aborted || res.cork(() => res.writeStatus('502').end()),
          },
        );
      });
    })
    .listen('127.0.0.1', workerData.port, () => parentPort.postMessage(`listening on http://127.0.0.1:${workerData.port}`));
}
