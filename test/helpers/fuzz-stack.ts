// The fuzz suite's stack: the test stack's gateway, with the simulator in a thread of its own so a slow
// simulator answer cannot stall the fuzz client's event loop (and turn every case in flight into a "hang").
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { startGateway, type RunningGateway } from '../../src/server/main.js';
import { startSimulatorThread, type SimulatorThread } from '../../src/simulator/thread.js';
import { fuzzMaxBodyBytes } from './fuzz-runner.js';
import { stackConfigObject } from './stack.js';

export interface FuzzStack {
  gateway: RunningGateway;
  sim: SimulatorThread;
  maxBodyBytes: number;
  stop(): Promise<void>;
}

export async function startFuzzStack(threads = 2): Promise<FuzzStack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchyard-fuzz-'));
  const sim = await startSimulatorThread();
  let gateway: RunningGateway;
  try {
    const config = parseConfig(JSON.stringify(stackConfigObject(sim.port, dataDir, { server: { max_body_bytes: fuzzMaxBodyBytes } })), 'fuzz');
    gateway = await startGateway(config, { threads });
  } catch (err) {
    await sim.stop();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    gateway,
    sim,
    maxBodyBytes: fuzzMaxBodyBytes,
    stop: () =>
      (stopping ??= (async () => {
        try {
          await gateway.stop();
        } finally {
          await sim.stop();
          rmSync(dataDir, { recursive: true, force: true });
        }
      })()),
  };
}
