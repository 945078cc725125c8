// Worker body for limits-threads.test: hammers the shared table from another thread. Does nothing when run on its own.
import { parentPort, workerData } from 'node:worker_threads';
import { SharedCounterTable } from '../../../src/limits/shared-table.js';
import { admitInTable, settleInTable, type Subject } from '../../../src/limits/limiter.js';

export interface HammerJob {
  buffer: SharedArrayBuffer;
  /** Int32[0]: start flag the workers wait on; Int32[1]: how many are waiting. */
  gate: SharedArrayBuffer;
  subjects: Subject[];
  attempts: number;
  estimate: number;
  nowMs: number;
  settle: boolean;
  seed: number;
}

if (parentPort) {
  const job = workerData as HammerJob;
  const table = new SharedCounterTable(job.buffer);
  const gate = new Int32Array(job.gate);
  Atomics.add(gate, 1, 1);
  Atomics.notify(gate, 1);
  Atomics.wait(gate, 0, 0);
  let admitted = 0;
  let realTokens = 0;
  let seed = job.seed;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 300) + 1;
  for (let i = 0; i < job.attempts; i++) {
    const a = admitInTable(table, job.subjects, job.estimate, job.nowMs);
    if (!a.ok) continue;
    admitted++;
    if (job.settle) {
      const prompt = rand();
      const completion = rand();
      realTokens += prompt + completion;
      settleInTable(table, a.charge, { promptTokens: prompt, completionTokens: completion, costUsd: 0.001 }, job.nowMs);
    }
  }
  parentPort.postMessage({ admitted, realTokens });
}
