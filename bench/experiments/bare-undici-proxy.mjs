// Experiment (docs/BENCHMARKS.md, "The c=1 latency and its tail"): the gateway's stack without its
// stages — uWS in a worker thread, undici Pool.dispatch upstream, non-stream bodies only.
// node bench/experiments/bare-undici-proxy.mjs PORT UPSTREAM_PORT
import { createRequire } from 'node:module';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { serve } from './bare-front.mjs';

const require = createRequire(import.meta.url);
if (isMainThread) {
  const worker = new Worker(new URL(import.meta.url), { workerData: { port: Number(process.argv[2]), up: Number(process.argv[3]) } });
  worker.on('message', (line) => console.log(line));
} else {
  const { Pool } = require('undici');
  const pool = new Pool(`http://127.0.0.1:${workerData.up}`, { connections: 256, pipelining: 1, connect: { noDelay: true } });
  const forward = (path, body, reply) => {
    const out = [];
    let status = 0;
    pool.dispatch(
      { method: 'POST', path, headers: ['content-type', 'application/json'], body },
      {
        onConnect() {},
        onHeaders: (s) => ((status = s), true),
        onData: (c) => (out.push(c), true),
        onComplete: () => reply(status, Buffer.concat(out)),
        onError: () => reply(502, ''),
      },
    );
  };
  serve(workerData.port, forward, (line) => parentPort.postMessage(line));
}
