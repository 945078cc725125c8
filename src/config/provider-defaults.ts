// Fills in what a provider's type implies (base URL, region) and refuses what it cannot do without.
import { isPreset, presets } from '../providers/presets.js';
import type { ProviderConfig, SwitchyardConfig } from './types.js';

const defaultBaseUrls: Partial<Record<ProviderConfig['type'], string>> = {
  anthropic: 'https://api.anthropic.com',
  gemini: 'https://generativelanguage.googleapis.com',
};

/** Mutates the validated config in place; returns problems with their config paths. */
export function fillProviderDefaults(config: SwitchyardConfig, env: NodeJS.ProcessEnv): string[] {
  const problems: string[] = [];
  config.providers.forEach((p, i) => {
    const at = `providers.${i}`;
    if (p.type === 'bedrock') {
      p.region ??= env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined;
      if (p.region === undefined && p.base_url === undefined) {
        problems.push(`${at}.region: a bedrock provider needs a region (or AWS_REGION in the environment, or a base_url)`);
      }
      if ((p.aws_access_key_id === undefined) !== (p.aws_secret_access_key === undefined)) {
        problems.push(`${at}: aws_access_key_id and aws_secret_access_key go together`);
      }
      p.base_url ??= `https://bedrock-runtime.${p.region}.amazonaws.com`;
    } else if (isPreset(p.type)) {
      p.base_url ??= presets[p.type].baseUrl;
    } else {
      p.base_url ??= defaultBaseUrls[p.type] as string;
    }
    if (p.base_url === undefined) problems.push(`${at}.base_url: required for type '${p.type}'`);
    if (p.type === 'azure' && p.base_url !== undefined && /\/openai(\/|$)/.test(new URL(p.base_url).pathname)) {
      problems.push(`${at}.base_url: give the resource endpoint (https://<resource>.openai.azure.com) without /openai; api_version picks the path`);
    }
  });
  return problems;
}
