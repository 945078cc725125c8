// Which dialects some providers serve natively, so a request in them goes up as the client sent it.
import type { Deployment } from '../config/compile.js';
import { openAiAdapter } from '../providers/openai/index.js';
import { responsesPassThrough } from '../providers/openai-responses/index.js';
import type { PassThroughRoute } from '../pipeline/upstream-plan.js';
import type { DialectName } from '../translate/dialect.js';

export const passThroughRoutes: Readonly<Partial<Record<DialectName, PassThroughRoute>>> = {
  'anthropic-messages': {
    serves: (deployment: Deployment) => deployment.provider.type === 'anthropic',
    path: () => '/v1/messages',
    // The deployment's own adapter is Anthropic's (loaded with the provider, see providers/registry.ts).
    decoding: (deployment: Deployment) => deployment.adapter.chat,
    adapter: (deployment: Deployment) => deployment.adapter,
  },
  // OpenAI and Azure serve the Responses API; the OpenAI-compatible presets are not assumed to.
  'openai-responses': {
    serves: (deployment: Deployment) => deployment.provider.type === 'openai' || deployment.provider.type === 'azure',
    path: (deployment: Deployment) => deployment.openAi?.paths.responses ?? '/responses',
    decoding: () => responsesPassThrough,
    adapter: () => openAiAdapter,
  },
};
