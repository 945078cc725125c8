// Provider type → the adapter of its wire family.
import type { ProviderType } from '../config/types.js';
import type { ProviderAdapter, ProviderFamily } from '../translate/provider.js';
import { openAiAdapter } from './openai/index.js';

const byFamily: Partial<Record<ProviderFamily, ProviderAdapter>> = {
  openai: openAiAdapter,
  azure: openAiAdapter,
};

/**
 * Families loaded only when a provider of theirs is configured: a thread carries no code it does not use.
 * It matters for speed, not only memory: with every translator loaded at start, a thread serving only
 * OpenAI traffic ran 12–20% slower, its young-generation scavenges taking about 4× longer (found by
 * bisection; importing any large unused module did the same; docs/BENCHMARKS.md, "Translation").
 */
const loadedOnDemand: Partial<Record<ProviderFamily, () => Promise<ProviderAdapter>>> = {
  anthropic: async () => (await import('./anthropic/index.js')).anthropicAdapter,
  gemini: async () => (await import('./gemini/index.js')).geminiAdapter,
  bedrock: async () => (await import('./bedrock/index.js')).bedrockAdapter,
};

/** Loads the adapters of these provider types that are not loaded yet; call before compiling routes. */
export async function loadAdapters(types: Iterable<ProviderType>): Promise<void> {
  for (const type of types) {
    const family = familyOf(type);
    const load = loadedOnDemand[family];
    if (byFamily[family] === undefined && load !== undefined) byFamily[family] = await load();
  }
}

/** The wire family of a provider type: presets are OpenAI-compatible. */
export function familyOf(type: ProviderType): ProviderFamily {
  return type === 'azure' || type === 'anthropic' || type === 'gemini' || type === 'bedrock' ? type : 'openai';
}

export function adapterFor(type: ProviderType): ProviderAdapter {
  const adapter = byFamily[familyOf(type)];
  if (adapter === undefined) throw new Error(`provider type '${type}' is not loaded: call loadAdapters() first`);
  return adapter;
}

/** Whether the provider takes OpenAI chat completions as they are (the byte pass-through path). */
export function speaksOpenAi(type: ProviderType): boolean {
  const family = familyOf(type);
  return family === 'openai' || family === 'azure';
}
