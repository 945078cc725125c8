// What crosses from the limits feature's main thread to its server threads: the shared value of one limits
// generation (initMain, reloadMain) and the message that replaces the keys created through the admin API.
import type { KeyEntry } from './keys.js';

/** Every server thread answers it (host.gather) with the API-created keys it carries: KeyEntry[], active keys only. */
export const KEYS_MESSAGE = 'limits.keys';

/** One limits generation as the server threads build their stages from it. The buffer is shared; the rest is cloned. */
export interface SharedLimits {
  table: SharedArrayBuffer;
  /** 0 at start, +1 for each reload that changed `auth`, `keys`, `limits` or `prices`. */
  generation: number;
  /** The keys the config declares. */
  configKeys: KeyEntry[];
  /** The keys created through the admin API when this value was made; a thread then follows KEYS_MESSAGE. */
  adminKeys: KeyEntry[];
  /** Model → row of its all-keys limits. */
  modelRows: Record<string, number>;
  /**
   * The config's limit values (SharedCounterTable.applyConfigLimits), written before this generation admits
   * its first request; absent for generation 0, whose values the main thread wrote at start.
   */
  limitValues?: Float64Array;
  /** MainHost.playgroundToken: with `auth: keys`, a request bearing it runs as the Playground. */
  playgroundToken?: string;
}

export function isSharedLimits(v: unknown): v is SharedLimits {
  const s = v as SharedLimits | undefined;
  return !!s && s.table instanceof SharedArrayBuffer && typeof s.generation === 'number' && Array.isArray(s.configKeys) && Array.isArray(s.adminKeys) && typeof s.modelRows === 'object';
}
