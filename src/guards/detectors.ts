// Built-in PII detectors: an RE2 pattern that finds candidates and, where a checksum or structure
// exists, a validator that rejects near misses (a mistyped card number is not a card number).
import { isIPv6 } from 'node:net';
import type { PiiDetectorName } from './config.js';

export interface DetectorSpec {
  /** Label used in masks and placeholders: [EMAIL], <EMAIL_1>. */
  label: string;
  /** RE2 syntax (no lookaround, no backreferences). */
  pattern: string;
  /**
   * Rejects a candidate. `before`/`after` are up to two characters around the match (bytes as
   * latin1: compare them with ASCII only).
   */
  validate?: (match: string, before: string, after: string) => boolean;
}

function digitsOf(text: string): string {
  return text.replace(/\D/g, '');
}

/** Luhn checksum (ISO/IEC 7812). */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** ISO 13616 IBAN check: move the first four characters to the end, letters to numbers, mod 97 = 1. */
export function ibanValid(candidate: string): boolean {
  const iban = candidate.replace(/ /g, '').toUpperCase();
  if (iban.length < 15 || iban.length > 34 || !/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(iban)) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (const ch of rearranged) {
    const code = ch.charCodeAt(0);
    const value = code >= 65 ? String(code - 55) : ch;
    for (const digit of value) remainder = (remainder * 10 + (digit.charCodeAt(0) - 48)) % 97;
  }
  return remainder === 1;
}

function cardValid(match: string): boolean {
  const digits = digitsOf(match);
  return digits.length >= 13 && digits.length <= 19 && luhnValid(digits);
}

/** SSA rules: area 000, 666 and 9xx, group 00 and serial 0000 are never issued. */
function ssnValid(match: string): boolean {
  const [area, group, serial] = match.split('-') as [string, string, string];
  return area !== '000' && area !== '666' && area[0] !== '9' && group !== '00' && serial !== '0000';
}

/** E.164 allows at most 15 digits; fewer than 8 is more likely a number of something else. */
function phoneValid(match: string): boolean {
  const digits = digitsOf(match).length;
  return digits >= 8 && digits <= 15;
}

const digitOrDot = /[0-9.]/;
const hexOrColon = /[0-9A-Fa-f:]/;

/** A dotted quad inside a longer dotted number (a version like 1.2.3.4.5) is not an address. */
function ipv4Valid(_match: string, before: string, after: string): boolean {
  if (digitOrDot.test(before.slice(-1))) return false;
  return !/^(?:[0-9]|\.[0-9])/.test(after);
}

function ipv6Valid(match: string, before: string, after: string): boolean {
  if (hexOrColon.test(before.slice(-1)) || hexOrColon.test(after.slice(0, 1))) return false;
  return isIPv6(match);
}

const octet = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';

export const builtInDetectors: Record<PiiDetectorName, DetectorSpec> = {
  // Order in this table is the priority when two detectors claim overlapping text.
  secret: {
    label: 'SECRET',
    pattern: [
      '-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----(?s:.)*?-----END (?:[A-Z]+ )*PRIVATE KEY-----',
      'sk-(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}',
      '\\b(?:AKIA|ASIA)[0-9A-Z]{16}\\b',
      '\\bgh[pousr]_[A-Za-z0-9]{36,255}\\b',
      '\\bgithub_pat_[A-Za-z0-9_]{22,255}\\b',
      '\\beyJ[A-Za-z0-9_-]{5,}\\.eyJ[A-Za-z0-9_-]{5,}\\.[A-Za-z0-9_-]{10,}',
    ].join('|'),
  },
  email: {
    label: 'EMAIL',
    // Internationalised addresses (RFC 6531) included: letters of any script.
    pattern: '[\\p{L}\\p{N}._%+-]+@[\\p{L}\\p{N}-]+(?:\\.[\\p{L}\\p{N}-]+)*\\.\\p{L}{2,}',
  },
  iban: {
    label: 'IBAN',
    pattern: '\\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\\b',
    validate: ibanValid,
  },
  credit_card: {
    label: 'CREDIT_CARD',
    pattern: '\\b[0-9](?:[ -]?[0-9]){12,18}\\b',
    validate: cardValid,
  },
  us_ssn: {
    label: 'SSN',
    pattern: '\\b[0-9]{3}-[0-9]{2}-[0-9]{4}\\b',
    validate: ssnValid,
  },
  phone: {
    label: 'PHONE',
    pattern: [
      '\\+[1-9][0-9]{0,2}[ .-]?(?:\\([0-9]{1,4}\\)[ .-]?)?[0-9]{1,4}(?:[ .-]?[0-9]{2,4}){1,4}\\b',
      '\\(?\\b[0-9]{3}\\)?[ .-][0-9]{3}[ .-][0-9]{4}\\b',
    ].join('|'),
    validate: phoneValid,
  },
  ipv6: {
    label: 'IP_ADDRESS',
    pattern: '(?:[0-9A-Fa-f]{1,4}:|:)(?:[0-9A-Fa-f]{0,4}:){1,6}(?:[0-9A-Fa-f]{1,4}|:)',
    validate: ipv6Valid,
  },
  ipv4: {
    label: 'IP_ADDRESS',
    pattern: `\\b${octet}(?:\\.${octet}){3}\\b`,
    validate: ipv4Valid,
  },
};
