// Model and provider names for pickers: from the config API, falling back to the router's view.
import { ApiError, get, type List } from './api';
import type { LiveModel, ModelConfig, ProviderConfig } from './types';

export async function modelNames(signal?: AbortSignal): Promise<string[]> {
  try {
    const list = await get<List<ModelConfig>>('/admin/models', signal);
    return list.data.map((m) => m.name).sort();
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 404) throw err;
    const live = await get<{ models: LiveModel[] }>('/admin/deployments', signal);
    return live.models.map((m) => m.model).sort();
  }
}

export async function providerNames(signal?: AbortSignal): Promise<string[]> {
  const list = await get<List<ProviderConfig>>('/admin/providers', signal);
  return list.data.map((p) => p.name).sort();
}
