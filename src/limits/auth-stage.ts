// Server-thread auth stage: the virtual key (or the Playground's credential) → ctx.key; and the key check /mcp uses.
import { GatewayError } from '../shared/errors.js';
import type { Stage } from '../pipeline/stage.js';
import type { IncomingHead } from '../server/http.js';
import { hashKey, type KeyEntry } from './keys.js';
import type { Subject } from './limiter.js';
import { RowStatus, type SharedCounterTable } from './shared-table.js';
import { subjectIds } from './key-registry.js';
import { PLAYGROUND_IDENTITY, PLAYGROUND_KEY_HEADER, type PlaygroundCredential } from './playground.js';
import { stateOf, type ThreadKey } from './request-state.js';

function threadKeyOf(e: KeyEntry): ThreadKey {
  const label = `key '${e.name}'`;
  const modelSubjects = new Map<string, Subject>();
  for (const [model, row] of Object.entries(e.modelRows)) {
    modelSubjects.set(model, { row, id: subjectIds.keyModel(e.id, model), label: `${label} on model '${model}'`, isKey: false });
  }
  return {
    entry: e,
    subject: { row: e.row, id: subjectIds.key(e.id), label, isKey: true },
    models: e.models === null ? null : new Set(e.models),
    modelSubjects,
  };
}

/**
 * One limits generation's view of the active keys on this thread: the keys its config declares (fixed)
 * and those created through the admin API (replaced whenever the main thread publishes a change).
 */
export class KeyLookup {
  private readonly declared: readonly ThreadKey[];
  private byHash = new Map<string, ThreadKey>();
  private byId = new Map<string, ThreadKey>();

  constructor(declared: readonly KeyEntry[], created: readonly KeyEntry[] = []) {
    this.declared = declared.map(threadKeyOf);
    this.setCreated(created);
  }

  /** The keys created through the admin API, as the main thread's latest snapshot has them. */
  setCreated(created: readonly KeyEntry[]): void {
    const byHash = new Map<string, ThreadKey>();
    const byId = new Map<string, ThreadKey>();
    for (const key of [...this.declared, ...created.map(threadKeyOf)]) {
      byHash.set(key.entry.hash, key);
      byId.set(key.entry.id, key);
    }
    this.byHash = byHash;
    this.byId = byId;
  }

  /** The hash is the lookup key, so timing reveals nothing about the secret; no plaintext comparison happens. */
  find(plaintext: string): ThreadKey | undefined {
    return this.byHash.get(hashKey(plaintext));
  }

  findHash(sha256Hex: string): ThreadKey | undefined {
    return this.byHash.get(sha256Hex);
  }

  /** By key id: only for a caller already authenticated as the Playground. */
  findId(id: string): ThreadKey | undefined {
    return this.byId.get(id);
  }
}

/** The key from `Authorization: Bearer`, `x-api-key` (Anthropic SDK) or `api-key` (Azure SDK). */
export function presentedKey(headers: Readonly<Record<string, string>>): string | undefined {
  const auth = headers['authorization'];
  if (auth !== undefined && auth.length > 7 && auth.slice(0, 7).toLowerCase() === 'bearer ') {
    const token = auth.slice(7).trim();
    if (token) return token;
  }
  return headers['x-api-key'] || headers['api-key'] || undefined;
}

const missingKey = () =>
  new GatewayError(401, 'You did not provide an API key. Send it as "Authorization: Bearer <key>".', {
    type: 'authentication_error',
    code: 'missing_api_key',
  });
const invalidKey = () => new GatewayError(401, 'Incorrect API key provided.', { type: 'authentication_error', code: 'invalid_api_key' });

/** A caller's virtual key checked from request headers alone, for endpoints outside the LLM pipeline (/mcp). */
export type KeyCheck = (headers: Readonly<Record<string, string>>) => { id: string; name: string } | { refused: 'missing' | 'invalid' };

