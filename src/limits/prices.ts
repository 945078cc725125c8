// Price table (USD per 1M tokens) and the cost of one request. The shipped table is overridden per model by `prices:` in config.
import type { PriceEntry } from './config.js';
import type { TokenUsage } from '../pipeline/context.js';

/**
 * Shipped defaults: public list prices (standard tier, no batch discount, smallest context tier) as known
 * to the author from the providers' pricing pages up to mid-2025. They were NOT fetched at build time —
 * check them against the providers' pages and override in `prices:` where they differ.
 */
export const PRICES_AS_OF = '2025-06 (not re-verified; see docs/limits.md)';

export const defaultPrices: Readonly<Record<string, PriceEntry>> = {
  // OpenAI — openai.com/api/pricing
  'gpt-5': { input: 1.25, cached_input: 0.125, output: 10 },
  'gpt-5-mini': { input: 0.25, cached_input: 0.025, output: 2 },
  'gpt-5-nano': { input: 0.05, cached_input: 0.005, output: 0.4 },
  'gpt-4.1': { input: 2, cached_input: 0.5, output: 8 },
  'gpt-4.1-mini': { input: 0.4, cached_input: 0.1, output: 1.6 },
  'gpt-4.1-nano': { input: 0.1, cached_input: 0.025, output: 0.4 },
  'gpt-4o': { input: 2.5, cached_input: 1.25, output: 10 },
  'gpt-4o-mini': { input: 0.15, cached_input: 0.075, output: 0.6 },
  'gpt-4-turbo': { input: 10, output: 30 },
  'gpt-3.5-turbo': { input: 0.5, output: 1.5 },
  o1: { input: 15, cached_input: 7.5, output: 60 },
  'o1-mini': { input: 1.1, cached_input: 0.55, output: 4.4 },
  o3: { input: 2, cached_input: 0.5, output: 8 },
  'o3-mini': { input: 1.1, cached_input: 0.55, output: 4.4 },
  'o4-mini': { input: 1.1, cached_input: 0.275, output: 4.4 },
  'text-embedding-3-small': { input: 0.02, output: 0 },
  'text-embedding-3-large': { input: 0.13, output: 0 },
  // Anthropic — anthropic.com/pricing (cached_input = cache read)
  // (cache_write_input = 5-minute cache write, 1.25 × input)
  'claude-opus-4': { input: 15, cached_input: 1.5, cache_write_input: 18.75, output: 75 },
  'claude-sonnet-4': { input: 3, cached_input: 0.3, cache_write_input: 3.75, output: 15 },
  'claude-3-7-sonnet': { input: 3, cached_input: 0.3, cache_write_input: 3.75, output: 15 },
  'claude-3-5-sonnet': { input: 3, cached_input: 0.3, cache_write_input: 3.75, output: 15 },
  'claude-3-5-haiku': { input: 0.8, cached_input: 0.08, cache_write_input: 1, output: 4 },
  'claude-3-opus': { input: 15, cached_input: 1.5, cache_write_input: 18.75, output: 75 },
  'claude-3-haiku': { input: 0.25, cached_input: 0.03, cache_write_input: 0.3, output: 1.25 },
  // Google Gemini — ai.google.dev/pricing (prompts ≤ 128k/200k tokens)
  'gemini-2.5-pro': { input: 1.25, cached_input: 0.31, output: 10 },
  'gemini-2.5-flash': { input: 0.3, cached_input: 0.075, output: 2.5 },
  'gemini-2.5-flash-lite': { input: 0.1, cached_input: 0.025, output: 0.4 },
  'gemini-2.0-flash': { input: 0.1, cached_input: 0.025, output: 0.4 },
  'gemini-2.0-flash-lite': { input: 0.075, output: 0.3 },
  'gemini-1.5-pro': { input: 1.25, output: 5 },
  'gemini-1.5-flash': { input: 0.075, output: 0.3 },
  // DeepSeek — api-docs.deepseek.com/quick_start/pricing (standard hours; cached_input = cache hit)
  'deepseek-chat': { input: 0.27, cached_input: 0.07, output: 1.1 },
  'deepseek-reasoner': { input: 0.55, cached_input: 0.14, output: 2.19 },
  // Qwen — Alibaba Cloud Model Studio, international
  'qwen-max': { input: 1.6, output: 6.4 },
  'qwen-plus': { input: 0.4, output: 1.2 },
  'qwen-turbo': { input: 0.05, output: 0.2 },
  // Mistral — mistral.ai/pricing
  'mistral-large': { input: 2, output: 6 },
  'mistral-medium': { input: 0.4, output: 2 },
  'mistral-small': { input: 0.1, output: 0.3 },
  codestral: { input: 0.3, output: 0.9 },
  'open-mistral-nemo': { input: 0.15, output: 0.15 },
};

/** Model name → price, built once from the shipped table and the config's overrides. */
export class PriceTable {
  private readonly exact: Map<string, PriceEntry>;
  private readonly byLength: string[];
  private readonly memo = new Map<string, PriceEntry | null>();

  constructor(overrides: Record<string, PriceEntry>) {
    this.exact = new Map(Object.entries({ ...defaultPrices, ...overrides }));
    this.byLength = [...this.exact.keys()].sort((a, b) => b.length - a.length);
  }

  /**
   * Exact name, else the longest listed name followed by "-" (dated or suffixed variants such as
   * "gpt-4o-2024-08-06" or "claude-3-5-sonnet-latest"). The answer is memoised per name.
   */
  lookup(model: string): PriceEntry | undefined {
    const hit = this.memo.get(model);
    if (hit !== undefined) return hit ?? undefined;
    let found = this.exact.get(model);
    if (!found) {
      const name = this.byLength.find((n) => model.startsWith(n + '-'));
      found = name === undefined ? undefined : this.exact.get(name);
    }
    if (this.memo.size < 10_000) this.memo.set(model, found ?? null);
    return found;
  }

  /** The price of the first name that has one. */
  lookupFirst(models: ReadonlyArray<string | undefined>): PriceEntry | undefined {
    for (const m of models) {
      if (m === undefined) continue;
      const p = this.lookup(m);
      if (p) return p;
    }
    return undefined;
  }

  /** First model name with a price wins (client name, upstream name, the name the upstream answered with). */
  costUsd(models: ReadonlyArray<string | undefined>, usage: PricedUsage): number {
    for (const m of models) {
      if (m === undefined) continue;
      const p = this.lookup(m);
      if (p) return priceOf(p, usage);
    }
    return 0;
  }
}

/** What a price applies to; promptTokens includes cache reads and writes (canonical usage). */
export type PricedUsage = Pick<TokenUsage, 'promptTokens' | 'completionTokens' | 'cachedTokens'> & { cacheWriteTokens?: number };

export function priceOf(p: PriceEntry, u: PricedUsage): number {
  const cached = Math.min(u.cachedTokens, u.promptTokens);
  const written = Math.min(u.cacheWriteTokens ?? 0, u.promptTokens - cached);
  const uncached = u.promptTokens - cached - written;
  return (uncached * p.input + cached * (p.cached_input ?? p.input) + written * (p.cache_write_input ?? p.input) + u.completionTokens * p.output) / 1e6;
}

/** Price names tried for a request, most specific first: `provider/model` entries win over plain model names. */
export function priceNames(model: string, provider: string | undefined, upstreamModel: string | undefined, responseModel: string | undefined): Array<string | undefined> {
  return provider === undefined
    ? [model, upstreamModel, responseModel]
    : [`${provider}/${model}`, `${provider}/${upstreamModel}`, model, upstreamModel, responseModel];
}
