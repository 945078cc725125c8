// Start-up as an orchestrator sees it: /readyz says 200 only once every listener accepts, and a
// gateway that cannot bind one of its ports exits before it has served anything.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { freePort } from '../../src/shared/free-port.js';

const cli = fileURLToPath(new URL('../../src/cli.js', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

async function status(url: string): Promise<number | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return undefined;
  }
}

/** Starts `switchyard start` on the embedded default config with these ports; returns the child and a way to end it. */
function startCli(ports: { api: number; admin: number; simulator: number }) {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchyard-startup-'));
  const child = spawn(process.execPath, [cli, 'start'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      SWITCHYARD_PORT: String(ports.api),
      SWITCHYARD_ADMIN_PORT: String(ports.admin),
      SWITCHYARD_SIMULATOR_PORT: String(ports.simulator),
      SWITCHYARD_DATA_DIR: dataDir,
      SWITCHYARD_LOG_LEVEL: 'error',
    },
    stdio: 'ignore',
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    exited,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

describe('start-up', () => {
  test('/readyz on the API port answers 200 only when the admin listener accepts too', async () => {
    const ports = { api: await freePort('127.0.0.1'), admin: await freePort('127.0.0.1'), simulator: await freePort('127.0.0.1') };
    const gateway = startCli(ports);
    try {
      const deadline = Date.now() + 15_000;
      let readySeen = false;
      while (!readySeen && Date.now() < deadline) {
        if ((await status(`http://127.0.0.1:${ports.api}/readyz`)) === 200) {
          readySeen = true;
          assert.equal(await accepts(ports.admin), true, 'the API port said ready while the admin port refused connections');
        } else await new Promise((r) => setTimeout(r, 5));
      }
      assert.equal(readySeen, true, 'never ready');
    } finally {
      await gateway.stop();
    }
  });

  test('a taken admin port ends the process with status 1 before the API port has answered anything', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as { port: number }).port;
    const ports = { api: await freePort('127.0.0.1'), admin: taken, simulator: await freePort('127.0.0.1') };
    const gateway = startCli(ports);
    let answered = 0;
    let running = true;
    void gateway.exited.then(() => (running = false));
    try {
      while (running) {
        if ((await status(`http://127.0.0.1:${ports.api}/healthz`)) !== undefined) answered++;
        await new Promise((r) => setTimeout(r, 2));
      }
      assert.equal(await gateway.exited, 1);
      assert.equal(answered, 0, `the API port answered ${answered} requests before the process exited`);
    } finally {
      await gateway.stop();
      blocker.close();
    }
  });
});
