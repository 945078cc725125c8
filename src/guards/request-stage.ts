// The guards' request stage: one task per request (prompt guards, PII redaction, exact token count)
// sent to the worker pool with the body as bytes, or run inline when the body is small enough; then
// the verdict is applied to the context and the response filter is prepared from what redaction
// recorded.
import type { RequestContext } from '../pipeline/context.js';
import { noteGuardVerdict, noteRateLimitRejection } from '../pipeline/observations.js';
import type { ResponseFilter, Stage } from '../pipeline/stage.js';
import { GatewayError } from '../shared/errors.js';
import type { GuardsConfig } from './config.js';
import type { GuardEngine } from './engine.js';
import { analyseRequest, analyseRequestBody, type AnalysisSpec, type RequestAnalysis } from './request-analysis.js';
import { refusalResponse } from './refusal.js';
import { createGuardResponseFilter } from './response-filter.js';
import type { GuardSelector } from './select.js';
import { PoolCapacityError, PoolTimeoutError, PoolWorkerError, type GuardPool } from '../pool/guard-pool.js';
import type { CompiledOutputGuard } from './output-guard.js';

export const guardsStateKey = 'guards';

/** What the guards recorded about a request (ctx.state.get('guards')), for the response filter, audit and metrics. */
export interface GuardsRequestState {
  pseudonyms: Map<string, string>;
  outputGuards: readonly CompiledOutputGuard[];
  /** Text parts changed by PII redaction. */
  redactedTexts: number;
  /** Output guard that masked or stopped text, once it did. */
  outputTriggered: { guard: string; action: 'mask' | 'stop' } | undefined;
}

/** Runs an analyse task in the pool or on this thread. */
export interface AnalyseRunner {
  pool: GuardPool | undefined;
  /** Present when the inline fast path is on. */
  inline: GuardEngine | undefined;
  inlineMaxBytes: number;
  timeoutMs: number;
}

function contentPolicyError(message: string): GatewayError {
  return new GatewayError(400, message, { type: 'invalid_request_error', code: 'content_policy_violation' });
}

/** Whom the pool share counts a request against: its virtual key when it has one, else its client address. */
export function poolCaller(ctx: RequestContext): string {
  return ctx.key ? `key:${ctx.key.id}` : `addr:${ctx.head.remoteAddress}`;
}

/** 429 guard_capacity: the caller's share of the pool is in use; its earlier tasks settle within one deadline. */
function capacityError(ctx: RequestContext, err: PoolCapacityError): GatewayError {
  const seconds = Math.max(1, Math.ceil(err.retryAfterMs / 1000));
  const who = ctx.key ? 'this key' : 'this client address';
  return new GatewayError(
    429,
    `Guard capacity for ${who} is in use: ${err.heldBytes} bytes of its earlier requests are still being checked ` +
      `(at most ${err.maxBytes} at once); retry after ${seconds} s. The request was not sent.`,
    { type: 'rate_limit_error', code: 'guard_capacity', headers: { 'retry-after': String(seconds), 'retry-after-ms': String(err.retryAfterMs) } },
  );
}

async function runAnalysis(runner: AnalyseRunner, ctx: RequestContext, spec: AnalysisSpec): Promise<RequestAnalysis> {
  if (runner.inline && ctx.rawBody.length <= runner.inlineMaxBytes) {
    // A body the parse stage did not keep parsed (a large one) is parsed again only here, as in a worker.
    return ctx.json ? analyseRequest(runner.inline, ctx.json, spec) : analyseRequestBody(runner.inline, ctx.rawBody, spec);
  }
  if (!runner.pool) throw new PoolWorkerError('no guard pool');
  // The body crosses as bytes (the client's, which the parse stage accepted), and comes back as bytes if redacted.
  return runner.pool.analyseRequest(ctx.rawBody, spec, poolCaller(ctx));
}

