// Which config values are secrets, how they are masked in answers and encrypted at rest (AES-256-GCM),
// and where the key comes from (SWITCHYARD_SECRETS_KEY, or <data_dir>/secrets.key for the file store).
import { createCipheriv, createDecipheriv, createHash, randomBytes, scryptSync } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { log } from '../../shared/log.js';
import { isObject } from './merge-patch.js';

/** What a set secret is shown as; sent back on a write, it keeps the value in force. */
export const secretMask = '********';

export type ConfigPath = ReadonlyArray<string | number>;

const secretKeys = new Set(['api_key', 'aws_secret_access_key', 'aws_session_token', 'token', 'password', 'client_secret']);
const secretMaps = new Set(['headers', 'env']);
const urlKey = /(^url$|_url$|_endpoint$)/;
const urlWithPassword = /^([a-z][a-z0-9+.-]*:\/\/[^/@:]*:)([^/@]+)(@)/i;

/** A secret leaf: provider keys and credentials, every header and env value, tokens, passwords, declared key secrets. */
export function isSecretPath(path: ConfigPath): boolean {
  const last = path[path.length - 1];
  const parent = path[path.length - 2];
  if (typeof last === 'string' && secretKeys.has(last)) return true;
  if (typeof parent === 'string' && secretMaps.has(parent)) return true;
  if (path[0] === 'keys' && path.length === 3 && last === 'key') return true;
  return last === 'value' && parent === 'auth';
}

/** A URL setting that carries a password (`postgres://user:pw@host`): the password is the secret part. */
function isUrlWithPassword(path: ConfigPath, value: string): boolean {
  const last = path[path.length - 1];
  return typeof last === 'string' && urlKey.test(last) && urlWithPassword.test(value);
}

/** The password of a URL masked, the rest kept. */
function maskUrl(value: string): string {
  return value.replace(urlWithPassword, `$1${secretMask}$3`);
}

/** `value` (found at `path`) with every secret replaced by the mask; unset and empty secrets stay as they are. */
export function maskSecrets(value: unknown, path: ConfigPath = []): unknown {
  if (typeof value === 'string') {
    if (value !== '' && isSecretPath(path)) return secretMask;
    return isUrlWithPassword(path, value) ? maskUrl(value) : value;
  }
  if (Array.isArray(value)) return value.map((item, i) => maskSecrets(item, [...path, i]));
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskSecrets(v, [...path, k])]));
  return value;
}

/** The value at `path` inside `root`, or undefined. */
export function valueAt(root: unknown, path: ConfigPath): unknown {
  let node = root;
  for (const step of path) {
    if (Array.isArray(node) && typeof step === 'number') node = node[step];
    else if (isObject(node) && typeof step === 'string') node = node[step];
    else return undefined;
  }
  return node;
}

/**
 * Replaces each mask in `value` (sent by a client) with the value in force at the same path of
 * `inForce`. A mask with nothing to keep is a problem. `path` is where `value` sits in the config.
 */
export function keepMaskedSecrets(value: unknown, inForce: unknown, path: ConfigPath, problems: string[], label = ''): unknown {
  const here = [label, ...path].filter((part) => part !== '').join('.');
  if (typeof value === 'string') {
    if (value === secretMask && isSecretPath(path)) {
      const kept = valueAt(inForce, path);
      if (typeof kept === 'string') return kept;
      problems.push(`${here}: '${secretMask}' keeps the secret in force, but none is set here`);
      return value;
    }
    if (value.includes(secretMask) && isUrlWithPassword(path, value)) {
      const kept = valueAt(inForce, path);
      if (typeof kept === 'string' && maskUrl(kept) === value) return kept;
      problems.push(`${here}: the masked password keeps the one in force only when the rest of the URL is unchanged`);
      return value;
    }
    return value;
  }
  if (Array.isArray(value)) return value.map((item, i) => keepMaskedSecrets(item, inForce, [...path, i], problems, label));
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, keepMaskedSecrets(v, inForce, [...path, k], problems, label)]));
  return value;
}

/**
 * The form a value is kept in the store: a secret equal to the file's value at the same path becomes
 * the mask (it then follows the file, and the store never holds a secret it was not given).
 */
export function referFileSecrets(value: unknown, file: unknown, path: ConfigPath): unknown {
  if (typeof value === 'string') {
    const isSecret = isSecretPath(path) || isUrlWithPassword(path, value);
    return isSecret && value !== '' && valueAt(file, path) === value ? secretMask : value;
  }
  if (Array.isArray(value)) return value.map((item, i) => referFileSecrets(item, file, [...path, i]));
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, referFileSecrets(v, file, [...path, k])]));
  return value;
}

/** The store's masks resolved against the file: a mask whose value the file no longer has is dropped. */
export function resolveFileSecrets(value: unknown, file: unknown, path: ConfigPath): unknown {
  if (Array.isArray(value)) return value.map((item, i) => resolveFileSecrets(item, file, [...path, i])).filter((item) => item !== undefined);
  if (isObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const resolved = resolveFileSecrets(v, file, [...path, k]);
      if (resolved !== undefined) out[k] = resolved;
    }
    return out;
  }
  if (value !== secretMask) return value;
  const fromFile = valueAt(file, path);
  return typeof fromFile === 'string' ? fromFile : undefined;
}

// --- Encryption at rest -------------------------------------------------------------------------

