// Secrets in the runtime store: which values are secrets, masking, keeping a masked value, the
// reference to the file's secret, and AES-256-GCM at rest with the key from SWITCHYARD_SECRETS_KEY.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  isSecretPath,
  keepMaskedSecrets,
  keyFromText,
  maskSecrets,
  openSecrets,
  referFileSecrets,
  sealSecrets,
  SecretBox,
  SecretsKeyError,
} from '../../src/config/store/secrets.js';

describe('secret values', () => {
  test('provider credentials, header and env values, tokens and passwords are secrets', () => {
    for (const path of [['api_key'], ['aws_secret_access_key'], ['aws_session_token'], ['headers', 'X-Org'], ['providers', 0, 'api_key'], ['admin', 'tokens', 0, 'token'], ['mcp', 'servers', 0, 'env', 'TOKEN'], ['keys', 0, 'key'], ['mcp', 'openapi', 0, 'auth', 'value']]) {
      assert.ok(isSecretPath(path), path.join('.'));
    }
    for (const path of [['name'], ['base_url'], ['aws_access_key_id'], ['forward_headers', 0], ['limits', 'redis', 'key_prefix'], ['keys', 0, 'name']]) {
      assert.ok(!isSecretPath(path), path.join('.'));
    }
  });

  test('masking hides set secrets and URL passwords, keeps the rest', () => {
    const masked = maskSecrets({ name: 'p', api_key: 'sk-1', headers: { a: 'x', b: '' }, url: 'postgres://u:pw@h/db', base_url: 'https://h/v1' });
    assert.deepEqual(masked, { name: 'p', api_key: '********', headers: { a: '********', b: '' }, url: 'postgres://u:********@h/db', base_url: 'https://h/v1' });
  });

  test("a mask sent back keeps the value in force; one with nothing to keep is a problem", () => {
    const problems: string[] = [];
    const kept = keepMaskedSecrets({ api_key: '********', headers: { a: '********', b: 'new' } }, { api_key: 'sk-old', headers: { a: 'ha' } }, [], problems, 'providers.p');
    assert.deepEqual(kept, { api_key: 'sk-old', headers: { a: 'ha', b: 'new' } });
    assert.deepEqual(problems, []);
    keepMaskedSecrets({ api_key: '********' }, {}, [], problems, 'providers.p');
    assert.match(problems[0], /^providers\.p\.api_key: /);
  });

  test("a secret equal to the file's is stored as a reference to it", () => {
    assert.deepEqual(referFileSecrets({ api_key: 'from-file', headers: { a: 'mine' } }, { api_key: 'from-file', headers: { a: 'file-a' } }, []), {
      api_key: '********',
      headers: { a: 'mine' },
    });
  });
});

describe('SecretBox', () => {
  test('a 32-byte key as hex or base64 is used as it is; anything else is a passphrase', () => {
    const bytes = randomBytes(32);
    assert.deepEqual(keyFromText(bytes.toString('hex')), bytes);
    assert.deepEqual(keyFromText(bytes.toString('base64')), bytes);
    assert.deepEqual(keyFromText(bytes.toString('base64url')), bytes);
    const phrase = keyFromText('correct horse battery staple');
    assert.equal(phrase.length, 32);
    assert.deepEqual(keyFromText('correct horse battery staple'), phrase);
  });

  test('seals with a random IV, opens again; another key refuses clearly', () => {
    const box = new SecretBox(randomBytes(32).toString('hex'), undefined);
    const value = { api_key: 'sk-secret', headers: { a: 'h' }, name: 'p' };
    const sealed = sealSecrets(value, box, []) as Record<string, unknown>;
    assert.equal(sealed.name, 'p');
    assert.notEqual(JSON.stringify(sealed).includes('sk-secret'), true);
    assert.notDeepEqual(sealSecrets(value, box, []), sealed, 'the same secret sealed twice looks the same');
    assert.deepEqual(openSecrets(sealed, box), value);
    const other = new SecretBox(randomBytes(32).toString('hex'), undefined);
    assert.throws(() => openSecrets(sealed, other), (err: unknown) => err instanceof SecretsKeyError && /does not decrypt with this key/.test(err.message));
  });

  test('without SWITCHYARD_SECRETS_KEY: the file store generates <data_dir>/secrets.key (0600), the PostgreSQL store refuses', () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-secrets-'));
    try {
      const keyFile = join(dir, 'secrets.key');
      const box = new SecretBox(undefined, keyFile);
      const sealed = box.seal('sk-x');
      assert.equal(statSync(keyFile).mode & 0o777, 0o600);
      assert.equal(keyFromText(readFileSync(keyFile, 'utf8')).length, 32);
      // A later process reads the same key.
      assert.equal(new SecretBox(undefined, keyFile).open(sealed), 'sk-x');
      const shared = new SecretBox(undefined, undefined);
      assert.equal(shared.available, false);
      assert.throws(() => shared.seal('x'), /SWITCHYARD_SECRETS_KEY is not set/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
