// Gateway RSS and open file descriptors at idle and with N open SSE streams (docs/operations.md sizing).
//
//   npx tsc -p tsconfig.json --outDir dist   (or any build dir, passed as --dist)
//   node bench/experiments/open-streams-memory.mjs [--dist dist] [--streams 1000,5000] [--threads 1]
//        [--connections N] [--tps 0.5] [--settle-s 5]
//
// The simulator runs in its own process, so the gateway's numbers hold only the gateway: each stream
// is one client socket and one upstream socket in it. The streams are opened by a child process
// (this file with --client) over raw sockets; each asks the simulator, through the gateway's
// forwarded x-sim-* headers, for 3,600 tokens at --tps tokens a second, so it stays open for the
// whole run. A stream counts as open once its first content event arrived. Counts are cumulative:
// with --streams 1000,5000 the second step opens 4,000 more. Prints a table and a JSON summary.
import { fork, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    client: { type: 'boolean', default: false },
    dist: { type: 'string', default: 'dist' },
    streams: { type: 'string', default: '1000,5000' },
    threads: { type: 'string', default: '1' },
    connections: { type: 'string' },
    tps: { type: 'string', default: '0.5' },
    'settle-s': { type: 'string', default: '5' },
  },
});

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

if (values.client) runClient();
else await runParent();

// ---- the client process: opens streams on request, reports how many are open ----------------------

