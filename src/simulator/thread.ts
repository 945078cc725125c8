// Runs the simulator in worker_threads, so the gateway process can embed it without sharing its event loop.
import { Worker } from 'node:worker_threads';
import { freePort } from '../shared/free-port.js';
import type { SimulatorOptions } from './options.js';

/** Messages from a simulator thread to its owner. */
export type SimulatorThreadMessage = { type: 'listening'; port: number } | { type: 'failed'; message: string };
/** Messages from the owner to a simulator thread. */
export type SimulatorThreadCommand = { type: 'stop' };

export interface SimulatorThreadOptions extends Partial<SimulatorOptions> {
  /**
   * Threads serving the same port (SO_REUSEPORT), for benchmarks that need more than one core of
   * simulator. Each thread keeps its own stats, so /sim/stats then shows one thread's share.
   */
  threads?: number;
}

export interface SimulatorThread {
  port: number;
  /** Closes the listen socket and every connection inside each thread, then waits for them to exit by themselves. */
  stop(): Promise<void>;
}

export async function startSimulatorThread(options: SimulatorThreadOptions = {}): Promise<SimulatorThread> {
  const { threads = 1, ...simulatorOptions } = options;
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`Simulator threads must be an integer >= 1, got ${threads}.`);
  // A port bound as "any free port" cannot be shared, so several threads need a concrete port first.
  const port = threads > 1 && !simulatorOptions.port ? await freePort(simulatorOptions.host ?? '127.0.0.1') : simulatorOptions.port;
  const started = await Promise.allSettled(Array.from({ length: threads }, () => startOne({ ...simulatorOptions, port })));
  const running = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const stopAll = async (): Promise<void> => {
    await Promise.all(running.map((thread) => thread.stop()));
  };
  const failure = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failure) {
    await stopAll();
    throw failure.reason;
  }
  let stopping: Promise<void> | undefined;
  return { port: running[0].port, stop: () => (stopping ??= stopAll()) };
}

async function startOne(options: Partial<SimulatorOptions>): Promise<SimulatorThread> {
  const worker = new Worker(new URL('./thread-entry.js', import.meta.url), { workerData: options });
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));

  const port = await new Promise<number>((resolve, reject) => {
    worker.on('message', (message: SimulatorThreadMessage) => {
      if (message.type === 'listening') resolve(message.port);
      else reject(new Error(`Simulator thread failed to start: ${message.message}`));
    });
    worker.once('error', reject);
    void exited.then((code) => reject(new Error(`Simulator thread exited with code ${code} before listening.`)));
  });

  return {
    port,
    async stop() {
      const command: SimulatorThreadCommand = { type: 'stop' };
      worker.postMessage(command);
      const code = await exited;
      if (code !== 0) throw new Error(`Simulator thread exited with code ${code}.`);
    },
  };
}
