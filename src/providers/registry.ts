// Provider type → the adapter of its wire family.
import type { ProviderType } from '../config/types.js';
import type { ProviderAdapter, ProviderFamily } from '../translate/provider.js';
import { openAiAdapter } from './openai/index.js';
import { geminiAdapter } from './gemini/index.js';
import { anthropicAdapter } from './anthropic/index.js';
import { bedrockAdapter } from './bedrock/index.js';

const byFamily: Partial<Record<ProviderFamily, ProviderAdapter>> = {
  openai: openAiAdapter,
  azure: openAiAdapter,
  gemini: geminiAdapter,
  anthropic: anthropicAdapter,
  bedrock: bedrockAdapter,
};

/** The wire family of a provider type: presets are OpenAI-compatible. */
export function familyOf(type: ProviderType): ProviderFamily {
  return type === 'azure' || type === 'anthropic' || type === 'gemini' || type === 'bedrock' ? type : 'openai';
}

export function adapterFor(type: ProviderType): ProviderAdapter {
  const adapter = byFamily[familyOf(type)];
  if (adapter === undefined) throw new Error(`provider type '${type}' is not available in this build`);
  return adapter;
}

/** Whether the provider takes OpenAI chat completions as they are (the byte pass-through path). */
export function speaksOpenAi(type: ProviderType): boolean {
  const family = familyOf(type);
  return family === 'openai' || family === 'azure';
}