function runClient() {
  const sockets = [];
  let open = 0;
  let failed = 0;
  let pending = 0;
  let target = 0;
  let port = 0;
  let tps = 0.5;
  const maxPending = 200; // the gateway's listen backlog is 512; stay well under it
  const body = JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'Hold this stream open.' }] });
  const request = () =>
    `POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\n` +
    `x-sim-tokens-per-second: ${tps}\r\nx-sim-completion-tokens: 3600\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

  const openOne = () => {
    pending++;
    let seen = '';
    let counted = false;
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request()));
    socket.setNoDelay(true);
    sockets.push(socket);
    // A stream queued behind providers[].connections gets nothing: count it as failed, leave it open.
    const patience = setTimeout(() => fail('no first event within 30 s', false), 30_000);
    socket.on('data', (chunk) => {
      if (counted) return; // read and drop: the stream keeps flowing at tps
      seen += chunk.toString('latin1');
      if (!seen.startsWith('HTTP/1.1 200')) {
        if (seen.includes('\r\n\r\n')) fail(`status ${seen.slice(0, seen.indexOf('\r\n'))}`);
        return;
      }
      if (seen.includes('"content":"') && /"content":"[^"]/.test(seen)) {
        clearTimeout(patience);
        counted = true;
        seen = '';
        pending--;
        open++;
        pump();
      }
    });
    const fail = (why, close = true) => {
      if (counted) return;
      clearTimeout(patience);
      counted = true;
      pending--;
      failed++;
      process.send({ type: 'error', why });
      if (close) socket.destroy();
      pump();
    };
    socket.on('error', (err) => fail(err.message));
    socket.on('close', () => {
      if (!counted) fail('closed before the first event');
    });
  };

  const pump = () => {
    while (open + failed + pending < target && pending < maxPending) openOne();
    if (pending === 0 && open + failed >= target) process.send({ type: 'open', open, failed });
  };

  process.on('message', (message) => {
    if (message.type === 'open') {
      port = message.port;
      tps = message.tps;
      target = message.count;
      pump();
    } else if (message.type === 'close') {
      for (const socket of sockets) socket.destroy();
      process.send({ type: 'closed' });
      setTimeout(() => process.exit(0), 100);
    }
  });
}

// ---- the parent: simulator, gateway, measurements -------------------------------------------------

function procStats(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss_mib: Math.round((kib('VmRSS') / 1024) * 10) / 10, fds: readdirSync(`/proc/${pid}/fd`).length, threads: Number(/^Threads:\s+(\d+)/m.exec(status)?.[1]) };
}

function freePort() {
  return new Promise((done, fail) => {
    const server = net.createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

/** Starts a child and resolves once a line of its output matches `ready`. */
function startChild(args, ready, name) {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`${name} did not start:\n${output}`)), 30_000);
    const onData = (chunk) => {
      output += chunk.toString();
      const match = ready.exec(output);
      if (match) {
        clearTimeout(timer);
        child.stdout.removeAllListeners('data');
        child.stderr.removeAllListeners('data');
        child.stdout.resume();
        child.stderr.on('data', (c) => /"level":"(warn|error)"/.test(c.toString()) && process.stderr.write(`[${name}] ${c}`));
        done({ child, match });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => fail(new Error(`${name} exited with ${code}:\n${output}`)));
  });
}

async function metric(adminPort, name) {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').pop()) : undefined;
}

async function runParent() {
  const dist = resolve(values.dist);
  const steps = values.streams.split(',').map(Number);
  const most = Math.max(...steps);
  const tps = Number(values.tps);
  const threads = values.threads === 'auto' ? 'auto' : Number(values.threads);
  const connections = values.connections ? Number(values.connections) : Math.min(65536, most + 64);
  const settleMs = Number(values['settle-s']) * 1000;
  const work = mkdtempSync(join(tmpdir(), 'switchyard-open-streams-'));
  const started = [];
  try {
    const sim = await startChild([join(dist, 'src/simulator/main.js'), '--port', '0', '--host', '127.0.0.1'], /listening on http:\/\/[^:]+:(\d+)/, 'simulator');
    started.push(sim.child);
    const simPort = Number(sim.match[1]);
    const [port, adminPort] = [await freePort(), await freePort()];
    const config = join(work, 'gateway.yaml');
    writeFileSync(
      config,
      [
        `server: { host: 127.0.0.1, port: ${port}, threads: ${threads} }`,
        `admin: { host: 127.0.0.1, port: ${adminPort}, token: open-streams-memory-token }`,
        `data_dir: ${JSON.stringify(join(work, 'data'))}`,
        'simulator: { enabled: false }',
        'providers:',
        `  - { name: sim, type: openai, base_url: "http://127.0.0.1:${simPort}/v1", api_key: sk-bench, connections: ${connections} }`,
        'models:',
        '  - { name: gpt-4o-mini, provider: sim }',
        '',
      ].join('\n'),
    );
    const gateway = await startChild([join(dist, 'src/cli.js'), 'start', '--config', config, '--no-watch'], /switchyard listening/, 'gateway');
    started.push(gateway.child);
    const pid = gateway.child.pid;

    // Warm up: a few whole requests, so the idle figure is a gateway that has served traffic.
    for (let i = 0; i < 50; i++) {
      await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
      }).then((r) => r.text());
    }
    await sleep(settleMs);
    const rows = [{ streams: 0, ...procStats(pid), simulator: procStats(sim.child.pid), in_flight: await metric(adminPort, 'switchyard_in_flight_requests') }];

    const client = fork(new URL(import.meta.url).pathname, ['--client'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    started.push(client);
    const errors = [];
    client.on('message', (m) => m.type === 'error' && errors.length < 20 && errors.push(m.why));
    const waitFor = (type) => new Promise((done) => client.on('message', (m) => m.type === type && done(m)));
    for (const count of steps) {
      const reply = waitFor('open');
      client.send({ type: 'open', count, port, tps });
      const { open, failed } = await reply;
      await sleep(settleMs);
      rows.push({ streams: open, failed, ...procStats(pid), simulator: procStats(sim.child.pid), in_flight: await metric(adminPort, 'switchyard_in_flight_requests') });
    }
    const closed = waitFor('closed');
    client.send({ type: 'close' });
    await closed;
    // Each close aborts an upstream request; wait until the gateway has finished them all (at most 60 s).
    for (let waited = 0; waited < 60_000 && (await metric(adminPort, 'switchyard_in_flight_requests')) !== 0; waited += 500) await sleep(500);
    await sleep(settleMs);
    rows.push({ streams: 'after close', ...procStats(pid), simulator: procStats(sim.child.pid), in_flight: await metric(adminPort, 'switchyard_in_flight_requests') });

    const idle = rows[0];
    console.log(`gateway: server.threads ${threads}, providers[].connections ${connections}, ${tps} tokens/s per stream, Node ${process.version}`);
    console.log('| open streams | gateway RSS MiB | per 1,000 streams over idle, MiB | per 1,000 over the previous step, MiB | gateway fds | fds per stream | gateway threads | in flight (/metrics) | simulator RSS MiB |');
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    let previous = idle;
    for (const row of rows) {
      const n = typeof row.streams === 'number' ? row.streams : 0;
      const before = typeof previous.streams === 'number' ? previous.streams : 0;
      const perK = n > 0 ? ((row.rss_mib - idle.rss_mib) / (n / 1000)).toFixed(1) : '';
      const stepK = n > before && before > 0 ? ((row.rss_mib - previous.rss_mib) / ((n - before) / 1000)).toFixed(1) : '';
      const perStream = n > 0 ? ((row.fds - idle.fds) / n).toFixed(2) : '';
      console.log(`| ${row.streams}${row.failed ? ` (${row.failed} failed)` : ''} | ${row.rss_mib} | ${perK} | ${stepK} | ${row.fds} | ${perStream} | ${row.threads} | ${row.in_flight ?? ''} | ${row.simulator.rss_mib} |`);
      previous = row;
    }
    if (errors.length) console.log(`first errors: ${errors.join('; ')}`);
    console.log(JSON.stringify({ threads, connections, tps, node: process.version, rows }));
  } finally {
    for (const child of started.reverse()) {
      if (child.exitCode === null) {
        const exited = new Promise((done) => child.once('exit', done));
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(40_000)]);
      }
    }
    rmSync(work, { recursive: true, force: true });
  }
}
