// The price table (USD per 1M tokens) and the cost of one answer's usage, as the Playground shows it.
import { get } from './api';
import type { PriceEntry } from './types';

export type PriceTable = Record<string, PriceEntry>;

/** GET /admin/prices as a plain map, whether it comes bare or wrapped in {data}/{prices}. */
export async function loadPrices(signal?: AbortSignal): Promise<PriceTable> {
  const answer = await get<Record<string, unknown>>('/admin/prices', signal);
  const inner = (answer.data && typeof answer.data === 'object' && !Array.isArray(answer.data) ? answer.data : answer.prices && typeof answer.prices === 'object' ? answer.prices : answer) as Record<string, unknown>;
  const table: PriceTable = {};
  for (const [model, entry] of Object.entries(inner)) {
    if (entry && typeof entry === 'object' && typeof (entry as PriceEntry).input === 'number') table[model] = entry as PriceEntry;
  }
  return table;
}

export interface Usage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number } | null;
}

/** Cost in USD of `usage` at the first of `names` that has a price; undefined when none has. */
export function costOf(table: PriceTable, names: ReadonlyArray<string | undefined | null>, usage: Usage): number | undefined {
  for (const name of names) {
    const p = name ? table[name] : undefined;
    if (!p) continue;
    const cached = usage.prompt_tokens_details?.cached_tokens ?? 0;
    const prompt = (usage.prompt_tokens ?? 0) - cached;
    return (prompt * p.input + cached * (p.cached_input ?? p.input) + (usage.completion_tokens ?? 0) * p.output) / 1_000_000;
  }
  return undefined;
}
