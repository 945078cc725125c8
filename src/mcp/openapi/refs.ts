// Local $ref resolution for OpenAPI documents, bounded: a recursive schema is cut where it recurs, a
// schema that would expand past a node budget is cut where it grows, and a remote $ref is refused.
// Also turns OpenAPI 3.0 schema dialect (nullable, boolean exclusiveMinimum, example) into JSON Schema.

type Json = Record<string, unknown>;

/** The operation cannot be offered as a tool; the message is its reason in the skipped report. */
export class UnsupportedOperation extends Error {}

export interface ExpandLimits {
  /** $refs expanded inside one another before the next one is cut. */
  maxDepth: number;
  /** Schema objects one expansion may produce before further $refs are cut. */
  maxNodes: number;
}

export const defaultExpandLimits: ExpandLimits = { maxDepth: 32, maxNodes: 1000 };

/** input: a request's schema (readOnly properties dropped). output: a response's (writeOnly dropped). */
export type SchemaMode = 'input' | 'output';

export function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** obj[key] = value, also for a key named `__proto__` (a property name a spec may use), which plain assignment would not create. */
export function setOwn(obj: Json, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** The value a local JSON pointer (`#/components/schemas/Pet`) names in the document. */
function lookUp(document: Json, ref: string): unknown {
  if (!ref.startsWith('#')) throw new UnsupportedOperation(`remote $ref refused: ${ref}`);
  if (ref === '#') return document;
  if (!ref.startsWith('#/')) throw new UnsupportedOperation(`unsupported $ref (anchors are not resolved): ${ref}`);
  let node: unknown = document;
  for (const raw of ref.slice(2).split('/')) {
    let key: string;
    try {
      key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    } catch {
      throw new UnsupportedOperation(`malformed $ref: ${ref}`);
    }
    node = Array.isArray(node) ? node[Number(key)] : isObject(node) ? node[key] : undefined;
    if (node === undefined) throw new UnsupportedOperation(`unresolvable $ref: ${ref}`);
  }
  return node;
}

/** The last part of a $ref, for a human: `#/components/schemas/Pet` → `Pet`. */
function refName(ref: string): string {
  return ref.slice(ref.lastIndexOf('/') + 1) || ref;
}

/**
 * Follows a non-schema object's $ref chain (a parameter, request body, response, path item), bounded.
 * Such objects do not recur into themselves in valid specs, so a loop is an error.
 */
export function follow(document: Json, value: unknown): unknown {
  let node = value;
  for (let hops = 0; isObject(node) && typeof node.$ref === 'string'; hops++) {
    if (hops >= 16) throw new UnsupportedOperation(`$ref chain too long or circular at ${node.$ref}`);
    node = lookUp(document, node.$ref);
  }
  return node;
}

// Keywords whose value is a schema, a list of schemas, or a map of name → schema. Everything else is
// data (enum, const, default, examples) and copied as it is, never searched for $refs.
const schemaKeys = new Set([
  'items', 'additionalItems', 'additionalProperties', 'not', 'if', 'then', 'else',
  'contains', 'propertyNames', 'unevaluatedItems', 'unevaluatedProperties', 'contentSchema',
]);
const schemaListKeys = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems']);
const schemaMapKeys = new Set(['properties', 'patternProperties', 'dependentSchemas']);
/** OpenAPI-only or unresolvable here; MCP clients and Ajv need none of them. */
const droppedKeys = new Set([
  'nullable', 'example', 'discriminator', 'xml', 'externalDocs',
  '$schema', '$id', '$anchor', '$dynamicAnchor', '$dynamicRef', '$defs', 'definitions', '$comment',
]);

/**
 * Expands schemas of one document with one budget: a fresh SchemaExpander per tool schema, so one
 * large operation cannot eat another's budget.
 */
export class SchemaExpander {
  private nodes = 0;
  /** $refs being expanded, outermost first: a $ref met again inside itself is a recursion. */
  private readonly stack: string[] = [];

  constructor(
    private readonly document: Json,
    private readonly mode: SchemaMode,
    private readonly limits: ExpandLimits = defaultExpandLimits,
  ) {}

  expand(schema: unknown): Json {
    if (schema === true || schema === undefined) return {};
    if (schema === false) return { not: {} };
    if (!isObject(schema)) throw new UnsupportedOperation(`schema is not an object: ${JSON.stringify(schema)}`);
    if (typeof schema.$ref === 'string') return this.expandRef(schema);
    return this.expandInline(schema);
  }

  private expandRef(schema: Json): Json {
    const ref = schema.$ref as string;
    const target = lookUp(this.document, ref);
    const siblings = Object.keys(schema).filter((key) => key !== '$ref');
    let expanded: Json;
    if (this.stack.includes(ref)) {
      expanded = this.cutHere(target, `Recursive ${refName(ref)} (not expanded again here).`);
    } else if (this.stack.length >= this.limits.maxDepth || this.nodes >= this.limits.maxNodes) {
      expanded = this.cutHere(target, `${refName(ref)} (not expanded: schema size limit).`);
    } else {
      this.stack.push(ref);
      try {
        expanded = this.expand(target);
      } finally {
        this.stack.pop();
      }
    }
    if (siblings.length === 0) return expanded;
    // OpenAPI 3.1 lets a $ref carry other keywords; summary/description replace the target's, the rest apply as well.
    const { $ref: _ref, summary: _summary, description, ...rest } = schema;
    const own = Object.keys(rest).length > 0 ? this.expandInline(rest) : undefined;
    const merged: Json = own ? { allOf: [expanded, own] } : { ...expanded };
    if (typeof description === 'string') merged.description = description;
    return merged;
  }

  /** What stands for a schema not expanded: its type, when it names one, and why. */
  private cutHere(target: unknown, why: string): Json {
    const type = isObject(target) && typeof target.type === 'string' ? target.type : undefined;
    return type ? { type, description: why } : { description: why };
  }

  private expandInline(schema: Json): Json {
    this.nodes++;
    const out: Json = {};
    for (const [key, value] of Object.entries(schema)) {
      if (droppedKeys.has(key) || key.startsWith('x-') || key === '__proto__') continue;
      if (schemaKeys.has(key) && (isObject(value) || typeof value === 'boolean')) out[key] = this.expand(value);
      else if (schemaListKeys.has(key) && Array.isArray(value)) out[key] = value.map((item) => this.expand(item));
      else if (key === 'items' && Array.isArray(value)) out.prefixItems = value.map((item) => this.expand(item));
      else if (schemaMapKeys.has(key) && isObject(value)) out[key] = this.expandMap(value, key === 'properties');
      else out[key] = value;
    }
    if (Array.isArray(out.required) && isObject(schema.properties) && isObject(out.properties)) {
      const declared = schema.properties;
      const kept = out.properties;
      out.required = out.required.filter((name) => typeof name !== 'string' || !Object.hasOwn(declared, name) || Object.hasOwn(kept, name));
    }
    if (schema.exclusiveMinimum === true && typeof schema.minimum === 'number') {
      out.exclusiveMinimum = schema.minimum;
      delete out.minimum;
    } else if (typeof schema.exclusiveMinimum === 'boolean') delete out.exclusiveMinimum;
    if (schema.exclusiveMaximum === true && typeof schema.maximum === 'number') {
      out.exclusiveMaximum = schema.maximum;
      delete out.maximum;
    } else if (typeof schema.exclusiveMaximum === 'boolean') delete out.exclusiveMaximum;
    if (schema.example !== undefined && out.examples === undefined) out.examples = [schema.example];
    if (schema.nullable === true) makeNullable(out);
    return out;
  }

  /** properties and friends; in `properties`, readOnly (input) or writeOnly (output) ones are dropped. */
  private expandMap(map: Json, isProperties: boolean): Json {
    const out: Json = {};
    for (const [name, value] of Object.entries(map)) {
      const expanded = this.expand(value);
      if (isProperties && expanded[this.mode === 'input' ? 'readOnly' : 'writeOnly'] === true) continue;
      setOwn(out, name, expanded);
    }
    return out;
  }
}

/** OpenAPI 3.0 `nullable: true` in JSON Schema terms: null joins the type (and the enum, when there is one). */
function makeNullable(schema: Json): void {
  if (typeof schema.type === 'string') schema.type = [schema.type, 'null'];
  else if (Array.isArray(schema.type) && !schema.type.includes('null')) schema.type = [...schema.type, 'null'];
  if (Array.isArray(schema.enum) && !schema.enum.includes(null)) schema.enum = [...schema.enum, null];
}

/**
 * How many JSON values the whole document would hold with every $ref replaced by its target, recursion
 * counted once. Linear in the document's size; the full parser expands every $ref, so a document whose
 * $refs fan out (a "billion laughs" of schemas) is refused on this number before the parser sees it.
 */
export function expandedSize(document: Json, stopAt: number): number {
  const sizes = new Map<string, number>();
  const inProgress = new Set<string>();
  const measure = (node: unknown): number => {
    if (Array.isArray(node)) return node.reduce((sum: number, item) => Math.min(stopAt, sum + measure(item)), 1);
    if (!isObject(node)) return 1;
    if (typeof node.$ref === 'string' && node.$ref.startsWith('#')) {
      const ref = node.$ref;
      const known = sizes.get(ref);
      if (known !== undefined) return known;
      if (inProgress.has(ref)) return 1;
      let target: unknown;
      try {
        target = lookUp(document, ref);
      } catch {
        return 1;
      }
      inProgress.add(ref);
      const size = measure(target);
      inProgress.delete(ref);
      sizes.set(ref, size);
      return size;
    }
    let sum = 1;
    for (const value of Object.values(node)) {
      sum = Math.min(stopAt, sum + measure(value));
      if (sum >= stopAt) break;
    }
    return sum;
  };
  return measure(document);
}
