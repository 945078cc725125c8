// Secret redaction: configured provider secrets and provider-key shapes leave upstream text, nothing else does.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ProviderConfig } from '../../src/config/types.js';
import { providerSecrets, redactedMark, SecretRedactor } from '../../src/pipeline/secret-redaction.js';

const timeouts = { connect_ms: 1, first_byte_ms: 1, idle_ms: 1, total_ms: 1 };
const provider = (over: Partial<ProviderConfig>): ProviderConfig => ({
  name: 'p',
  type: 'openai',
  base_url: 'http://127.0.0.1:1/v1',
  timeouts,
  connections: 1,
  ...over,
});

describe('providerSecrets', () => {
  test('api keys and credential-named header values (with the token of "Bearer <token>"), not other headers', () => {
    const secrets = providerSecrets([
      provider({ api_key: 'upstream-key-1' }),
      provider({
        headers: {
          'x-api-key': 'anthropic-secret-2',
          authorization: 'Bearer tok-3-abcdef',
          'x-goog-api-key': 'goog-4-secret',
          'anthropic-version': '2023-06-01',
          'openai-beta': 'assistants=v2',
        },
      }),
    ]);
    assert.deepEqual(secrets.sort(), ['Bearer tok-3-abcdef', 'anthropic-secret-2', 'goog-4-secret', 'tok-3-abcdef', 'upstream-key-1']);
  });
});

describe('SecretRedactor', () => {
  const redactor = new SecretRedactor(['upstream-key-1', 'tok-3-abcdef', 'key"with\\quote', 'upstream-key-1-longer', 'abc']);

  test('configured secrets, wherever they appear, the longest first', () => {
    assert.equal(redactor.redact('Incorrect API key provided: upstream-key-1.'), `Incorrect API key provided: ${redactedMark}.`);
    assert.equal(redactor.redact('x upstream-key-1-longer y tok-3-abcdef'), `x ${redactedMark} y ${redactedMark}`);
  });

  test('a secret JSON escapes is found in JSON text too, and the text stays valid JSON', () => {
    const json = JSON.stringify({ error: { message: 'bad key: key"with\\quote' } });
    const redacted = redactor.redact(json);
    assert.ok(!redacted.includes('with'), redacted);
    assert.deepEqual(JSON.parse(redacted), { error: { message: `bad key: ${redactedMark}` } });
  });

  test('provider-key shapes that were never configured', () => {
    const cases: Array<[string, string]> = [
      ['Incorrect API key provided: sk-proj-AbC123dEf456GhI789jKl012mNo345pQr.', `Incorrect API key provided: ${redactedMark}.`],
      ['key sk-proj-abc1**************************************wxyz is wrong', `key ${redactedMark} is wrong`],
      ['x-api-key sk-ant-api03-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-BBBB', `x-api-key ${redactedMark}`],
      ['API key not valid: AIzaSyA1234567890abcdefghijklmnopqrstuv', `API key not valid: ${redactedMark}`],
      ['The security token AKIAIOSFODNN7EXAMPLE is invalid', `The security token ${redactedMark} is invalid`],
      ['Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123456789==', `Authorization: Bearer ${redactedMark}`],
      ['token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig-nature_part', `token ${redactedMark}`],
    ];
    for (const [text, expected] of cases) assert.equal(redactor.redact(text), expected, text);
  });

  test('ordinary text is returned as it is (the same string)', () => {
    for (const text of [
      'The model `gpt-4o` does not exist',
      'risk-based task-force of sk-learn users',
      'Rate limit reached for requests. Bearer of bad news.',
      'too short: abc is a configured value under the minimum length',
      '',
    ]) {
      assert.ok(Object.is(redactor.redact(text), text), text);
    }
  });

  test('a redactor without configured secrets still removes key shapes', () => {
    assert.equal(new SecretRedactor().redact('sk-AbC123dEf456GhI789jKl012'), redactedMark);
  });
});
