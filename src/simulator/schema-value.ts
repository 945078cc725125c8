// A small deterministic value valid against a JSON Schema (or Gemini's OpenAPI-subset Schema, whose types
// are upper case), for simulated structured outputs and tool arguments: objects with all their
// properties, enums and consts, string formats, number bounds, arrays of minItems, local $refs.
type Schema = Record<string, unknown>;

function isSchema(value: unknown): value is Schema {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Strings for the formats zod and pydantic emit, so a client that validates them accepts the value. */
const formatStrings: Readonly<Record<string, string>> = {
  email: 'sim@example.com',
  uri: 'https://example.com/sim',
  url: 'https://example.com/sim',
  uuid: '00000000-0000-4000-8000-000000000000',
  date: '2024-01-01',
  'date-time': '2024-01-01T00:00:00Z',
  time: '00:00:00',
  duration: 'P1D',
  ipv4: '127.0.0.1',
  ipv6: '::1',
  hostname: 'example.com',
};

/** Deeper than this a schema is taken to recurse ($ref cycles) and the value stops with null. */
const maxDepth = 12;

export function schemaValue(schema: unknown): unknown {
  return valueOf(schema, isSchema(schema) ? schema : {}, 0);
}

/** A compact JSON text of schemaValue(schema); an object when the schema says nothing. */
export function schemaJson(schema: unknown): string {
  const value = isSchema(schema) && Object.keys(schema).length > 0 ? schemaValue(schema) : {};
  return JSON.stringify(value === undefined ? {} : value);
}

function resolveRef(ref: string, root: Schema): unknown {
  if (!ref.startsWith('#')) return undefined;
  let node: unknown = root;
  for (const raw of ref.slice(1).split('/').filter((s) => s !== '')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    node = isSchema(node) ? node[key] : undefined;
  }
  return node;
}

function firstType(schema: Schema): string | undefined {
  const type = schema.type;
  if (typeof type === 'string') return type.toLowerCase();
  if (Array.isArray(type)) {
    const first = (type.find((t) => typeof t === 'string' && t.toLowerCase() !== 'null') ?? type[0]) as string | undefined;
    return first?.toLowerCase();
  }
  if (isSchema(schema.properties)) return 'object';
  if (schema.items !== undefined) return 'array';
  return undefined;
}

function valueOf(node: unknown, root: Schema, depth: number): unknown {
  if (!isSchema(node) || depth > maxDepth) return null;
  if (typeof node.$ref === 'string') return valueOf(resolveRef(node.$ref, root), root, depth + 1);
  if ('const' in node) return node.const;
  if (Array.isArray(node.enum) && node.enum.length > 0) return node.enum[0];
  if ('default' in node && node.default !== undefined) return node.default;
  for (const key of ['anyOf', 'oneOf'] as const) {
    const options = node[key];
    if (Array.isArray(options) && options.length > 0) {
      const choice = options.find((o) => !(isSchema(o) && o.type === 'null')) ?? options[0];
      return valueOf(choice, root, depth + 1);
    }
  }
  if (Array.isArray(node.allOf) && node.allOf.length > 0) return mergedAllOf(node.allOf, root, depth);
  switch (firstType(node)) {
    case 'object':
      return objectValue(node, root, depth);
    case 'array':
      return arrayValue(node, root, depth);
    case 'string':
      return stringValue(node);
    case 'integer':
      return numberValue(node, true);
    case 'number':
      return numberValue(node, false);
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return null;
  }
}

function objectValue(node: Schema, root: Schema, depth: number): Record<string, unknown> {
  const value: Record<string, unknown> = {};
  const properties = isSchema(node.properties) ? node.properties : {};
  for (const [name, property] of Object.entries(properties)) value[name] = valueOf(property, root, depth + 1);
  // Required names without a property schema still need a value.
  if (Array.isArray(node.required)) for (const name of node.required) if (typeof name === 'string' && !(name in value)) value[name] = 'sim';
  return value;
}

function mergedAllOf(parts: unknown[], root: Schema, depth: number): unknown {
  const values = parts.map((part) => valueOf(part, root, depth + 1));
  if (values.every((v) => isSchema(v))) return Object.assign({}, ...values);
  return values[0];
}

function arrayValue(node: Schema, root: Schema, depth: number): unknown[] {
  const min = typeof node.minItems === 'number' ? node.minItems : 1;
  const max = typeof node.maxItems === 'number' ? node.maxItems : Math.max(min, 1);
  const length = Math.min(Math.max(min, 1), max);
  if (Array.isArray(node.prefixItems)) return node.prefixItems.map((item) => valueOf(item, root, depth + 1));
  const items = node.items;
  const values: unknown[] = [];
  for (let i = 0; i < length; i++) values.push(valueOf(items, root, depth + 1));
  return values;
}

function stringValue(node: Schema): string {
  let text = typeof node.format === 'string' ? (formatStrings[node.format] ?? 'sim') : 'sim';
  const min = typeof node.minLength === 'number' ? node.minLength : 0;
  while (text.length < min) text += 'sim';
  if (typeof node.maxLength === 'number' && text.length > node.maxLength) text = text.slice(0, Math.max(node.maxLength, min));
  return text;
}

function numberValue(node: Schema, integer: boolean): number {
  const min = typeof node.minimum === 'number' ? node.minimum : typeof node.exclusiveMinimum === 'number' ? node.exclusiveMinimum + (integer ? 1 : 0.5) : undefined;
  const max = typeof node.maximum === 'number' ? node.maximum : typeof node.exclusiveMaximum === 'number' ? node.exclusiveMaximum - (integer ? 1 : 0.5) : undefined;
  let value = 1;
  if (min !== undefined && value < min) value = min;
  if (max !== undefined && value > max) value = max;
  return integer ? Math.ceil(value) : value;
}

/** What a json_object answer says: a fixed small object. */
export const jsonObjectAnswer = '{"answer":"sim"}';

/**
 * The JSON text a structured-output request is answered with, else undefined: `format` is a chat
 * `response_format` ({type, json_schema: {schema}}) or a Responses `text.format` ({type, schema}).
 */
export function structuredAnswer(format: unknown): string | undefined {
  if (!isSchema(format)) return undefined;
  if (format.type === 'json_object') return jsonObjectAnswer;
  if (format.type !== 'json_schema') return undefined;
  const schema = isSchema(format.json_schema) ? format.json_schema.schema : format.schema;
  return schemaJson(schema);
}
