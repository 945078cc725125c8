// Virtual keys: the stored record, minting and hashing, and validation of admin API bodies.
import { hash, randomBytes } from 'node:crypto';
import { Ajv } from 'ajv';
import { budgetSchema, limitValuesSchema, type BudgetValues, type KeyDeclaration, type LimitValues } from './config.js';

/** What is persisted per key. The plaintext is never stored: only its SHA-256. */
export interface KeyRecord {
  id: string;
  name: string;
  /** Hex SHA-256 of the plaintext key. */
  hash: string;
  /** First characters of the key ("sk-sy-AbCd"), to recognise it in listings. */
  hint: string;
  /** Allowed models; null = all. */
  models: string[] | null;
  limits: LimitValues;
  model_limits: Record<string, LimitValues>;
  budget: BudgetValues;
  source: 'admin' | 'config';
  created_at: string;
  revoked_at: string | null;
}

/** What a server thread needs to authenticate a request; limits themselves live in the shared table. */
export interface KeyEntry {
  id: string;
  name: string;
  hash: string;
  models: string[] | null;
  row: number;
  /** Rows of key×model limits, by model. */
  modelRows: Record<string, number>;
}

export const KEY_PREFIX = 'sk-sy-';

/** One-shot crypto.hash: on the hot path of every request, about half the cost of createHash().update().digest(). */
export function hashKey(plaintext: string): string {
  return hash('sha256', plaintext, 'hex');
}

export function mintKey(): string {
  return KEY_PREFIX + randomBytes(24).toString('base64url');
}

export function newKeyId(): string {
  return 'key_' + randomBytes(8).toString('hex');
}

function hintOf(plaintext: string): string {
  return plaintext.slice(0, KEY_PREFIX.length + 4) + '…';
}

export function recordFromPlaintext(
  plaintext: string,
  fields: Pick<KeyRecord, 'name' | 'models' | 'limits' | 'model_limits' | 'budget'>,
  id: string = newKeyId(),
  source: KeyRecord['source'] = 'admin',
): KeyRecord {
  return {
    id,
    ...fields,
    hash: hashKey(plaintext),
    hint: hintOf(plaintext),
    source,
    created_at: new Date().toISOString(),
    revoked_at: null,
  };
}

/** Keys declared in YAML get a stable id from their name, so their usage survives restarts and reloads. */
export function configKeyId(name: string): string {
  return 'cfg_' + name.replace(/[^A-Za-z0-9_.-]/g, '_');
}

export function recordFromDeclaration(d: KeyDeclaration): KeyRecord {
  const fields = {
    name: d.name,
    models: d.models ?? null,
    limits: d.limits ?? {},
    model_limits: d.model_limits ?? {},
    budget: d.budget ?? {},
  };
  const id = configKeyId(d.name);
  if (d.key !== undefined) return recordFromPlaintext(d.key, fields, id, 'config');
  return {
    id,
    ...fields,
    hash: d.key_sha256!,
    hint: '(sha256)',
    source: 'config',
    created_at: new Date(0).toISOString(),
    revoked_at: null,
  };
}

/** The admin API's view of a key: everything but the hash. */
export function publicKeyView(r: KeyRecord): Record<string, unknown> {
  const { hash: _hash, ...rest } = r;
  return { ...rest, revoked: r.revoked_at !== null };
}

const editable = {
  name: { type: 'string', minLength: 1, maxLength: 200 },
  models: { anyOf: [{ type: 'array', items: { type: 'string', minLength: 1 } }, { type: 'null' }] },
  limits: limitValuesSchema,
  model_limits: { type: 'object', additionalProperties: limitValuesSchema },
  budget: budgetSchema,
};

const ajv = new Ajv({ allErrors: true, strict: false });
const validateCreate = ajv.compile({ type: 'object', additionalProperties: false, required: ['name'], properties: editable });
const validatePatch = ajv.compile({ type: 'object', additionalProperties: false, minProperties: 1, properties: editable });

export type KeyFields = Pick<KeyRecord, 'name' | 'models' | 'limits' | 'model_limits' | 'budget'>;

function problems(errors: typeof validateCreate.errors): string {
  return (errors ?? []).map((e) => `${e.instancePath || '(body)'} ${e.message ?? e.keyword}`).join('; ');
}

/** Validates a POST /admin/keys body; returns the fields or a message. */
export function parseCreateBody(body: unknown): KeyFields | string {
  if (!validateCreate(body)) return problems(validateCreate.errors);
  const b = body as Partial<KeyFields> & { name: string };
  return { name: b.name, models: b.models ?? null, limits: b.limits ?? {}, model_limits: b.model_limits ?? {}, budget: b.budget ?? {} };
}

/** Validates a PATCH body; returns the fields to replace or a message. */
export function parsePatchBody(body: unknown): Partial<KeyFields> | string {
  if (!validatePatch(body)) return problems(validatePatch.errors);
  return body as Partial<KeyFields>;
}