/** The key checks of this thread's live limits generations with `auth: keys`, oldest first. */
const liveKeyChecks: KeyCheck[] = [];

/**
 * This thread's key check: that of the newest limits generation with `auth: keys` still in use (serving,
 * or prepared by a reload), so the keys, revocations and keys created since start of the config in force.
 */
export function threadKeyCheck(): KeyCheck | undefined {
  return liveKeyChecks.at(-1);
}

/** The /mcp key check over one generation's keys (the Playground's token is not a key there). */
export function keyCheckOf(keys: KeyLookup, table: SharedCounterTable): KeyCheck {
  return (headers) => {
    const plaintext = presentedKey(headers);
    if (plaintext === undefined) return { refused: 'missing' };
    const key = keys.find(plaintext);
    return key !== undefined && table.status(key.entry.row) === RowStatus.active ? { id: key.entry.id, name: key.entry.name } : { refused: 'invalid' };
  };
}

export function addThreadKeyCheck(check: KeyCheck): void {
  liveKeyChecks.push(check);
}

export function removeThreadKeyCheck(check: KeyCheck): void {
  const at = liveKeyChecks.indexOf(check);
  if (at >= 0) liveKeyChecks.splice(at, 1);
}

/** Who an authenticated request is: a virtual key, or the Playground with no key. */
type Caller = ThreadKey | 'playground';

export function createAuthStage(keys: KeyLookup, table: SharedCounterTable, playground?: PlaygroundCredential): Stage {
  /** Callers found by onHead, so onRequest does not hash the same secret again once the body is in. */
  const screened = new WeakMap<IncomingHead, Caller>();
  // The row status is the authority for revocation: it flips in shared memory before DELETE answers.
  const active = (key: ThreadKey | undefined): key is ThreadKey => key !== undefined && table.status(key.entry.row) === RowStatus.active;
  /** A request bearing the Playground's token runs as the key its header names, or as the Playground. */
  const playgroundCaller = (headers: Readonly<Record<string, string>>): Caller | GatewayError => {
    const id = headers[PLAYGROUND_KEY_HEADER];
    if (id === undefined) return 'playground';
    const key = keys.findId(id);
    return active(key) ? key : invalidKey();
  };
  const identify = (headers: Readonly<Record<string, string>>): Caller | GatewayError => {
    const plaintext = presentedKey(headers);
    if (plaintext === undefined) return missingKey();
    const hash = hashKey(plaintext);
    const key = keys.findHash(hash);
    if (active(key)) return key;
    // Only a bearer that is no key pays for the comparison with the Playground's token.
    if (key === undefined && playground !== undefined && playground.matches(hash)) return playgroundCaller(headers);
    return invalidKey();
  };
  return {
    name: 'limits.auth',
    phase: 'auth',
    onHead(head) {
      const caller = identify(head.headers);
      if (caller instanceof GatewayError) return caller;
      screened.set(head, caller);
      return undefined;
    },
    onRequest(ctx) {
      let caller = screened.get(ctx.head);
      if (caller === undefined) {
        const found = identify(ctx.head.headers);
        if (found instanceof GatewayError) throw found;
        caller = found;
      }
      if (caller === 'playground') {
        ctx.key = PLAYGROUND_IDENTITY;
        return;
      }
      // Revoked between the head and the body.
      if (!active(caller)) throw invalidKey();
      // GET /v1/models names no model: any valid key may list them.
      if (caller.models !== null && ctx.operation !== 'models' && !caller.models.has(ctx.model)) {
        throw new GatewayError(403, `This key is not allowed to use the model '${ctx.model}'.`, {
          type: 'permission_error',
          code: 'model_not_allowed',
          param: 'model',
        });
      }
      ctx.key = caller.models ? { id: caller.entry.id, name: caller.entry.name, models: caller.models } : { id: caller.entry.id, name: caller.entry.name };
      stateOf(ctx).key = caller;
    },
  };
}

