// The guards' request stage: one task per request (prompt guards, PII redaction, exact token count)
// sent to the worker pool, or run inline when the body is small enough; then the verdict is applied
// to the context and the response filter is prepared from what redaction recorded.
import type { RequestContext } from '../pipeline/context.js';
import { noteGuardVerdict } from '../pipeline/observations.js';
import type { ResponseFilter, Stage } from '../pipeline/stage.js';
import { GatewayError } from '../shared/errors.js';
import type { GuardsConfig } from './config.js';
import type { GuardEngine } from './engine.js';
import { extractPromptText, textsForScope, writeText, type PromptText } from './prompt-text.js';
import { refusalResponse } from './refusal.js';
import { createGuardResponseFilter } from './response-filter.js';
import type { GuardSelector } from './select.js';
import { PoolTimeoutError, PoolWorkerError, type GuardPool } from '../pool/guard-pool.js';
import type { AnalyseResult, AnalyseTask } from '../pool/tasks.js';
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

async function runAnalyse(runner: AnalyseRunner, task: AnalyseTask, bytes: number): Promise<AnalyseResult> {
  if (runner.inline && bytes <= runner.inlineMaxBytes) return runner.inline.analyse(task);
  if (!runner.pool) throw new PoolWorkerError('no guard pool');
  return runner.pool.run(task);
}

export function createGuardsStage(config: GuardsConfig, selector: GuardSelector, runner: AnalyseRunner): Stage {
  const emptyPseudonyms = new Map<string, string>();

  const setState = (ctx: RequestContext, pseudonyms: Map<string, string>, outputGuards: readonly CompiledOutputGuard[], redactedTexts: number) => {
    const state: GuardsRequestState = { pseudonyms, outputGuards, redactedTexts, outputTriggered: undefined };
    ctx.state.set(guardsStateKey, state);
  };

  async function guard(ctx: RequestContext, task: AnalyseTask, guardsNeeded: boolean): Promise<AnalyseResult | undefined> {
    try {
      return await runAnalyse(runner, task, ctx.rawBody.length);
    } catch (err) {
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

  /** The one task of a request: the prompt's texts, counted with `encoding` (null: not counted), and what scans them. */
  function analyseTask(
    prompt: PromptText,
    encoding: AnalyseTask['encoding'],
    guards: AnalyseTask['guards'],
    pii: AnalyseTask['pii'],
  ): AnalyseTask {
    return {
      kind: 'analyse',
      countDeadlineEpochMs: Date.now() + Math.floor(runner.timeoutMs * 0.75),
      encoding,
      texts: prompt.texts,
      countOnly: prompt.countOnly,
      guards,
      pii,
    };
  }

  /** count_tokens: the exact count of the prompt as the client sent it; no guard runs, nothing is redacted. */
  function countOnly(ctx: RequestContext, encoding: AnalyseTask['encoding']): Promise<void> | void {
    if (encoding === null) return;
    const prompt = extractPromptText(ctx.operation, ctx.json, config.tokenizer);
    return guard(ctx, analyseTask(prompt, encoding, [], null), false).then((result) => {
      if (result) ctx.promptTokens = { count: prompt.fixedTokens + result.tokens, exact: result.exact };
    });
  }

  return {
    name: 'guards',

    onRequest(ctx: RequestContext): Promise<void> | void {
      const selection = selector.select(ctx.model, ctx.deployment?.upstreamModel, ctx.key);
      if (ctx.operation === 'chat.count_tokens') return countOnly(ctx, selection.encoding);
      const guardsNeeded = selection.prompt.length > 0 || selection.pii >= 0;
      if (!guardsNeeded && selection.encoding === null) {
        if (selection.output.length > 0) setState(ctx, emptyPseudonyms, selection.output, 0);
        return;
      }
      const prompt = extractPromptText(ctx.operation, ctx.json, config.tokenizer);
      const piiPolicy = selection.pii >= 0 ? config.pii[selection.pii]! : undefined;
      const task = analyseTask(
        prompt,
        selection.encoding,
        selection.prompt.map((g) => {
          const c = config.guards.prompt[g]!;
          return { guard: g, texts: textsForScope(prompt.locations, c.roles, c.scope) };
        }),
        piiPolicy ? { policy: selection.pii, texts: textsForScope(prompt.locations, piiPolicy.roles, 'conversation') } : null,
      );
      return guard(ctx, task, guardsNeeded).then((result) => {
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
        for (const [index, text] of result.redacted) writeText(ctx.json, prompt.locations[index]!, text);
        if (result.redacted.length > 0) {
          ctx.bodyChanged = true;
          noteGuardVerdict(ctx, { guard: `pii:${piiPolicy?.name ?? ''}`, action: 'redact' });
        }
        if (selection.encoding !== null) {
          ctx.promptTokens = { count: prompt.fixedTokens + result.tokens, exact: result.exact };
        }
        const pseudonyms = result.pseudonyms.length > 0 ? new Map(result.pseudonyms) : emptyPseudonyms;
        if (pseudonyms.size > 0 || selection.output.length > 0 || result.redacted.length > 0) {
          setState(ctx, pseudonyms, selection.output, result.redacted.length);
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
