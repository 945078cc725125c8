// JSON Merge Patch (RFC 7396): how PATCH bodies and section overrides combine with what they change.

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** `target` with `patch` applied: objects merge key by key, `null` removes a key, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const out: JsonObject = isObject(target) ? structuredClone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/** One patch doing what `first` then `second` do (the `null`s of both kept, so they still remove keys). */
export function composePatches(first: JsonObject, second: JsonObject): JsonObject {
  const out: JsonObject = structuredClone(first);
  for (const [key, value] of Object.entries(second)) {
    out[key] = isObject(value) && isObject(out[key]) ? composePatches(out[key] as JsonObject, value) : structuredClone(value);
  }
  return out;
}
