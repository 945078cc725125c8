// Server-thread stages: auth (src/limits/auth-stage.ts) and admission (limits, budgets, x-ratelimit-* headers, reconciliation).
import { GatewayError } from '../shared/errors.js';
import { noteCost, noteRateLimitRejection } from '../pipeline/observations.js';
import { estimatePromptTokens, type RequestContext } from '../pipeline/context.js';
import type { Stage } from '../pipeline/stage.js';
import type { Admission, Limiter, QuotaView, Refusal, Subject } from './limiter.js';
import { priceNames, type PriceTable } from './prices.js';
import type { SharedCounterTable } from './shared-table.js';
import { formatDuration } from './windows.js';
import { FEATURE, stateOf, type LimitsState } from './request-state.js';

export { FEATURE } from './request-state.js';
export { createAuthStage, KeyLookup, presentedKey, threadKeyCheck, type KeyCheck } from './auth-stage.js';

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
  /** A reload's config limit values, written before this generation admits its first request. */
  configLimits?: ConfigLimits;
}

/**
 * A limits generation's config values (SharedCounterTable.applyConfigLimits), written by the first
 * request it admits on any thread: rows keep the values in force until the threads serve the new config.
 */
export class ConfigLimits {
  private values: Float64Array | undefined;

  constructor(
    private readonly table: SharedCounterTable,
    private readonly generation: number,
    values: Float64Array,
  ) {
    this.values = values;
  }

  /** Cheap once written: one field read per request. */
  ensureWritten(): void {
    const values = this.values;
    if (values === undefined) return;
    this.values = undefined;
    this.table.applyConfigLimits(this.generation, values);
  }
}

function estimatePrompt(ctx: RequestContext): number {
  if (ctx.promptTokens) return ctx.promptTokens.count;
  // The exact count (usage) replaces the estimate at settlement.
  const count = estimatePromptTokens(ctx.rawBody);
  ctx.promptTokens = { count, exact: false };
  return count;
}

export function createAdmissionStage(o: AdmissionOptions): Stage {
  const configLimits = o.configLimits;
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
      configLimits?.ensureWritten();
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
