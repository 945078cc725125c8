// Per-request state the limits stages share (ctx.state), and a key as a server thread holds it.
import type { RequestContext } from '../pipeline/context.js';
import type { KeyEntry } from './keys.js';
import type { Charge, Subject } from './limiter.js';

export const FEATURE = 'limits';

/** Per-request scratch in ctx.state.get('limits'). */
export interface LimitsState {
  key: ThreadKey | undefined;
  charge: Charge | undefined;
  promptEstimate: number;
}

export interface ThreadKey {
  entry: KeyEntry;
  subject: Subject;
  models: ReadonlySet<string> | null;
  modelSubjects: ReadonlyMap<string, Subject>;
}

export function stateOf(ctx: RequestContext): LimitsState {
  let st = ctx.state.get(FEATURE) as LimitsState | undefined;
  if (!st) {
    st = { key: undefined, charge: undefined, promptEstimate: 0 };
    ctx.state.set(FEATURE, st);
  }
  return st;
}
