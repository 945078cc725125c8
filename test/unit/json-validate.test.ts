import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isJson, isJsonObject, maxJsonDepth } from '../../src/shared/json-validate.js';

const parses = (text: string): boolean => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

const samples = [
  '{}', '[]', '0', '-0', '1.5e+10', '"a"', 'true', 'false', 'null', ' {"a" : [1, 2, {"b": null}] } ',
  '{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Hi \\"there\\" \\u00e9\\n"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":3}}',
  '{"a":"日本語 ✓"}', '[1,-2.25E-3,0.5,"\\/\\b\\f\\r\\t"]',
  // Invalid:
  '', ' ', '{', '}', '[1,]', '{"a":1,}', '{"a" 1}', '{a:1}', "{'a':1}", '01', '1.', '.5', '-', '1e', '+1', 'tru', 'nul',
  '"abc', '"a\\x"', '"\\u12G4"', '"tab\there"', '{"a":1}}', '[1] [2]', 'NaN', 'Infinity', '\ufeff{}', '{"a":1}\u00a0', '[1 2]',
];

describe('isJson', () => {
  test('agrees with JSON.parse on hand-picked texts', () => {
    for (const text of samples) assert.equal(isJson(Buffer.from(text)), parses(text), JSON.stringify(text));
  });

  test('agrees with JSON.parse on 20,000 random mutations of valid texts', () => {
    const alphabet = '{}[]",:0123456789-+.eE \\ntrufalsn\\u00ab\t';
    let seed = 42;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const valid = samples.filter(parses);
    let invalidSeen = 0;
    for (let k = 0; k < 20_000; k++) {
      const chars = [...valid[random(valid.length)]];
      for (let m = 1 + random(3); m > 0; m--) {
        const at = random(chars.length + 1);
        const op = random(3);
        if (op === 0) chars.splice(at, 1);
        else if (op === 1) chars.splice(at, 0, alphabet[random(alphabet.length)]);
        else chars[at] = alphabet[random(alphabet.length)];
      }
      const text = chars.join('');
      const expected = parses(text);
      if (!expected) invalidSeen++;
      assert.equal(isJson(Buffer.from(text)), expected, JSON.stringify(text));
    }
    assert.ok(invalidSeen > 5000, `only ${invalidSeen} invalid texts generated`);
  });

  test('a range of a buffer: judged on its bytes only, whatever surrounds them', () => {
    for (const text of samples) {
      // Surrounding bytes that would complete or spoil the text if the check strayed outside the range.
      const framed = Buffer.from(`"\\u0${text}"}]`);
      assert.equal(isJson(framed, 4, 4 + Buffer.byteLength(text)), parses(text), JSON.stringify(text));
    }
    // `"a\` then a quote just past the range: inside the range the escape has no second byte.
    const cut = Buffer.from('"a\\""');
    assert.equal(isJson(cut, 0, 3), false, 'an escape cut by the range end');
    assert.equal(isJson(cut, 0, 5), true);
  });

  test('isJsonObject: one valid JSON object, leading whitespace allowed', () => {
    for (const [text, expected] of [[' \n{"a":[1]}', true], ['{}', true], ['[{}]', false], ['"{}"', false], ['{"a":', false], ['', false], ['null', false]] as const) {
      assert.equal(isJsonObject(Buffer.from(text)), expected, JSON.stringify(text));
    }
  });

  test(`nesting up to ${maxJsonDepth} levels is accepted, deeper is refused`, () => {
    assert.equal(isJson(Buffer.from('['.repeat(maxJsonDepth) + ']'.repeat(maxJsonDepth))), true);
    assert.equal(isJson(Buffer.from('['.repeat(maxJsonDepth + 1) + ']'.repeat(maxJsonDepth + 1))), false);
    assert.equal(isJson(Buffer.from('['.repeat(10) + ']'.repeat(9))), false);
  });
});
