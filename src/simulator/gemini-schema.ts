// A small deterministic value valid for a JSON Schema or Gemini's OpenAPI-subset Schema (types in any case),
// for function-call args and JSON-mode answers of the Gemini simulator.
import { isObject, type JsonObject } from './request.js';

/** Deep enough for real tool schemas; a recursive $ref stops here with null. */
const maxDepth = 8;

function resolveRef(ref: string, root: JsonObject): unknown {
  const match = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref);
  if (match === null) return undefined;
  const defs = root[match[1]];
  return isObject(defs) ? defs[match[2]] : undefined;
}

function typeOf(schema: JsonObject): string | undefined {
  const type = schema.type;
  if (typeof type === 'string') return type.toLowerCase();
  if (Array.isArray(type)) {
    const first = type.find((t) => typeof t === 'string' && t.toLowerCase() !== 'null');
    return typeof first === 'string' ? first.toLowerCase() : 'null';
  }
  if (isObject(schema.properties)) return 'object';
  if (schema.items !== undefined) return 'array';
  return undefined;
}

function sample(schema: unknown, root: JsonObject, depth: number): unknown {
  if (!isObject(schema) || depth > maxDepth) return null;
  if (typeof schema.$ref === 'string') return sample(resolveRef(schema.$ref, root), root, depth + 1);
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  const union = Array.isArray(schema.anyOf) ? schema.anyOf : Array.isArray(schema.oneOf) ? schema.oneOf : undefined;
  if (union !== undefined && union.length > 0) return sample(union[0], root, depth + 1);
  switch (typeOf(schema)) {
    case 'object': {
      const value: JsonObject = {};
      const properties = isObject(schema.properties) ? schema.properties : {};
      for (const [name, property] of Object.entries(properties)) value[name] = sample(property, root, depth + 1);
      return value;
    }
    case 'array': {
      const min = typeof schema.minItems === 'number' && schema.minItems > 1 ? Math.min(schema.minItems, 8) : 1;
      return Array.from({ length: min }, () => sample(schema.items, root, depth + 1));
    }
    case 'string':
      return 'sim';
    case 'integer':
    case 'number':
      return typeof schema.minimum === 'number' && schema.minimum > 1 ? Math.ceil(schema.minimum) : 1;
    case 'boolean':
      return true;
    default:
      return null;
  }
}

export function sampleOf(schema: unknown): unknown {
  return sample(schema, isObject(schema) ? schema : {}, 0);
}

/** Function-call args are always an object (Gemini's Struct). */
export function argsOf(schema: unknown): JsonObject {
  const value = sampleOf(schema);
  return isObject(value) ? value : {};
}
