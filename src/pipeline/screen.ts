// The API listener's head screen: the auth stages' onHead checks, run before a request's body is read.
import type { HeadRefusal, IncomingHead } from '../server/http.js';
import { matchEndpoint } from './endpoints.js';
import type { Stage } from './stage.js';

/** Undefined when no stage screens heads, so the listener skips the call altogether. */
export function createScreen(stages: readonly Stage[]): ((head: IncomingHead) => HeadRefusal | undefined) | undefined {
  const screening = stages.filter((s) => s.phase === 'auth' && s.onHead);
  if (screening.length === 0) return undefined;
  return (head) => {
    const match = matchEndpoint(head.method, head.path);
    if (match === undefined || 'wrongMethod' in match) return undefined;
    const kind = match.endpoint.kind;
    if (kind === 'health' || kind === 'ready') return undefined;
    for (const stage of screening) {
      const refusal = stage.onHead?.(head);
      if (refusal !== undefined) return refusal;
    }
    return undefined;
  };
}
