// Measures an upgrade on one port: gateway A serves, gateway B starts on the same public port
// (SO_REUSEPORT, its own admin port), A gets SIGTERM and drains, B serves alone. Clients run the
// whole time: OpenAI SDK streams and requests, node:http keep-alive loops (one socket each, so the
// last answer on every connection to A is seen) and loops opening a new connection per request
// (the accept-queue case). Prints what failed and how long each phase took, as JSON.
// Run from the repo after a build:
//   node bench/experiments/upgrade-swap.mjs [--build .build-upgrade] [--runs 3] [--seconds 3]
// To compare net.ipv4.tcp_migrate_req without touching the host: run it as root in a private
// network namespace, e.g.
//   unshare -n sh -c 'ip link set lo up; sysctl -qw net.ipv4.tcp_migrate_req=0; node bench/experiments/upgrade-swap.mjs'
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import OpenAI from 'openai';

const { values } = parseArgs({
  options: {
    build: { type: 'string', default: 'dist' },
    runs: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '3' },
    'stream-loops': { type: 'string', default: '6' },
    'request-loops': { type: 'string', default: '4' },
    'keepalive-loops': { type: 'string', default: '4' },
    'fresh-loops': { type: 'string', default: '4' },
  },
});
const build = resolve(values.build);
const n = (name) => Number(values[name]);

const freePort = () =>
  new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function startProcess(name, args, env) {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = [];
  const exited = new Promise((done) => child.once('exit', (code, signal) => done({ code, signal, at: performance.now() })));
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding('utf8');
    stream.on('data', (text) => lines.push(...text.split('\n').filter(Boolean)));
  }
  return { name, child, lines, exited };
}

async function waitReady(url, timeoutMs) {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return true;
    } catch {}
    await sleep(25);
  }
  return false;
}

async function metricTotal(adminPort) {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) if (line.startsWith('switchyard_requests_total{')) total += Number(line.split(' ').at(-1));
  return total;
}

const body = (stream) =>
  JSON.stringify({ model: 'gpt-4o-mini', stream, messages: [{ role: 'user', content: 'hi' }] });
const streamHeaders = { 'x-sim-tokens-per-second': '10', 'x-sim-completion-tokens': '20' };

/** One request over node:http; resolves with status, the response's connection header and the body. */
function httpCall(port, agent, stream) {
  return new Promise((done, fail) => {
    const payload = body(stream);
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/v1/chat/completions',
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...(stream ? streamHeaders : {}) },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => done({ status: res.statusCode, connection: res.headers.connection, text: Buffer.concat(chunks).toString(), socket: req.socket }));
        res.on('error', fail);
      },
    );
    req.on('error', fail);
    req.end(payload);
  });
}

