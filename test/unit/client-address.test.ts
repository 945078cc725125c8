import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clientAddressText } from '../../src/server/client-address.js';

const bytes = (...b: number[]) => new Uint8Array(b).buffer;
const v6 = (...groups: number[]) => bytes(...groups.flatMap((g) => [g >> 8, g & 0xff]));

describe('clientAddressText', () => {
  test('IPv4, plain and mapped into IPv6, is dotted', () => {
    assert.equal(clientAddressText(bytes(127, 0, 0, 1)), '127.0.0.1');
    assert.equal(clientAddressText(bytes(10, 200, 3, 255)), '10.200.3.255');
    assert.equal(clientAddressText(v6(0, 0, 0, 0, 0, 0xffff, 0x7f00, 0x0001)), '127.0.0.1');
    assert.equal(clientAddressText(v6(0, 0, 0, 0, 0, 0xffff, 0xc0a8, 0x0102)), '192.168.1.2');
    // Cached by value: a second address must not come back as the first.
    assert.equal(clientAddressText(bytes(127, 0, 0, 2)), '127.0.0.2');
  });

  test('IPv6 follows RFC 5952', () => {
    assert.equal(clientAddressText(v6(0, 0, 0, 0, 0, 0, 0, 1)), '::1');
    assert.equal(clientAddressText(v6(0, 0, 0, 0, 0, 0, 0, 0)), '::');
    assert.equal(clientAddressText(v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)), '2001:db8::1');
    assert.equal(clientAddressText(v6(0x2001, 0xdb8, 0, 1, 1, 1, 1, 1)), '2001:db8:0:1:1:1:1:1', 'a single zero group stays');
    assert.equal(clientAddressText(v6(0x2001, 0, 0, 1, 0, 0, 0, 1)), '2001:0:0:1::1', 'the longest run is shortened');
    assert.equal(clientAddressText(v6(0x2001, 0xdb8, 0, 0, 1, 0, 0, 1)), '2001:db8::1:0:0:1', 'the first of equal runs');
    assert.equal(clientAddressText(v6(0xfe80, 0, 0, 0, 0xabcd, 0xef, 0, 0)), 'fe80::abcd:ef:0:0');
    assert.equal(clientAddressText(v6(1, 0, 0, 0, 0, 0, 0, 0)), '1::');
  });

  test('random IPv6 addresses match the WHATWG URL serialisation', () => {
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let i = 0; i < 2000; i++) {
      // Many zero groups, so runs of every length and position occur.
      const groups = Array.from({ length: 8 }, () => (next() % 3 === 0 ? next() % 0x10000 : 0));
      if (groups.slice(0, 6).every((g, k) => (k < 5 ? g === 0 : g === 0xffff))) continue; // mapped IPv4 is dotted instead
      const expected = new URL(`http://[${groups.map((g) => g.toString(16)).join(':')}]/`).hostname.slice(1, -1);
      assert.equal(clientAddressText(v6(...groups)), expected, groups.join(','));
    }
  });

  test('anything but 4 or 16 bytes is empty', () => {
    assert.equal(clientAddressText(bytes()), '');
    assert.equal(clientAddressText(bytes(1, 2, 3)), '');
  });
});
