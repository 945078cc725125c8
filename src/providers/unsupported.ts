// The one check of parameters a provider cannot honour: a 400 naming the first one, or all dropped.
import { errors } from '../shared/errors.js';
import type { ChatRequest, JsonObject } from '../translate/canonical.js';
import type { ProviderTarget } from '../translate/provider.js';

/** The unsupported parameters the request sets, to be dropped; a 400 naming the first unless the target drops them. */
export function unsupportedToDrop(req: Readonly<JsonObject>, unsupported: readonly string[], target: ProviderTarget): string[] {
  const drop: string[] = [];
  for (const param of unsupported) {
    const value = req[param];
    if (value === undefined || value === null) continue;
    if (!target.dropUnsupported) throw unsupportedParam(target, param);
    drop.push(param);
  }
  return drop;
}

/** A shallow copy of the request without the unsupported fields (when dropping), else the copy as it is. */
export function checkUnsupported(req: ChatRequest, unsupported: readonly string[], target: ProviderTarget): JsonObject {
  const body: JsonObject = { ...req };
  for (const param of unsupportedToDrop(body, unsupported, target)) delete body[param];
  return body;
}

export function unsupportedParam(target: ProviderTarget, param: string) {
  const p = target.provider;
  return errors.invalidParam(
    param,
    `Provider '${p.name}' (${p.type}) does not support '${param}'. Remove it, or set drop_unsupported: true on the provider or model to drop it.`,
  );
}
