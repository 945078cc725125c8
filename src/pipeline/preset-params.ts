// The byte path's check of parameters an OpenAI-compatible preset refuses: a 400 naming one, or set to null (dropped).
import type { Deployment } from '../config/compile.js';
import type { OpenAiOperation } from '../providers/openai/index.js';
import { unsupportedParam } from '../providers/unsupported.js';
import type { Operation, RequestContext } from './context.js';
import { targetOf } from './upstream-plan.js';

export function checkPresetParams(ctx: RequestContext, deployment: Deployment, unsupported: readonly string[], edits: Map<string, string>): void {
  const json = ctx.json ?? (JSON.parse((ctx.body ?? ctx.rawBody).toString('utf8')) as Record<string, unknown>);
  for (const param of unsupported) {
    const value = json[param];
    if (value === undefined || value === null) continue;
    if (!deployment.dropUnsupported) throw unsupportedParam(targetOf(ctx, deployment), param);
    edits.set(param, 'null');
  }
}

export function openAiOperationOf(operation: Operation): OpenAiOperation {
  return operation === 'embeddings' ? 'embeddings' : operation === 'completions' ? 'completions' : 'chat';
}
