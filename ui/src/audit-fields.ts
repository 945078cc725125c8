// Reads audit rows whether they come as summaries (id, tokens, cost) or as whole records (record_id, usage, cost_usd).
import type { AuditSummary } from './types';

export const recordId = (r: AuditSummary): string => r.id ?? r.record_id ?? '';

export function keyLabel(r: AuditSummary): string {
  if (!r.key) return '–';
  return typeof r.key === 'string' ? r.key : r.key.name || r.key.id;
}

export function deploymentLabel(r: AuditSummary): string {
  if (!r.deployment) return '–';
  return typeof r.deployment === 'string' ? r.deployment : (r.deployment.id ?? `${r.deployment.provider}/${r.deployment.upstream_model}`);
}

export function tokensOf(r: AuditSummary): number | null {
  if (typeof r.tokens === 'number') return r.tokens;
  if (r.tokens && typeof r.tokens === 'object') return r.tokens.total ?? (r.tokens.prompt ?? 0) + (r.tokens.completion ?? 0);
  return r.usage?.total_tokens ?? null;
}

export const costOfRecord = (r: AuditSummary): number | null => r.cost ?? r.cost_usd ?? null;

export const statusTone = (status: number): 'ok' | 'warn' | 'bad' => (status >= 500 || status === 0 ? 'bad' : status >= 400 ? 'warn' : 'ok');
