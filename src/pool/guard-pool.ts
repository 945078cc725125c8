// Main-thread side of the guard worker pool (one per server thread): typed tasks in, typed results
// out, a deadline on every task, and failures reported as one of two error classes — never a hang.
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { EngineSetup } from '../guards/engine.js';
import type { AnalysisSpec, RequestAnalysis } from '../guards/request-analysis.js';
import { SharedSlots } from '../shared/shared-slots.js';
import type { PoolPriority } from './thread-priority.js';
import { frame, unframe, type AnalyseRequestTask, type GuardTask, type GuardTaskResult, type GuardWorkerData, type ResultOf } from './tasks.js';

/** Bodies in flight through each shared area, and the largest one a slot takes (larger ones cross as messages). */
const slotsPerArea = 8;
const slotBytes = 1024 * 1024;

export const guardWorkerFile = new URL('../../workers/guard-worker.js', import.meta.url).href;

/** The task ran out of time (queued or running); a running worker was terminated and replaced. */
export class PoolTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`guard task exceeded ${timeoutMs} ms`);
    this.name = 'PoolTimeoutError';
  }
}

/** The worker running the task died (crash, out of memory); Piscina starts a replacement. */
export class PoolWorkerError extends Error {
  constructor(detail: string) {
    super(`guard worker failed: ${detail}`);
    this.name = 'PoolWorkerError';
  }
}

export interface GuardPoolOptions {
  /** Worker threads of this pool. */
  threads: number;
  timeoutMs: number;
  setup: EngineSetup;
  priority: PoolPriority;
}

/** Workers per server thread: the configured total split evenly, at least one each. */
export function workersPerServerThread(size: number | 'auto', serverThreads: number): number {
  const total = size === 'auto' ? availableParallelism() : size;
  return Math.max(1, Math.ceil(total / Math.max(1, serverThreads)));
}

export class GuardPool {
  readonly timeoutMs: number;
  private readonly piscina: Piscina;
  private readonly sends = SharedSlots.create(slotsPerArea, slotBytes);
  private readonly returns = SharedSlots.create(slotsPerArea, slotBytes);
  private closed = false;

  constructor(options: GuardPoolOptions) {
    this.timeoutMs = options.timeoutMs;
    const workerData: GuardWorkerData = {
      setup: options.setup,
      sendArea: this.sends.memory,
      returnArea: this.returns.memory,
      priority: options.priority,
    };
    this.piscina = new Piscina({
      filename: guardWorkerFile,
      minThreads: options.threads,
      maxThreads: options.threads,
      // Workers hold compiled guards and rank tables; keep them for the life of the pool.
      idleTimeout: Number.POSITIVE_INFINITY,
      workerData,
    });
    // A worker dying with no task in flight is reported here; Piscina already replaces it.
    this.piscina.on('error', () => {});
  }

  /** Tasks waiting for a worker. */
  get queueSize(): number {
    return this.piscina.queueSize;
  }

  get threads(): number {
    return this.piscina.threads.length;
  }

  /** Resolves once every worker has started (compiled its guards, loaded its rank tables). */
  async ready(): Promise<void> {
    await this.piscina.run(frame({ kind: 'count', encoding: 'o200k_base', texts: [], countDeadlineEpochMs: Date.now() + 60_000 }));
  }

  async run<T extends GuardTask>(task: T, timeoutMs = this.timeoutMs): Promise<ResultOf<T>> {
    if (this.closed) throw new PoolWorkerError('pool is closed');
    const bytes = frame(task);
    // A timer cleared when the task settles, not AbortSignal.timeout, whose timer and signal live for
    // the whole timeout whatever the task does: at a hundred tasks a second that is hundreds of live
    // objects the event loop's GC promotes and marks for nothing.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    let answer: unknown;
    try {
      answer = await this.piscina.run(bytes, { transferList: [bytes.buffer as ArrayBuffer], signal: controller.signal });
    } catch (err) {
      if (controller.signal.aborted) throw new PoolTimeoutError(timeoutMs);
      throw new PoolWorkerError((err as Error).message);
    } finally {
      clearTimeout(timer);
    }
    if (!(answer instanceof Uint8Array)) throw new PoolWorkerError('worker returned no framed answer');
    return unframe<GuardTaskResult>(answer) as ResultOf<T>;
  }

  /**
   * One request's guard work on its body. The body goes to the worker in a send slot and a redacted
   * body comes back in a return slot (copied into a buffer of this thread's own), so no large buffer
   * crosses as a message either way while slots are free.
   */
  async analyseRequest(body: Uint8Array, spec: AnalysisSpec): Promise<RequestAnalysis> {
    const bodySlot = this.sends.put(body);
    const returnSlot = this.returns.acquire();
    let settled = false;
    try {
      const task: AnalyseRequestTask = { kind: 'analyse-request', body: bodySlot >= 0 ? null : body, bodySlot, bodyLength: body.byteLength, spec, returnSlot };
      const { analysis, bodyInSlot } = await this.run(task);
      if (bodyInSlot >= 0) analysis.body = this.returns.copyOut(returnSlot, bodyInSlot);
      settled = true;
      return analysis;
    } finally {
      // A task that failed may have a worker still reading or writing its slots while it is terminated.
      for (const [area, slot] of [[this.sends, bodySlot], [this.returns, returnSlot]] as const) {
        if (slot < 0) continue;
        if (settled) area.release(slot);
        else area.rest(slot);
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.piscina.destroy();
  }
}
