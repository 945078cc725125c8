// Everything that crosses the main-thread ↔ server-thread boundary.
import type { SwitchyardConfig } from '../config/types.js';

export interface ThreadData {
  config: SwitchyardConfig;
  /** Per feature name: what its initMain returned. */
  shared: Record<string, unknown>;
  threadIndex: number;
  threadCount: number;
  /** Port to listen on (the first thread's actual port when the config said 0). */
  port: number;
  /** 0 for the first thread in a slot; counts up for replacements of a failed thread. */
  generation: number;
}

export type ToThread =
  | { t: 'msg'; type: string; payload: unknown }
  | { t: 'req'; id: number; type: string; payload: unknown }
  | { t: 'drain'; timeoutMs: number }
  /** Every listener of the gateway is up: /readyz may answer 200. */
  | { t: 'serving' };

export type FromThread =
  | { t: 'ready'; port: number }
  | { t: 'fatal'; error: string }
  /** An uncaught error: the thread drains itself and the main thread starts a replacement. */
  | { t: 'failed'; error: string }
  | { t: 'msg'; type: string; payload: unknown }
  | { t: 'res'; id: number; ok: boolean; value?: unknown; error?: string }
  | { t: 'drained'; abandoned: number };

/**
 * A config reload (src/config/reload.ts) asks every server thread in two steps, as 'req' messages of
 * these types: prepare (build the new runtime beside the serving one; answer when it is ready), then
 * commit (new requests take it) or abort (drop it). Requests in flight keep the runtime they began on.
 */
export const reloadPrepare = 'config.reload.prepare';
export const reloadCommit = 'config.reload.commit';
export const reloadAbort = 'config.reload.abort';

export interface ReloadPrepare {
  generation: number;
  config: SwitchyardConfig;
  /** Per feature name: what its reloadMain returned (features without one keep the value they have). */
  shared: Record<string, unknown>;
}

export interface ReloadStep {
  generation: number;
}
