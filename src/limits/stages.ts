// Server-thread stages: auth (virtual key → ctx.key) and admission (limits, budgets, x-ratelimit-* headers, reconciliation).
import { GatewayError } from '../shared/errors.js';
import { noteCost, noteRateLimitRejection } from '../pipeline/observations.js';
import { estimatePromptTokens, type RequestContext } from '../pipeline/context.js';
import type { Stage } from '../pipeline/stage.js';
import type { IncomingHead } from '../server/http.js';
import { hashKey, type KeyEntry } from './keys.js';
import type { Admission, Charge, Limiter, QuotaView, Refusal, Subject } from './limiter.js';
import { priceNames, type PriceTable } from './prices.js';
import { RowStatus, type SharedCounterTable } from './shared-table.js';
import { formatDuration } from './windows.js';
import { subjectIds } from './key-registry.js';

export const FEATURE = 'limits';

/** Per-request scratch in ctx.state.get('limits'). */
interface LimitsState {
  key: ThreadKey | undefined;
  charge: Charge | undefined;
  promptEstimate: number;
}

interface ThreadKey {
  entry: KeyEntry;
  subject: Subject;
  models: ReadonlySet<string> | null;
  modelSubjects: ReadonlyMap<string, Subject>;
}

/** This thread's view of the active keys, replaced whole when the main thread sends a new snapshot. */
export class KeyLookup {
  private byHash = new Map<string, ThreadKey>();

  constructor(entries: readonly KeyEntry[]) {
    this.replace(entries);
  }

  replace(entries: readonly KeyEntry[]): void {
    const next = new Map<string, ThreadKey>();
    for (const e of entries) {
      const label = `key '${e.name}'`;
      const modelSubjects = new Map<string, Subject>();
      for (const [model, row] of Object.entries(e.modelRows)) {
        modelSubjects.set(model, { row, id: subjectIds.keyModel(e.id, model), label: `${label} on model '${model}'`, isKey: false });
      }
      next.set(e.hash, {
        entry: e,
        subject: { row: e.row, id: subjectIds.key(e.id), label, isKey: true },
        models: e.models === null ? null : new Set(e.models),
        modelSubjects,
      });
    }
    this.byHash = next;
  }

