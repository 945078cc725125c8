// OpenAI-compatible APIs known by name: each is a few declarative lines, a default base URL and its quirks.
import type { PresetType } from '../config/types.js';

export interface Preset {
  /** Used when the provider's config has no base_url. */
  readonly baseUrl: string;
  /** Parameters the API is known to refuse; refused with a 400 naming them, or dropped with drop_unsupported. */
  readonly unsupported?: readonly string[];
  /** Where the API documents itself, for docs/providers.md. */
  readonly docs: string;
}

export const presets: Readonly<Record<PresetType, Preset>> = {
  // DeepSeek and Qwen send reasoning as reasoning_content, the canonical form's own field: nothing to translate.
  deepseek: {
    baseUrl: 'https://api.deepseek.com/v1',
    unsupported: ['n', 'logit_bias', 'seed'],
    docs: 'https://api-docs.deepseek.com/',
  },
  qwen: {
    // DashScope compatible mode (international endpoint; use dashscope.aliyuncs.com in mainland China).
    baseUrl: 'https://dashscope-intl.aliyuncs.com/compatible-mode/v1',
    unsupported: ['logit_bias'],
    docs: 'https://www.alibabacloud.com/help/en/model-studio/compatibility-of-openai-with-dashscope',
  },
  mistral: { baseUrl: 'https://api.mistral.ai/v1', unsupported: ['logit_bias', 'logprobs', 'top_logprobs'], docs: 'https://docs.mistral.ai/api/' },
  groq: { baseUrl: 'https://api.groq.com/openai/v1', unsupported: ['logit_bias', 'logprobs', 'top_logprobs'], docs: 'https://console.groq.com/docs/openai' },
  together: { baseUrl: 'https://api.together.xyz/v1', docs: 'https://docs.together.ai/docs/openai-api-compatibility' },
  fireworks: { baseUrl: 'https://api.fireworks.ai/inference/v1', docs: 'https://docs.fireworks.ai/tools-sdks/openai-compatibility' },
  openrouter: { baseUrl: 'https://openrouter.ai/api/v1', docs: 'https://openrouter.ai/docs/api-reference/overview' },
  xai: { baseUrl: 'https://api.x.ai/v1', unsupported: ['logit_bias'], docs: 'https://docs.x.ai/docs/api-reference' },
  vllm: { baseUrl: 'http://127.0.0.1:8000/v1', docs: 'https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html' },
  ollama: { baseUrl: 'http://127.0.0.1:11434/v1', unsupported: ['logit_bias', 'n'], docs: 'https://github.com/ollama/ollama/blob/main/docs/openai.md' },
};

export function isPreset(type: string): type is PresetType {
  return Object.prototype.hasOwnProperty.call(presets, type);
}
