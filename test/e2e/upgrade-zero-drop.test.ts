// An upgrade as an operator runs it: `switchyard start` B on the same public port as A (SO_REUSEPORT,
// its own admin port), B ready, SIGTERM to A, A drains and exits, B serves alone. Clients run through
// it all (OpenAI SDK streams and requests, node:http keep-alive loops) and none may fail.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import OpenAI from 'openai';
import { acceptQueueMigrates } from '../../src/server/reuseport.js';
import { freePort } from '../../src/shared/free-port.js';

const build = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(build, 'src/cli.js');
const simulatorMain = join(build, 'src/simulator/main.js');
const startTimeoutMs = 120_000;
/** Streams of 20 tokens at 10 tokens/s: about 2 s each, so several are in flight when A is told to stop. */
const slowStream = { 'x-sim-tokens-per-second': '10', 'x-sim-completion-tokens': '20' };

interface Running {
  child: ChildProcess;
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function run(args: string[], env: Record<string, string>): Running {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding('utf8');
    stream?.on('data', (text: string) => output.push(...text.split('\n').filter((line) => line !== '')));
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.once('exit', (code, signal) => done({ code, signal })));
  return { child, output, exited };
}

async function stopProcess(p: Running | undefined): Promise<void> {
  if (!p) return;
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
  await p.exited;
}

/** Polls until `url` answers 200; false when the process exits or time runs out first. */
async function ready(url: string, p: Running): Promise<boolean> {
  const deadline = Date.now() + startTimeoutMs;
  while (Date.now() < deadline && p.child.exitCode === null) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

async function requestsServed(adminPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) if (line.startsWith('switchyard_requests_total{')) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  return total;
}

interface HttpAnswer {
  status: number | undefined;
  headers: IncomingHttpHeaders;
  text: string;
  socket: Socket;
}

/** One chat request over node:http through `agent` (false: a new connection of its own). */
function httpChat(port: number, agent: Agent | false, stream: boolean): Promise<HttpAnswer> {
  const payload = JSON.stringify({ model: 'gpt-4o-mini', stream, messages: [{ role: 'user', content: 'hi' }] });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/v1/chat/completions',
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)), ...(stream ? slowStream : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString(), socket: req.socket as Socket }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const describeError = (err: unknown) => {
  const e = err as { message?: string; code?: string; cause?: { code?: string; message?: string } };
  return `${e?.message ?? String(err)} ${e?.cause?.code ?? e?.code ?? e?.cause?.message ?? ''}`.trim();
};