/** How an encrypted secret is kept in the store's JSON. */
export interface SealedSecret {
  $secret: string;
}

export function isSealed(value: unknown): value is SealedSecret {
  return isObject(value) && typeof value.$secret === 'string' && Object.keys(value).length === 1;
}

// A fixed salt: a passphrase must be the same on every node, and a random 32-byte key needs none.
const passphraseSalt = 'switchyard-config-store-secrets-v1';

/** SWITCHYARD_SECRETS_KEY: 32 bytes as base64 or hex, else any passphrase stretched with scrypt. */
export function keyFromText(text: string): Buffer {
  const trimmed = text.trim();
  if (/^[0-9a-f]{64}$/i.test(trimmed)) return Buffer.from(trimmed, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed)) {
    const bytes = Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (bytes.length === 32) return bytes;
  }
  return scryptSync(trimmed, passphraseSalt, 32, { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
}

export class SecretsKeyError extends Error {
  override readonly name = 'SecretsKeyError';
}

/** Encrypts and decrypts the store's secrets; the key is found (or, for the file store, made) when first needed. */
export class SecretBox {
  private key: Buffer | undefined;

  /**
   * `keyText`: SWITCHYARD_SECRETS_KEY. `keyFile`: where the file store keeps a generated key when it
   * is unset; undefined (the PostgreSQL store) makes the environment key required.
   */
  constructor(
    private readonly keyText: string | undefined,
    private readonly keyFile: string | undefined,
  ) {}

  /** Whether secrets can be encrypted without generating anything (for a clear refusal before a write). */
  get available(): boolean {
    return (this.keyText !== undefined && this.keyText !== '') || this.keyFile !== undefined;
  }

  /** The first 8 hex digits of the key's SHA-256: names the key in sealed values and errors, reveals nothing. */
  keyId(): string {
    return createHash('sha256').update(this.resolveKey()).digest('hex').slice(0, 8);
  }

  seal(plain: string): SealedSecret {
    const key = this.resolveKey();
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    const parts = [iv, cipher.getAuthTag(), body].map((b) => b.toString('base64url'));
    return { $secret: `v1.${this.keyId()}.${parts.join('.')}` };
  }

  open(sealed: SealedSecret): string {
    const [version, keyId, iv, tag, body] = sealed.$secret.split('.');
    if (version !== 'v1' || body === undefined) throw new SecretsKeyError('a secret in the config store has an unknown format');
    const key = this.resolveKey();
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretsKeyError(
        `a secret in the config store does not decrypt with this key (key id ${this.keyId()}; it was sealed with key id ${keyId}): set SWITCHYARD_SECRETS_KEY to the key the store was written with`,
      );
    }
  }

  private resolveKey(): Buffer {
    if (this.key !== undefined) return this.key;
    if (this.keyText !== undefined && this.keyText !== '') return (this.key = keyFromText(this.keyText));
    if (this.keyFile === undefined) {
      throw new SecretsKeyError('SWITCHYARD_SECRETS_KEY is not set: the PostgreSQL config store needs it (the same on every node) to encrypt and decrypt secrets');
    }
    const file = this.keyFile;
    if (existsSync(file)) return (this.key = keyFromText(readFileSync(file, 'utf8')));
    const generated = randomBytes(32).toString('base64');
    writeFileSync(file, `${generated}\n`, { mode: 0o600, flag: 'wx' });
    log.warn('SWITCHYARD_SECRETS_KEY is not set: generated a key for the config store secrets; back it up with the data dir, or set the variable', { key_file: file });
    return (this.key = keyFromText(generated));
  }
}

/** `value` with every secret sealed (the masks, which refer to the file, stay as they are). */
export function sealSecrets(value: unknown, box: SecretBox, path: ConfigPath): unknown {
  if (typeof value === 'string') {
    const isSecret = (isSecretPath(path) && value !== '') || isUrlWithPassword(path, value);
    return isSecret && value !== secretMask ? box.seal(value) : value;
  }
  if (Array.isArray(value)) return value.map((item, i) => sealSecrets(item, box, [...path, i]));
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, sealSecrets(v, box, [...path, k])]));
  return value;
}

/** Whether `value` holds a secret that sealing would encrypt. */
export function holdsSecrets(value: unknown, path: ConfigPath): boolean {
  if (typeof value === 'string') return ((isSecretPath(path) && value !== '') || isUrlWithPassword(path, value)) && value !== secretMask;
  if (Array.isArray(value)) return value.some((item, i) => holdsSecrets(item, [...path, i]));
  if (isObject(value)) return Object.entries(value).some(([k, v]) => holdsSecrets(v, [...path, k]));
  return false;
}

/** `value` with every sealed secret decrypted. */
export function openSecrets(value: unknown, box: SecretBox): unknown {
  if (isSealed(value)) return box.open(value);
  if (Array.isArray(value)) return value.map((item) => openSecrets(item, box));
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, openSecrets(v, box)]));
  return value;
}

/** Whether the stored JSON holds a sealed secret. */
export function holdsSealed(value: unknown): boolean {
  if (isSealed(value)) return true;
  if (Array.isArray(value)) return value.some(holdsSealed);
  return isObject(value) && Object.values(value).some(holdsSealed);
}

export function secretKeyFile(dataDir: string): string {
  return join(dataDir, 'secrets.key');
}