async function run(index) {
  const work = mkdtempSync(join(tmpdir(), 'sy-upgrade-'));
  const [apiPort, simPort, adminA, adminB] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const config = join(work, 'switchyard.yaml');
  writeFileSync(
    config,
    [
      `server: { host: 127.0.0.1, port: ${apiPort}, threads: 2, drain_timeout_ms: 20000 }`,
      'admin:',
      '  host: 127.0.0.1',
      '  port: ${SWITCHYARD_ADMIN_PORT}',
      `data_dir: ${join(work, 'data')}`,
      'simulator: { enabled: false }',
      'providers:',
      `  - { name: sim, type: openai, base_url: "http://127.0.0.1:${simPort}/v1", api_key: sk-sim }`,
      'models:',
      '  - { name: gpt-4o-mini, provider: sim }',
    ].join('\n'),
  );
  const sim = startProcess('sim', [join(build, 'src/simulator/main.js'), '--port', String(simPort)], {});
  const cli = join(build, 'src/cli.js');
  const env = (admin) => ({ SWITCHYARD_ADMIN_PORT: String(admin), SWITCHYARD_LOG_LEVEL: 'info' });
  const a = startProcess('A', [cli, 'start', '--config', config], env(adminA));
  if (!(await waitReady(`http://127.0.0.1:${adminA}/readyz`, 60_000))) throw new Error(`A never ready: ${a.lines.join('\n')}`);

  const failures = [];
  const counts = { streams: 0, requests: 0, keepalive: 0, fresh: 0 };
  /** Sockets to A that ended: was the last answer on them `connection: close`? */
  const keepaliveSockets = { closedAfterCloseHeader: 0, closedOtherwise: 0 };
  const inFlightAt = { sigterm: 0 };
  let inFlight = 0;
  let running = true;
  const tracked = async (kind, fn) => {
    inFlight++;
    try {
      await fn();
      counts[kind]++;
    } catch (err) {
      failures.push(`${kind}: ${err?.message} ${err?.cause?.code ?? err?.code ?? ''}`.trim());
    } finally {
      inFlight--;
    }
  };
  const client = new OpenAI({ baseURL: `http://127.0.0.1:${apiPort}/v1`, apiKey: 'sk-test', maxRetries: 0 });
  const streamLoop = async () => {
    while (running)
      await tracked('streams', async () => {
        const stream = await client.chat.completions.create(
          { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] },
          { headers: streamHeaders },
        );
        let chunks = 0;
        let finish;
        for await (const chunk of stream) {
          if (chunk.choices[0]?.delta?.content) chunks++;
          finish = chunk.choices[0]?.finish_reason ?? finish;
        }
        if (chunks !== 20 || finish !== 'stop') throw new Error(`stream: ${chunks} chunks, finish ${finish}`);
      });
  };
  const requestLoop = async () => {
    while (running)
      await tracked('requests', async () => {
        const answer = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'ping' }] });
        if (!answer.choices[0]?.message.content) throw new Error('empty answer');
      });
  };
  const keepaliveLoop = async (i) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const seen = new WeakSet();
    let stream = i % 2 === 0;
    while (running) {
      await tracked('keepalive', async () => {
        const answer = await httpCall(apiPort, agent, stream);
        if (answer.status !== 200) throw new Error(`status ${answer.status}: ${answer.text.slice(0, 200)}`);
        if (stream ? !answer.text.includes('data: [DONE]') : !answer.text.includes('"choices"')) throw new Error('incomplete answer');
        const socket = answer.socket;
        if (!seen.has(socket)) {
          seen.add(socket);
          socket.once('close', () => {
            if (!running) return;
            if (socket.lastConnectionHeader === 'close') keepaliveSockets.closedAfterCloseHeader++;
            else keepaliveSockets.closedOtherwise++;
          });
        }
        socket.lastConnectionHeader = answer.connection;
      });
      stream = !stream;
    }
    agent.destroy();
  };
  const freshLoop = async () => {
    while (running)
      await tracked('fresh', async () => {
        const answer = await httpCall(apiPort, false, false);
        if (answer.status !== 200) throw new Error(`status ${answer.status}`);
      });
  };
  const loops = [
    ...Array.from({ length: n('stream-loops') }, streamLoop),
    ...Array.from({ length: n('request-loops') }, requestLoop),
    ...Array.from({ length: n('keepalive-loops') }, (_, i) => keepaliveLoop(i)),
    ...Array.from({ length: n('fresh-loops') }, freshLoop),
  ];

  await sleep(1000);
  const t0 = performance.now();
  const b = startProcess('B', [cli, 'start', '--config', config], env(adminB));
  if (!(await waitReady(`http://127.0.0.1:${adminB}/readyz`, 60_000))) throw new Error(`B never ready: ${b.lines.join('\n')}`);
  const tReady = performance.now();
  const servedByABeforeSigterm = await metricTotal(adminA);
  const doneBeforeSigterm = counts.streams + counts.requests + counts.keepalive + counts.fresh;
  inFlightAt.sigterm = inFlight;
  const tSigterm = performance.now();
  a.child.kill('SIGTERM');
  const aExit = await a.exited;
  const servedByBAtAExit = await metricTotal(adminB);
  await sleep(Number(values.seconds) * 1000);
  running = false;
  await Promise.all(loops);
  const servedByB = await metricTotal(adminB);
  b.child.kill('SIGTERM');
  const bExit = await b.exited;
  sim.child.kill('SIGTERM');
  await sim.exited;
  rmSync(work, { recursive: true, force: true });
  return {
    run: index,
    tcp_migrate_req: readFileSync('/proc/sys/net/ipv4/tcp_migrate_req', 'utf8').trim(),
    answered: { ...counts, total: counts.streams + counts.requests + counts.keepalive + counts.fresh },
    failed: failures.length,
    failures: failures.slice(0, 10),
    doneBeforeSigterm,
    inFlightAtSigterm: inFlightAt.sigterm,
    servedByABeforeSigterm,
    servedByBWhileADrained: servedByBAtAExit,
    servedByB,
    keepaliveSocketsToA: keepaliveSockets,
    bStartToReadyMs: Math.round(tReady - t0),
    aDrainMs: Math.round(aExit.at - tSigterm),
    aExit: { code: aExit.code, signal: aExit.signal },
    bExit: { code: bExit.code, signal: bExit.signal },
    aLogTail: a.lines.filter((l) => /"level":"(warn|error)"/.test(l)).slice(-5),
  };
}

const results = [];
for (let i = 0; i < n('runs'); i++) {
  const result = await run(i + 1);
  results.push(result);
  console.log(JSON.stringify(result));
}
console.log(
  JSON.stringify({
    runs: results.length,
    answered: results.reduce((s, r) => s + r.answered.total, 0),
    failed: results.reduce((s, r) => s + r.failed, 0),
  }),
);