describe('upgrade: a new gateway process takes over the port while the old one drains', () => {
  test('no request or stream fails, connections to the old process end after a Connection: close answer, and the new one serves alone', { timeout: 600_000 }, async (t) => {
    const work = mkdtempSync(join(tmpdir(), 'switchyard-upgrade-'));
    const [apiPort, simPort, adminA, adminB] = [await freePort('127.0.0.1'), await freePort('127.0.0.1'), await freePort('127.0.0.1'), await freePort('127.0.0.1')];
    const config = join(work, 'switchyard.yaml');
    // One config file for both processes, as in the systemd recipe: the admin port comes from the environment.
    writeFileSync(
      config,
      [
        'server:',
        '  host: 127.0.0.1',
        `  port: ${apiPort}`,
        '  threads: 2',
        '  drain_timeout_ms: 30000',
        'admin:',
        '  host: 127.0.0.1',
        '  port: ${SWITCHYARD_ADMIN_PORT}',
        `data_dir: ${join(work, 'data')}`,
        'simulator:',
        '  enabled: false',
        'providers:',
        `  - { name: sim, type: openai, base_url: "http://127.0.0.1:${simPort}/v1", api_key: sk-upstream }`,
        'models:',
        '  - { name: gpt-4o-mini, provider: sim }',
      ].join('\n'),
    );
    const env = (adminPort: number) => ({ SWITCHYARD_ADMIN_PORT: String(adminPort), SWITCHYARD_LOG_LEVEL: 'info' });
    let sim: Running | undefined;
    let a: Running | undefined;
    let b: Running | undefined;
    const loops: Array<Promise<void>> = [];
    let running = true;
    try {
      sim = run([simulatorMain, '--port', String(simPort)], {});
      a = run([cli, 'start', '--config', config], env(adminA));
      assert.equal(await ready(`http://127.0.0.1:${adminA}/readyz`, a), true, `A never became ready:\n${a.output.join('\n')}`);

      // Where the kernel resets connections queued on a closing listen socket (tcp_migrate_req=0), a client
      // opening a new connection just then gets a reset, whatever the gateway does (docs/operations.md);
      // so the loops opening a connection per request run only where the queue migrates.
      const freshConnections = acceptQueueMigrates() === true;
      const failures: string[] = [];
      let completed = 0;
      let sigtermAt: number | undefined;
      let aExitedAt: number | undefined;
      let streamsAcrossSigterm = 0;
      const answeredBy = new Map<string, number>();
      const afterExit = new Map<string, number>();
      const keepAliveToA = { closedAfterConnectionClose: 0, closedOtherwise: 0 };

      const loop = (name: string, once: () => Promise<void>) =>
        (async () => {
          while (running) {
            const startedAt = Date.now();
            try {
              await once();
              completed++;
              answeredBy.set(name, (answeredBy.get(name) ?? 0) + 1);
              if (sigtermAt !== undefined && startedAt < sigtermAt && name.startsWith('sdk-stream')) streamsAcrossSigterm++;
              if (aExitedAt !== undefined && startedAt > aExitedAt) afterExit.set(name, (afterExit.get(name) ?? 0) + 1);
            } catch (err) {
              failures.push(`${name}: ${describeError(err)}`);
            }
          }
        })();

      const client = new OpenAI({ baseURL: `http://127.0.0.1:${apiPort}/v1`, apiKey: 'sk-client', maxRetries: 0 });
      const sdkStream = async () => {
        const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] }, { headers: slowStream });
        let chunks = 0;
        let finish: string | null | undefined;
        for await (const chunk of stream) {
          if (chunk.choices[0]?.delta?.content) chunks++;
          finish = chunk.choices[0]?.finish_reason ?? finish;
        }
        if (chunks !== 20 || finish !== 'stop') throw new Error(`stream ended after ${chunks} chunks, finish_reason ${finish}`);
      };
      const sdkRequest = async () => {
        const answer = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'ping' }] });
        if (!answer.choices[0]?.message.content) throw new Error('empty answer');
      };
      /** One socket per loop, so every answer on a connection to A is seen, the last one included. */
      const keepAlive = (agent: Agent) => {
        const watched = new WeakSet<Socket>();
        const lastConnectionHeader = new WeakMap<Socket, string | undefined>();
        let stream = false;
        return async () => {
          stream = !stream;
          const answer = await httpChat(apiPort, agent, stream);
          if (answer.status !== 200) throw new Error(`status ${answer.status}: ${answer.text.slice(0, 200)}`);
          if (stream ? !answer.text.trimEnd().endsWith('data: [DONE]') : !answer.text.includes('"choices"')) throw new Error(`incomplete answer: ${answer.text.slice(-200)}`);
          const socket = answer.socket;
          lastConnectionHeader.set(socket, answer.headers.connection);
          if (!watched.has(socket) && b === undefined) {
            // Opened before B existed: a connection to A.
            watched.add(socket);
            socket.once('close', () => {
              if (lastConnectionHeader.get(socket) === 'close') keepAliveToA.closedAfterConnectionClose++;
              else keepAliveToA.closedOtherwise++;
            });
          }
        };
      };
      const fresh = async () => {
        const answer = await httpChat(apiPort, false, false);
        if (answer.status !== 200) throw new Error(`status ${answer.status}`);
      };

      const agents = [new Agent({ keepAlive: true, maxSockets: 1 }), new Agent({ keepAlive: true, maxSockets: 1 })];
      for (let i = 0; i < 4; i++) loops.push(loop(`sdk-stream-${i}`, sdkStream));
      for (let i = 0; i < 3; i++) loops.push(loop(`sdk-request-${i}`, sdkRequest));
      agents.forEach((agent, i) => loops.push(loop(`keepalive-${i}`, keepAlive(agent))));
      if (freshConnections) for (let i = 0; i < 2; i++) loops.push(loop(`fresh-${i}`, fresh));
      const loopNames = [
        ...Array.from({ length: 4 }, (_, i) => `sdk-stream-${i}`),
        ...Array.from({ length: 3 }, (_, i) => `sdk-request-${i}`),
        'keepalive-0',
        'keepalive-1',
        ...(freshConnections ? ['fresh-0', 'fresh-1'] : []),
      ];

      // Every loop has its connections to A (and an answer on them) before B starts.
      while (loopNames.some((name) => (answeredBy.get(name) ?? 0) < 1) && failures.length === 0) await new Promise((r) => setTimeout(r, 20));
      const bStartedAt = Date.now();
      b = run([cli, 'start', '--config', config], env(adminB));
      assert.equal(await ready(`http://127.0.0.1:${adminB}/readyz`, b), true, `B never became ready:\n${b.output.join('\n')}`);
      const bReadyAt = Date.now();
      const beforeSigterm = completed;

      sigtermAt = Date.now();
      a.child.kill('SIGTERM');
      const aExit = await a.exited;
      aExitedAt = Date.now();
      const servedByBWhileADrained = await requestsServed(adminB);

      // B alone: every loop completes two more requests it started after A had gone.
      while (loopNames.some((name) => (afterExit.get(name) ?? 0) < 2) && failures.length === 0 && Date.now() - aExitedAt < 60_000) {
        await new Promise((r) => setTimeout(r, 20));
      }
      running = false;
      await Promise.all(loops);
      agents.forEach((agent) => agent.destroy());

      t.diagnostic(
        JSON.stringify({
          tcp_migrate_req: acceptQueueMigrates(),
          loops: loopNames.length,
          answered: completed,
          answeredDuringSwap: completed - beforeSigterm,
          failed: failures.length,
          streamsAcrossSigterm,
          servedByBWhileADrained,
          keepAliveToA,
          bStartToReadyMs: bReadyAt - bStartedAt,
          aDrainMs: aExitedAt - sigtermAt,
        }),
      );
      assert.deepEqual(failures, []);
      assert.deepEqual(aExit, { code: 0, signal: null }, `A's exit; its output:\n${a.output.join('\n')}`);
      assert.equal(a.output.filter((line) => line.includes('drain timeout')).length, 0, 'A cut requests off at its drain deadline');
      assert.ok(streamsAcrossSigterm >= 1, 'no stream was in flight when A got SIGTERM');
      assert.ok(servedByBWhileADrained > 0, 'B served nothing while A drained');
      for (const name of loopNames) assert.ok((afterExit.get(name) ?? 0) >= 2, `${name} got no answers from B after A exited`);
      // Each kept-alive connection to A ended right after an answer that said Connection: close.
      assert.ok(keepAliveToA.closedAfterConnectionClose >= agents.length, JSON.stringify(keepAliveToA));
      assert.equal(keepAliveToA.closedOtherwise, 0, JSON.stringify(keepAliveToA));
      assert.equal(await ready(`http://127.0.0.1:${adminB}/readyz`, b), true);
    } finally {
      running = false;
      await Promise.allSettled(loops);
      await stopProcess(b);
      await stopProcess(a);
      await stopProcess(sim);
      rmSync(work, { recursive: true, force: true });
    }
  });
});
