// The messages that cross into the guard workers, and their framing: msgpackr-packed bytes in a
// fresh ArrayBuffer, so the buffer is transferred (moved) to the worker instead of cloned.
import { Packr } from 'msgpackr';
import type { EngineSetup } from '../guards/engine.js';
import type { AnalysisSpec, RequestAnalysis } from '../guards/request-analysis.js';
import type { SharedSlotsMemory } from '../shared/shared-slots.js';
import type { EncodingName } from '../guards/tokenizer.js';
import type { PoolPriority, ThreadScheduling } from './thread-priority.js';

/** What each worker starts with. */
export interface GuardWorkerData {
  setup: EngineSetup;
  /** Slots the server thread writes request bodies into (see SharedSlots). */
  sendArea: SharedSlotsMemory;
  /** Slots the workers write redacted bodies into. */
  returnArea: SharedSlotsMemory;
  priority: PoolPriority;
}

/** A request's guard work: its body as bytes (never as strings on the event loop) and what to run on it. */
export interface AnalyseRequestTask {
  kind: 'analyse-request';
  /** The body, when it is not in a send slot. */
  body: Uint8Array | null;
  /** Send slot holding the body (its first bodyLength bytes), or -1. */
  bodySlot: number;
  bodyLength: number;
  spec: AnalysisSpec;
  /** Slot of the return area for a redacted body, or -1. */
  returnSlot: number;
}

export interface AnalyseRequestResult {
  kind: 'analyse-request';
  /** analysis.body is null when the redacted body was written to the return slot. */
  analysis: RequestAnalysis;
  /** Length of the redacted body in the return slot, or -1. */
  bodyInSlot: number;
}

export interface CountTask {
  kind: 'count';
  countDeadlineEpochMs: number;
  encoding: EncodingName;
  texts: string[];
}

export interface CountResult {
  kind: 'count';
  tokens: number;
  exact: boolean;
}

/** How the worker running it is scheduled (policy, nice), and why not as configured if it is not. */
export interface SchedulingTask {
  kind: 'scheduling';
}

export interface SchedulingResult {
  kind: 'scheduling';
  scheduling: ThreadScheduling | null;
  problem: string | null;
}

/** Test hooks, refused unless the pool was started with testHooks: kill the worker, or hold it busy. */
export interface CrashTask {
  kind: 'crash';
}
export interface SpinTask {
  kind: 'spin';
  ms: number;
}

export type GuardTask = AnalyseRequestTask | CountTask | SchedulingTask | CrashTask | SpinTask;
export type GuardTaskResult = AnalyseRequestResult | CountResult | SchedulingResult | { kind: 'spin' };
export type ResultOf<T extends GuardTask> = T extends AnalyseRequestTask
  ? AnalyseRequestResult
  : T extends CountTask
    ? CountResult
    : T extends SchedulingTask
      ? SchedulingResult
      : { kind: 'spin' };

// structuredClone: false and records off keep the format plain maps and arrays, the same on both sides.
const packr = new Packr({ useRecords: false });

/** Packs a message into its own ArrayBuffer (msgpackr reuses its buffer, so the bytes are copied out once). */
export function frame(message: GuardTask | GuardTaskResult): Uint8Array {
  const packed = packr.pack(message);
  const own = new Uint8Array(packed.length);
  own.set(packed);
  return own;
}

export function unframe<T extends GuardTask | GuardTaskResult>(bytes: Uint8Array): T {
  return packr.unpack(bytes) as T;
}