export function createGuardsStage(config: GuardsConfig, selector: GuardSelector, runner: AnalyseRunner): Stage {
  const emptyPseudonyms = new Map<string, string>();

  const setState = (ctx: RequestContext, pseudonyms: Map<string, string>, outputGuards: readonly CompiledOutputGuard[], redactedTexts: number) => {
    const state: GuardsRequestState = { pseudonyms, outputGuards, redactedTexts, outputTriggered: undefined };
    ctx.state.set(guardsStateKey, state);
  };

  async function guard(ctx: RequestContext, spec: AnalysisSpec, guardsNeeded: boolean): Promise<RequestAnalysis | undefined> {
    try {
      return await runAnalysis(runner, ctx, spec);
    } catch (err) {
      if (err instanceof PoolCapacityError) {
        if (!guardsNeeded) return undefined; // counting only: the estimate stands, as on a timeout
        noteRateLimitRejection(ctx, `guard_pool.${err.lane}`);
        throw capacityError(ctx, err);
      }
      if (err instanceof PoolTimeoutError) {
        if (!guardsNeeded) return undefined; // counting only: the estimate stands
        throw new GatewayError(503, `Guard checks did not finish within ${err.timeoutMs} ms; the request was not sent.`, {
          type: 'server_error',
          code: 'guard_timeout',
        });
      }
      const detail = err instanceof PoolWorkerError ? err.message : `guard task failed: ${(err as Error).message}`;
      throw new GatewayError(500, `Internal gateway error: ${detail}; the request was not sent, retry it.`, {
        type: 'server_error',
        code: 'guard_worker_failed',
      });
    }
  }

  function analysisSpec(ctx: RequestContext, encoding: AnalysisSpec['encoding'], guards: number[], pii: number | null): AnalysisSpec {
    return { operation: ctx.operation, encoding, guards, pii, countDeadlineEpochMs: Date.now() + Math.floor(runner.timeoutMs * 0.75) };
  }

  /** count_tokens: the exact count of the prompt as the client sent it; no guard runs, nothing is redacted. */
  function countOnly(ctx: RequestContext, encoding: AnalysisSpec['encoding'], encodingIsTheModels: boolean): Promise<void> | void {
    if (encoding === null) return;
    return guard(ctx, analysisSpec(ctx, encoding, [], null), false).then((analysis) => {
      if (analysis) ctx.promptTokens = { count: analysis.tokens, exact: analysis.exact && encodingIsTheModels };
    });
  }

  return {
    name: 'guards',

    onRequest(ctx: RequestContext): Promise<void> | void {
      const selection = selector.select(ctx.model, ctx.deployment?.upstreamModel, ctx.key);
      if (ctx.operation === 'chat.count_tokens') return countOnly(ctx, selection.encoding, selection.encodingIsTheModels);
      const guardsNeeded = selection.prompt.length > 0 || selection.pii >= 0;
      if (!guardsNeeded && selection.encoding === null) {
        if (selection.output.length > 0) setState(ctx, emptyPseudonyms, selection.output, 0);
        return;
      }
      const piiPolicy = selection.pii >= 0 ? config.pii[selection.pii]! : undefined;
      const spec = analysisSpec(ctx, selection.encoding, selection.prompt, piiPolicy ? selection.pii : null);
      return guard(ctx, spec, guardsNeeded).then((result) => {
        if (!result) {
          if (selection.output.length > 0) setState(ctx, emptyPseudonyms, selection.output, 0);
          return;
        }
        if (result.verdict) {
          const g = config.guards.prompt[result.verdict.guard]!;
          noteGuardVerdict(ctx, { guard: g.name, action: g.action === 'refuse' ? 'refuse' : 'block' });
          if (g.action === 'refuse') {
            ctx.syntheticResponse = refusalResponse(ctx.model, g.refusal_message, ctx.stream);
            return;
          }
          throw contentPolicyError(`Request blocked by guard ${g.name}`);
        }
        if (result.piiBlocked) {
          noteGuardVerdict(ctx, { guard: `pii:${piiPolicy?.name ?? ''}`, action: 'block', detail: result.piiBlocked });
          throw contentPolicyError(`Request blocked by PII policy ${piiPolicy?.name ?? ''}: it contains ${result.piiBlocked} data`);
        }
        if (result.body) {
          ctx.body = Buffer.from(result.body.buffer, result.body.byteOffset, result.body.byteLength);
          noteGuardVerdict(ctx, { guard: `pii:${piiPolicy?.name ?? ''}`, action: 'redact' });
        }
        if (selection.encoding !== null) ctx.promptTokens = { count: result.tokens, exact: result.exact && selection.encodingIsTheModels };
        const pseudonyms = result.pseudonyms.length > 0 ? new Map(result.pseudonyms) : emptyPseudonyms;
        if (pseudonyms.size > 0 || selection.output.length > 0 || result.redactedTexts > 0) {
          setState(ctx, pseudonyms, selection.output, result.redactedTexts);
        }
      });
    },

    responseFilter(ctx: RequestContext): ResponseFilter | undefined {
      const state = ctx.state.get(guardsStateKey) as GuardsRequestState | undefined;
      if (!state) return undefined;
      return createGuardResponseFilter({
        pseudonyms: state.pseudonyms,
        outputGuards: state.outputGuards,
        onTrigger: (guardName, action) => {
          // The first action only (content and each tool call have a pipeline of their own), recorded like
          // the request-side verdicts: in the audit record and switchyard_guardrail_actions_total.
          if (state.outputTriggered) return;
          state.outputTriggered = { guard: guardName, action };
          noteGuardVerdict(ctx, { guard: guardName, action: action === 'stop' ? 'stop' : 'mask' });
        },
      });
    },
  };
}