  /** The hash is the lookup key, so timing reveals nothing about the secret; no plaintext comparison happens. */
  find(plaintext: string): ThreadKey | undefined {
    return this.byHash.get(hashKey(plaintext));
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

function stateOf(ctx: RequestContext): LimitsState {
  let st = ctx.state.get(FEATURE) as LimitsState | undefined;
  if (!st) {
    st = { key: undefined, charge: undefined, promptEstimate: 0 };
    ctx.state.set(FEATURE, st);
  }
  return st;
}

const missingKey = () =>
  new GatewayError(401, 'You did not provide an API key. Send it as "Authorization: Bearer <key>".', {
    type: 'authentication_error',
    code: 'missing_api_key',
  });
const invalidKey = () => new GatewayError(401, 'Incorrect API key provided.', { type: 'authentication_error', code: 'invalid_api_key' });

/** A caller's virtual key checked from request headers alone, for endpoints outside the LLM pipeline (/mcp). */
export type KeyCheck = (headers: Readonly<Record<string, string>>) => { id: string; name: string } | { refused: 'missing' | 'invalid' };

let threadKeys: KeyCheck | undefined;

/** This thread's key check, once the auth stage exists (auth: keys); the same keys, revocations and keys created since start. */
export function threadKeyCheck(): KeyCheck | undefined {
  return threadKeys;
}

export function createAuthStage(keys: KeyLookup, table: SharedCounterTable): Stage {
  /** Keys found by onHead, so onRequest does not hash the same secret again once the body is in. */
  const screened = new WeakMap<IncomingHead, ThreadKey>();
  // The row status is the authority for revocation: it flips in shared memory before DELETE answers.
  const active = (key: ThreadKey | undefined): key is ThreadKey => key !== undefined && table.status(key.entry.row) === RowStatus.active;
  threadKeys = (headers) => {
    const plaintext = presentedKey(headers);
    if (plaintext === undefined) return { refused: 'missing' };
    const key = keys.find(plaintext);
    return active(key) ? { id: key.entry.id, name: key.entry.name } : { refused: 'invalid' };
  };
  return {
    name: 'limits.auth',
    phase: 'auth',
    onHead(head) {
      const plaintext = presentedKey(head.headers);
      if (plaintext === undefined) return missingKey();
      const key = keys.find(plaintext);
      if (!active(key)) return invalidKey();
      screened.set(head, key);
      return undefined;
    },
    onRequest(ctx) {
      let key = screened.get(ctx.head);
      if (key === undefined) {
        const plaintext = presentedKey(ctx.head.headers);
        if (plaintext === undefined) throw missingKey();
        key = keys.find(plaintext);
      }
      if (!active(key)) throw invalidKey();
      // GET /v1/models names no model: any valid key may list them.
      if (key.models !== null && ctx.operation !== 'models' && !key.models.has(ctx.model)) {
        throw new GatewayError(403, `This key is not allowed to use the model '${ctx.model}'.`, {
          type: 'permission_error',
          code: 'model_not_allowed',
          param: 'model',
        });
      }
      ctx.key = key.models ? { id: key.entry.id, name: key.entry.name, models: key.models } : { id: key.entry.id, name: key.entry.name };
      stateOf(ctx).key = key;
    },
  };
}

const kindText: Record<Refusal['kind'], string> = {
  rpm: 'requests per minute (RPM)',
  rpd: 'requests per day (RPD)',
  tpm: 'tokens per minute (TPM)',
  tpd: 'tokens per day (TPD)',
  max_concurrent: 'concurrent requests',
  budget_total: 'total budget',
  budget_daily: 'daily budget',
  budget_monthly: 'monthly budget',
};

/** key / model / key_model: the kind of subject, never its id (metric labels stay bounded). */
function subjectScope(id: string): string {
  return id.startsWith('km:') ? 'key_model' : id.startsWith('m:') ? 'model' : 'key';
}

function refusalError(r: Refusal, tokens: number): GatewayError {
  const headers: Record<string, string> = {};
  if (r.retryAfterMs > 0) {
    headers['retry-after'] = String(Math.ceil(r.retryAfterMs / 1000));
    headers['retry-after-ms'] = String(Math.ceil(r.retryAfterMs));
  }
  if (r.kind.startsWith('budget_')) {
    return new GatewayError(429, `The ${kindText[r.kind]} of ${r.subject.label} ($${r.limit}) is used up.`, {
      type: 'insufficient_quota',
      code: 'insufficient_quota',
      headers,
    });
  }
  const requested = r.kind === 'tpm' || r.kind === 'tpd' ? tokens : 1;
  return new GatewayError(
    429,
    `Rate limit reached for ${r.subject.label} on ${kindText[r.kind]}: Limit ${r.limit}, Requested ${requested}. ` +
      `Please try again in ${formatDuration(r.retryAfterMs)}.`,
    { type: 'rate_limit_error', code: 'rate_limit_exceeded', headers },
  );
}

function pushHeaders(ctx: RequestContext, v: QuotaView): void {
  const h = ctx.responseHeaders;
  if (v.requests) {
    h.push(['x-ratelimit-limit-requests', String(v.requests.limit)]);
    h.push(['x-ratelimit-remaining-requests', String(v.requests.remaining)]);
    h.push(['x-ratelimit-reset-requests', formatDuration(v.requests.resetMs)]);
  }
  if (v.tokens) {
    h.push(['x-ratelimit-limit-tokens', String(v.tokens.limit)]);
    h.push(['x-ratelimit-remaining-tokens', String(v.tokens.remaining)]);
    h.push(['x-ratelimit-reset-tokens', formatDuration(v.tokens.resetMs)]);
  }
}

export interface AdmissionOptions {
  limiter: Limiter;
  prices: PriceTable;
  /** Model → subject of that model's all-keys limits. */
  modelSubjects: ReadonlyMap<string, Subject>;
  defaultMaxOutputTokens: number;
}

function estimatePrompt(ctx: RequestContext): number {
  if (ctx.promptTokens) return ctx.promptTokens.count;
  // The exact count (usage) replaces the estimate at settlement.
  const count = estimatePromptTokens(ctx.rawBody);
  ctx.promptTokens = { count, exact: false };
  return count;
}

export function createAdmissionStage(o: AdmissionOptions): Stage {
  const decide = (ctx: RequestContext, st: LimitsState, tokens: number, a: Admission): void => {
    pushHeaders(ctx, a.view);
    if (a.ok) {
      st.charge = a.charge;
      return;
    }
    if (a.refusal) {
      noteRateLimitRejection(ctx, `${subjectScope(a.refusal.subject.id)}.${a.refusal.kind}`);
      throw refusalError(a.refusal, tokens);
    }
    throw new GatewayError(503, 'The rate limiter is unavailable; try again shortly.', {
      type: 'api_error',
      code: 'limits_unavailable',
      headers: { 'retry-after': '1' },
    });
  };

  return {
    name: 'limits.admission',
    phase: 'request',
    onRequest(ctx) {
      const st = stateOf(ctx);
      const subjects: Subject[] = [];
      if (st.key) {
        subjects.push(st.key.subject);
        const km = st.key.modelSubjects.get(ctx.model);
        if (km) subjects.push(km);
      }
      const model = o.modelSubjects.get(ctx.model);
      if (model) subjects.push(model);
      if (subjects.length === 0) return;
      st.promptEstimate = estimatePrompt(ctx);
      // Each of the n (or best_of) completions may run to the output limit.
      const reserve = ctx.operation === 'embeddings' ? 0 : (ctx.maxOutputTokens ?? o.defaultMaxOutputTokens) * ctx.choices;
      // Counting tokens is a request against request limits but spends no tokens.
      const tokens = ctx.operation === 'chat.count_tokens' ? 0 : st.promptEstimate + reserve;
      const a = o.limiter.admit(subjects, tokens);
      if (a instanceof Promise) return a.then((r) => decide(ctx, st, tokens, r));
      decide(ctx, st, tokens, a);
    },
    onComplete(ctx) {
      const st = ctx.state.get(FEATURE) as LimitsState | undefined;
      const charge = st?.charge;
      if (!st || !charge) return;
      st.charge = undefined;
      const r = ctx.result;
      const usage = r.usage;
      // Without reported usage (aborted or broken stream), charge what was produced: one token per relayed chunk.
      // Nothing sent upstream (answered locally, refused later in the chain) costs nothing.
      const produced = r.attempts > 0 && (r.chunks > 0 || r.outcome === 'ok');
      const promptTokens = usage ? usage.promptTokens : produced ? st.promptEstimate : 0;
      const completionTokens = usage ? usage.completionTokens : r.chunks;
      const names = priceNames(ctx.model, ctx.deployment?.provider.name, ctx.deployment?.upstreamModel, r.responseModel);
      const costUsd = o.prices.costUsd(names, {
        promptTokens,
        completionTokens,
        cachedTokens: usage?.cachedTokens ?? 0,
        cacheWriteTokens: usage?.cacheWriteTokens ?? 0,
      });
      noteCost(ctx, costUsd);
      o.limiter.settle(charge, { promptTokens, completionTokens, costUsd });
    },
  };
}
