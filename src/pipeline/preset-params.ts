// The byte path's check of parameters an OpenAI-compatible preset refuses: a 400 naming one, or set to null (dropped).
import type { Deployment } from '../config/compile.js';
import { unsupportedToDrop } from '../providers/unsupported.js';
import type { RequestContext } from './context.js';
import { targetOf } from './upstream-plan.js';

export function checkPresetParams(ctx: RequestContext, deployment: Deployment, unsupported: readonly string[], edits: Map<string, string>): void {
  const json = ctx.json ?? (JSON.parse((ctx.body ?? ctx.rawBody).toString('utf8')) as Record<string, unknown>);
  for (const param of unsupportedToDrop(json, unsupported, targetOf(ctx, deployment))) edits.set(param, 'null');
}
