// The messages that cross into the guard workers, and their framing: msgpackr-packed bytes in a
// fresh ArrayBuffer, so the buffer is transferred (moved) to the worker instead of cloned.
import { Packr } from 'msgpackr';
import type { EncodingName } from '../guards/tokenizer.js';

/** Everything one prompt needs from the workers, in one hop: guard verdict, redaction, token count. */
export interface AnalyseTask {
  kind: 'analyse';
  /** Date.now() after which counting stops and the rest is estimated. */
  countDeadlineEpochMs: number;
  /** Encoding to count with, or null to skip counting. */
  encoding: EncodingName | null;
  /** Text that is scanned and possibly redacted (message contents, text parts). */
  texts: string[];
  /** Text that only counts (names, tool calls, tool definitions). */
  countOnly: string[];
  /** Prompt guards (index in config.guards.prompt) and the indices of the texts each one scans. */
  guards: Array<{ guard: number; texts: number[] }>;
  /** PII policy (index in config.pii) and the texts it redacts. */
  pii: { policy: number; texts: number[] } | null;
}

export interface AnalyseResult {
  kind: 'analyse';
  tokens: number;
  exact: boolean;
  /** First prompt guard that refused, and why. */
  verdict: { guard: number; reason: 'deny' | 'allow' } | null;
  /** Label of a PII detector in block mode that matched. */
  piiBlocked: string | null;
  /** [text index, redacted text] for texts that changed. */
  redacted: Array<[number, string]>;
  /** [placeholder, original] for pseudonymised values. */
  pseudonyms: Array<[string, string]>;
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

/** Test hooks, refused unless the pool was started with testHooks: kill the worker, or hold it busy. */
export interface CrashTask {
  kind: 'crash';
}
export interface SpinTask {
  kind: 'spin';
  ms: number;
}

export type GuardTask = AnalyseTask | CountTask | CrashTask | SpinTask;
export type GuardTaskResult = AnalyseResult | CountResult | { kind: 'spin' };
export type ResultOf<T extends GuardTask> = T extends AnalyseTask ? AnalyseResult : T extends CountTask ? CountResult : { kind: 'spin' };

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
