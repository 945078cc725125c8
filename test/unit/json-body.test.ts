// Top-level JSON editing without re-serialising: only the edited values change, byte for byte.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { editTopLevel, scanTopLevel } from '../../src/shared/json-body.js';

const edit = (text: string, edits: Record<string, unknown>): string =>
  editTopLevel(Buffer.from(text), new Map(Object.entries(edits).map(([k, v]) => [k, JSON.stringify(v)]))).toString('utf8');

/** Checks the edit against the semantic expectation: JSON.parse(result) = {...parsed, ...edits}. */
function assertEdit(text: string, edits: Record<string, unknown>): string {
  const out = edit(text, edits);
  let parsed: unknown;
  assert.doesNotThrow(() => (parsed = JSON.parse(out)), `not JSON: ${out}`);
  assert.deepEqual(parsed, { ...(JSON.parse(text) as object), ...edits }, `for ${text}`);
  return out;
}

describe('editTopLevel', () => {
  test('replaces the top-level model; a nested "model" key inside messages is untouched', () => {
    const text = '{"messages":[{"role":"user","content":"x","model":"inner"}],"model":"fast","extra":{"model":"deep"}}';
    const out = assertEdit(text, { model: 'sim-fast' });
    assert.equal(out, '{"messages":[{"role":"user","content":"x","model":"inner"}],"model":"sim-fast","extra":{"model":"deep"}}');
  });

  test('strings with escaped quotes, backslashes, braces and "model": inside them', () => {
    const text = String.raw`{"messages":[{"content":"he said \"model\": \"b\" and \\ {[}] ,"}],"model":"a","t":"\\"}`;
    const out = assertEdit(text, { model: 'z' });
    assert.equal(out, String.raw`{"messages":[{"content":"he said \"model\": \"b\" and \\ {[}] ,"}],"model":"z","t":"\\"}`);
  });

  test('adds a key that is absent, replaces one that is present', () => {
    const added = assertEdit('{"model":"a","stream":true}', { stream_options: { include_usage: true } });
    assert.ok(added.endsWith('"model":"a","stream":true}'), 'the original bytes are kept');
    const replaced = assertEdit('{"model":"a","stream_options":{"include_usage":false,"x":1},"stream":true}', {
      stream_options: { include_usage: true, x: 1 },
    });
    assert.equal(replaced, '{"model":"a","stream_options":{"include_usage":true,"x":1},"stream":true}');
  });

  test('add and replace in one edit', () => {
    assertEdit('{"model":"a","messages":[]}', { model: 'b', stream_options: { include_usage: true } });
  });

  test('empty object, with and without whitespace', () => {
    assert.equal(assertEdit('{}', { model: 'm' }), '{"model":"m"}');
    assertEdit(' { } ', { model: 'm' });
    assertEdit('{\n}', { a: 1, b: [2] });
  });

  test('whitespace around keys, colons and commas is kept and handled', () => {
    const text = '  {\n  "model" :\t"a" ,\r\n "n": 1 ,"s" : "x"  }\n';
    const out = assertEdit(text, { model: 'b' });
    assert.equal(out, '  {\n  "model" :\t"b" ,\r\n "n": 1 ,"s" : "x"  }\n');
  });

  test('numbers, booleans and null as neighbouring values', () => {
    assertEdit('{"n":-1.5e3,"b":true,"z":null,"model":"a","f":false,"i":0}', { model: 'b' });
    assertEdit('{"model":"a","n":12}', { n: 13 });
    assertEdit('{"model":"a","z":null}', { z: { y: 1 } });
  });

  test('multi-byte UTF-8 before and after the edited value', () => {
    const out = assertEdit('{"x":"héllo ✓ 🚂","model":"a","y":"ünïcode"}', { model: 'b' });
    assert.equal(out, '{"x":"héllo ✓ 🚂","model":"b","y":"ünïcode"}');
  });

  test('a repeated key: the last occurrence is the one JSON.parse keeps, so it is the one replaced', () => {
    const out = edit('{"model":"first","model":"second"}', { model: 'new' });
    assert.equal(JSON.parse(out).model, 'new');
  });

  test('an escaped key name is matched by its value', () => {
    const out = edit('{"mo\\u0064el":"a","n":1}', { model: 'b' });
    assert.deepEqual(JSON.parse(out), { model: 'b', n: 1 });
  });

  test('no edits: the very same buffer comes back', () => {
    const body = Buffer.from('{"model":"a"}');
    assert.equal(editTopLevel(body, new Map()), body);
  });

  test('a realistic chat body keeps every other byte', () => {
    const body = {
      model: 'fast',
      messages: [
        { role: 'system', content: 'You are {helpful}, "quoted"\n' },
        { role: 'user', content: [{ type: 'text', text: 'model: x' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] },
      ],
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { model: { type: 'string' } } } } }],
      stream: true,
      unknown_vendor_field: { deep: [[[]]], model: 'keep' },
    };
    const text = JSON.stringify(body, null, 2);
    const out = assertEdit(text, { model: 'sim-fast', stream_options: { include_usage: true } });
    assert.equal(out.replace('"sim-fast"', '"fast"').replace('"stream_options":{"include_usage":true},', ''), text);
  });
});

describe('scanTopLevel', () => {
  test('value ranges of each top-level key', () => {
    const text = '{ "a": 1, "b": {"c": [1, "}"]}, "d": "x\\"y" }';
    const buf = Buffer.from(text);
    const layout = scanTopLevel(buf);
    assert.equal(layout.open, 0);
    const values = Object.fromEntries([...layout.values].map(([k, [s, e]]) => [k, buf.toString('utf8', s, e)]));
    assert.deepEqual(values, { a: '1', b: '{"c": [1, "}"]}', d: '"x\\"y"' });
  });

  test('leading whitespace and an empty object', () => {
    assert.deepEqual(scanTopLevel(Buffer.from('   {}')), { open: 3, values: new Map() });
  });
});
