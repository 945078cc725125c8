import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ibanValid, luhnValid } from '../../src/guards/detectors.js';
import { PiiRedactor, PseudonymTable } from '../../src/guards/redactor.js';
import type { PiiDetectorName, PiiMode, PiiPolicyConfig } from '../../src/guards/config.js';

function policy(detectors: Partial<Record<PiiDetectorName, PiiMode>>, custom: PiiPolicyConfig['custom'] = []): PiiPolicyConfig {
  return { name: 'test', detectors, custom, roles: ['user'] };
}

function maskWith(detector: PiiDetectorName, prefilter = true): (text: string) => string {
  const redactor = new PiiRedactor(policy({ [detector]: 'mask' }), { prefilter });
  return (text) => redactor.redact(text, new PseudonymTable()).text;
}

// [detector, label, true positives, near-miss negatives]
const cases: Array<[PiiDetectorName, string, string[], string[]]> = [
  ['email', 'EMAIL', ['alice@example.com', 'first.last+tag@sub.example.co.uk', 'x_y%z@a-b.io'], ['alice@example', '@example.com', 'alice at example dot com', 'a@b.c']],
  [
    'credit_card',
    'CREDIT_CARD',
    ['4111 1111 1111 1111', '4111-1111-1111-1111', '5500005555555559', '378282246310005', '6011111111111117'],
    ['4111 1111 1111 1112', '5500005555555558', '1234 5678 9012 3456', '411111111111'],
  ],
  ['us_ssn', 'SSN', ['123-45-6789', '078-05-1121'], ['000-12-3456', '666-12-3456', '912-34-5678', '123-00-4567', '123-45-0000', '123456789']],
  [
    'iban',
    'IBAN',
    ['DE89 3704 0044 0532 0130 00', 'GB82WEST12345698765432', 'FR1420041010050500013M02606', 'NL91ABNA0417164300'],
    ['DE89 3704 0044 0532 0130 01', 'GB82WEST12345698765433', 'NL91ABNA0417164301'],
  ],
  ['phone', 'PHONE', ['+1 415 555 2671', '+44 20 7946 0958', '+49 (30) 123456', '(415) 555-2671', '415-555-2671'], ['+1 23', 'call 555-1234', '12-34']],
  ['ipv4', 'IP_ADDRESS', ['192.168.1.10', '8.8.8.8', '255.255.255.255'], ['256.1.1.1', '1.2.3', 'version 1.2.3.4.5.6']],
  ['ipv6', 'IP_ADDRESS', ['2001:db8::1', 'fe80::1ff:fe23:4567:890a', '2001:0db8:85a3:0000:0000:8a2e:0370:7334', '::1'], ['12:30:45', 'a:b', '1:2:3:4:5:6:7:8:9']],
  [
    'secret',
    'SECRET',
    [
      'sk-proj-abcdefghijklmnopqrstuvwxyz012345',
      'sk-ant-api03-abcdefghijklmnopqrstuvwxyz',
      'AKIAIOSFODNN7EXAMPLE',
      'ghp_abcdefghijklmnopqrstuvwxyz0123456789',
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
      '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----',
    ],
    ['sk-short', 'AKIA1234', 'ghp_tooShort', 'eyJhbGciOi'],
  ],
];

test('checksums: Luhn and ISO 13616 mod 97', () => {
  assert.equal(luhnValid('4111111111111111'), true);
  assert.equal(luhnValid('4111111111111112'), false);
  assert.equal(ibanValid('DE89370400440532013000'), true);
  assert.equal(ibanValid('DE89370400440532013001'), false);
  assert.equal(ibanValid('DE8937040044'), false);
});

for (const [detector, label, positives, negatives] of cases) {
  for (const prefilter of [true, false]) {
    test(`${detector} (prefilter ${prefilter}): true positives masked, near misses left alone`, () => {
      const mask = maskWith(detector, prefilter);
      for (const value of positives) {
        assert.equal(mask(`before ${value} after`), `before [${label}] after`, value);
      }
      for (const value of negatives) {
        assert.equal(mask(`before ${value} after`), `before ${value} after`, value);
      }
    });
  }
}

const allModes = policy({
  email: 'pseudonymize',
  phone: 'pseudonymize',
  credit_card: 'mask',
  us_ssn: 'mask',
  iban: 'pseudonymize',
  ipv4: 'mask',
  ipv6: 'mask',
  secret: 'mask',
});

test('pseudonyms are consistent per value across texts, and numbered per label', () => {
  const redactor = new PiiRedactor(allModes);
  const table = new PseudonymTable();
  const a = redactor.redact('Write to bob@example.com or ann@example.com.', table).text;
  const b = redactor.redact('Again: bob@example.com, phone +44 20 7946 0958.', table).text;
  assert.equal(a, 'Write to <EMAIL_1> or <EMAIL_2>.');
  assert.equal(b, 'Again: <EMAIL_1>, phone <PHONE_1>.');
  assert.deepEqual(new Map(table.entries()), new Map([
    ['<EMAIL_1>', 'bob@example.com'],
    ['<EMAIL_2>', 'ann@example.com'],
    ['<PHONE_1>', '+44 20 7946 0958'],
  ]));
});

test('unicode text around matches keeps its offsets (astral characters, combining marks)', () => {
  const redactor = new PiiRedactor(allModes);
  const text = '😀 Grüße an zoë@example.com 👨‍👩‍👧 und café 4111 1111 1111 1111 ✓ 日本';
  const table = new PseudonymTable();
  const out = redactor.redact(text, table).text;
  assert.equal(out, '😀 Grüße an <EMAIL_1> 👨‍👩‍👧 und café [CREDIT_CARD] ✓ 日本');
  assert.deepEqual(table.entries(), [['<EMAIL_1>', 'zoë@example.com']]);
});

test('block mode refuses and names the detector, not the value', () => {
  const redactor = new PiiRedactor(policy({ email: 'mask', secret: 'block' }));
  const outcome = redactor.redact('key sk-proj-abcdefghijklmnopqrstuvwxyz012345 for a@example.com', new PseudonymTable());
  assert.equal(outcome.blockedBy, 'SECRET');
});

test('custom RE2 patterns, and an overlap resolved by priority (secret before email)', () => {
  const redactor = new PiiRedactor(policy({ email: 'mask', secret: 'mask' }, [{ name: 'EMPLOYEE_ID', pattern: '\\bE[0-9]{6}\\b', mode: 'pseudonymize' }]));
  const out = redactor.redact('Employee E123456 and E123456, not E12345; token sk-abcdefghijklmnopqrstu@example.com', new PseudonymTable()).text;
  assert.equal(out, 'Employee <EMPLOYEE_ID_1> and <EMPLOYEE_ID_1>, not E12345; token [SECRET]@example.com');
});
