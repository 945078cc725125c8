// Main-thread side of the guard worker pool (one per server thread): typed tasks in, typed results
// out, a deadline on every task, and failures reported as one of three error classes — never a hang.
// Two lanes, each a Piscina of its own: small bodies have workers that large ones never occupy, and
// each lane bounds the bytes one caller may have in it (docs/guardrails.md, "Lanes and shares").
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { EngineSetup } from '../guards/engine.js';
import type { AnalysisSpec, RequestAnalysis } from '../guards/request-analysis.js';
import { SharedSlots } from '../shared/shared-slots.js';
import { CallerShares } from './caller-shares.js';
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

export type LaneName = 'small' | 'large';

/**
 * Refused at once, never queued: the caller already has `heldBytes` in the lane and this body would
 * take it past its share. Everything a caller holds settles within one task deadline, hence retryAfterMs.
 */
export class PoolCapacityError extends Error {
  constructor(
    readonly lane: LaneName,
    readonly heldBytes: number,
    readonly maxBytes: number,
    readonly retryAfterMs: number,
  ) {
    super(`guard pool share used: ${heldBytes} bytes held in the ${lane} lane, limit ${maxBytes}`);
    this.name = 'PoolCapacityError';
  }
}

export interface SmallLaneOptions {
  /** Bodies up to this many bytes go to the small lane. */
  maxBytes: number;
  /** Its workers (0 = no small lane: one lane for every body). */
  threads: number;
  priority: PoolPriority;
}

export interface GuardPoolOptions {
  /** Worker threads of the large lane (every body, when there is no small lane). */
  threads: number;
  timeoutMs: number;
  setup: EngineSetup;
  priority: PoolPriority;
  smallLane?: SmallLaneOptions;
  /** Bytes of request bodies one caller may have in each lane at once, queued or running (0 or absent = no bound). */
  callerMaxBytes?: number;
}

/** Workers per server thread: the configured total split evenly, at least one each. */
export function workersPerServerThread(size: number | 'auto', serverThreads: number): number {
  const total = size === 'auto' ? availableParallelism() : size;
  return Math.max(1, Math.ceil(total / Math.max(1, serverThreads)));
}

interface Lane {
  readonly name: LaneName;
  readonly piscina: Piscina;
  readonly shares: CallerShares;
}

export class GuardPool {
  readonly timeoutMs: number;
  private readonly large: Lane;
  private readonly small: Lane | undefined;
  private readonly smallMaxBytes: number;
  private readonly sends = SharedSlots.create(slotsPerArea, slotBytes);
  private readonly returns = SharedSlots.create(slotsPerArea, slotBytes);
  private closed = false;

  constructor(options: GuardPoolOptions) {
    this.timeoutMs = options.timeoutMs;
    const callerMaxBytes = options.callerMaxBytes ?? 0;
    const lane = (name: LaneName, threads: number, priority: PoolPriority): Lane => {
      // Both lanes' workers share the slot areas: a slot is owned by the task it was given to, whichever lane runs it.
      const workerData: GuardWorkerData = { setup: options.setup, sendArea: this.sends.memory, returnArea: this.returns.memory, priority };
      const piscina = new Piscina({
        filename: guardWorkerFile,
        minThreads: threads,
        maxThreads: threads,
        // Workers hold compiled guards and rank tables; keep them for the life of the pool.
        idleTimeout: Number.POSITIVE_INFINITY,
        workerData,
      });
      // A worker dying with no task in flight is reported here; Piscina already replaces it.
      piscina.on('error', () => {});
      return { name, piscina, shares: new CallerShares(callerMaxBytes) };
    };
    this.large = lane('large', options.threads, options.priority);
    const small = options.smallLane;
    this.small = small && small.threads > 0 && small.maxBytes > 0 ? lane('small', small.threads, small.priority) : undefined;
    this.smallMaxBytes = this.small ? small!.maxBytes : -1;
  }

  /** Tasks waiting for a worker of the large lane. */
  get queueSize(): number {
    return this.large.piscina.queueSize;
  }

  /** Worker threads of the large lane. */
  get threads(): number {
    return this.large.piscina.threads.length;
  }

  /** Tasks waiting for a worker of the lane (the small lane is the large one when there is none). */
  queueSizeOf(lane: LaneName): number {
    return this.lane(lane).piscina.queueSize;
  }

  get hasSmallLane(): boolean {
    return this.small !== undefined;
  }

  /** Bytes the caller has in the lane's tasks, queued or running (0 when shares are off). */
  heldBy(caller: string, lane: LaneName): number {
    return this.lane(lane).shares.heldBy(caller);
  }

  /** The lane a body of this size is analysed in. */
  laneFor(bodyBytes: number): LaneName {
    return bodyBytes <= this.smallMaxBytes ? 'small' : 'large';
  }

  /** Resolves once every lane has a worker started (compiled its guards, loaded its rank tables). */
  async ready(): Promise<void> {
    const warm = (lane: Lane) => lane.piscina.run(frame({ kind: 'count', encoding: 'o200k_base', texts: [], countDeadlineEpochMs: Date.now() + 60_000 }));
    await Promise.all([this.large, ...(this.small ? [this.small] : [])].map(warm));
  }

  async run<T extends GuardTask>(task: T, timeoutMs = this.timeoutMs, lane: LaneName = 'large'): Promise<ResultOf<T>> {
    if (this.closed) throw new PoolWorkerError('pool is closed');
    const bytes = frame(task);
    // A timer cleared when the task settles, not AbortSignal.timeout, whose timer and signal live for
    // the whole timeout whatever the task does: at a hundred tasks a second that is hundreds of live
    // objects the event loop's GC promotes and marks for nothing.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    let answer: unknown;
    try {
      answer = await this.lane(lane).piscina.run(bytes, { transferList: [bytes.buffer as ArrayBuffer], signal: controller.signal });
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
   * One request's guard work on its body, in the lane its size picks. With a caller, the body counts
   * against that caller's share of the lane until the task settles; past the share it is refused at
   * once (PoolCapacityError) instead of queueing behind the caller's own work — and everyone else's.
   * The body goes to the worker in a send slot and a redacted body comes back in a return slot (copied
   * into a buffer of this thread's own), so no large buffer crosses as a message either way while slots are free.
   */
  async analyseRequest(body: Uint8Array, spec: AnalysisSpec, caller?: string): Promise<RequestAnalysis> {
    const lane = this.lane(this.laneFor(body.byteLength));
    const size = body.byteLength;
    if (caller !== undefined && !lane.shares.tryTake(caller, size)) {
      throw new PoolCapacityError(lane.name, lane.shares.heldBy(caller), lane.shares.maxBytes, this.timeoutMs);
    }
    const bodySlot = this.sends.put(body);
    const returnSlot = this.returns.acquire();
    let settled = false;
    try {
      const task: AnalyseRequestTask = { kind: 'analyse-request', body: bodySlot >= 0 ? null : body, bodySlot, bodyLength: size, spec, returnSlot };
      const { analysis, bodyInSlot } = await this.run(task, this.timeoutMs, lane.name);
      if (bodyInSlot >= 0) analysis.body = this.returns.copyOut(returnSlot, bodyInSlot);
      settled = true;
      return analysis;
    } finally {
      if (caller !== undefined) lane.shares.giveBack(caller, size);
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
    await Promise.all([this.large.piscina.destroy(), this.small?.piscina.destroy()]);
  }

  private lane(name: LaneName): Lane {
    return name === 'small' ? (this.small ?? this.large) : this.large;
  }
}
