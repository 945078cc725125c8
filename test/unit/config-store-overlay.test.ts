// The runtime store's overlay over the file's data: objects by name, tombstones, prices, sections
// replaced or merge-patched, and where each object of the result comes from.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { composePatches, mergePatch } from '../../src/config/store/merge-patch.js';
import { composeConfig, objectSources, Overlay, targetOf } from '../../src/config/store/overlay.js';
import { diffValues } from '../../src/config/store/changes.js';

const file = () => ({
  providers: [
    { name: 'a', base_url: 'http://a/v1', api_key: 'file-key-a' },
    { name: 'b', base_url: 'http://b/v1' },
  ],
  models: [
    { name: 'm1', provider: 'a' },
    { name: 'm2', provider: 'b' },
  ],
  prices: { m1: { input: 1, output: 2 } },
  guards: { prompt: [{ name: 'g', deny: ['x'] }], output: [] },
});

describe('composeConfig', () => {
  test('a stored object replaces the file one in place; a new one goes last; a tombstone drops one', () => {
    const overlay = new Overlay()
      .with('providers.b', { op: 'set', value: { name: 'b', base_url: 'http://b2/v1' } })
      .with('providers.c', { op: 'set', value: { name: 'c', base_url: 'http://c/v1' } })
      .with('models.m1', { op: 'delete' });
    const data = composeConfig(file(), overlay);
    assert.deepEqual(data.providers, [
      { name: 'a', base_url: 'http://a/v1', api_key: 'file-key-a' },
      { name: 'b', base_url: 'http://b2/v1' },
      { name: 'c', base_url: 'http://c/v1' },
    ]);
    assert.deepEqual(data.models, [{ name: 'm2', provider: 'b' }]);
    // The base is not changed.
    assert.equal(file().models.length, 2);
  });

  test("a stored mask keeps the file's secret of the same object, and follows it when the file changes", () => {
    const overlay = new Overlay().with('providers.a', { op: 'set', value: { name: 'a', base_url: 'http://a2/v1', api_key: '********' } });
    assert.equal((composeConfig(file(), overlay).providers as Array<Record<string, unknown>>)[0].api_key, 'file-key-a');
    const rotated = file();
    rotated.providers[0].api_key = 'file-key-rotated';
    assert.equal((composeConfig(rotated, overlay).providers as Array<Record<string, unknown>>)[0].api_key, 'file-key-rotated');
    const gone = file();
    delete (gone.providers[0] as { api_key?: string }).api_key;
    assert.equal('api_key' in (composeConfig(gone, overlay).providers as Array<Record<string, unknown>>)[0], false);
  });

  test('prices by model; sections replaced, or merge-patched over what the file says now', () => {
    const overlay = new Overlay()
      .with('prices.m2', { op: 'set', value: { input: 3, output: 4 } })
      .with('prices.m1', { op: 'delete' })
      .with('sections.guards', { op: 'merge', value: { output: [{ name: 'o', deny: ['y'] }] } })
      .with('sections.routing', { op: 'replace', value: { strategy: 'latency' } });
    const data = composeConfig(file(), overlay);
    assert.deepEqual(data.prices, { m2: { input: 3, output: 4 } });
    assert.deepEqual(data.guards, { prompt: [{ name: 'g', deny: ['x'] }], output: [{ name: 'o', deny: ['y'] }] });
    assert.deepEqual(data.routing, { strategy: 'latency' });
    const edited = { ...file(), guards: { prompt: [{ name: 'g2', deny: ['z'] }] } };
    assert.deepEqual(composeConfig(edited, overlay).guards, { prompt: [{ name: 'g2', deny: ['z'] }], output: [{ name: 'o', deny: ['y'] }] });
  });

  test('sources name every object; deleted lists the tombstones of file objects', () => {
    const overlay = new Overlay().with('providers.c', { op: 'set', value: { name: 'c', base_url: 'http://c/v1' } }).with('models.m1', { op: 'delete' });
    const data = composeConfig(file(), overlay);
    const { sources, deleted } = objectSources(file(), overlay, data);
    assert.equal(sources['providers.a'], 'file');
    assert.equal(sources['providers.c'], 'store');
    assert.equal(sources['models.m1'], undefined);
    assert.equal(sources['sections.guards'], 'file');
    assert.deepEqual(deleted, ['models.m1']);
  });

  test('targets split at the first dot, so model names may hold dots', () => {
    assert.deepEqual(targetOf('models.gpt-4.1'), { kind: 'models', name: 'gpt-4.1' });
    assert.equal(targetOf('sections.server'), undefined);
    assert.equal(targetOf('keys.x'), undefined);
    assert.equal(targetOf('providers.'), undefined);
  });
});

describe('merge patches', () => {
  test('RFC 7396: objects merge, null removes, arrays and values replace', () => {
    assert.deepEqual(mergePatch({ a: 1, b: { c: 2, d: 3 }, e: [1] }, { a: null, b: { c: 9 }, e: [2, 3], f: 'x' }), { b: { c: 9, d: 3 }, e: [2, 3], f: 'x' });
  });
  test('two patches composed do what both do, nulls kept', () => {
    const first = { a: { b: 1 }, c: null };
    const second = { a: { d: 2 }, e: null };
    const target = { a: { x: 0 }, c: 1, e: 2, f: 3 };
    assert.deepEqual(mergePatch(target, composePatches(first, second)), mergePatch(mergePatch(target, first), second));
  });
});

describe('diffValues', () => {
  test('names each changed leaf and masks secrets', () => {
    const diff = diffValues({ base_url: 'http://a', api_key: 'old', timeouts: { idle_ms: 1 } }, { base_url: 'http://b', api_key: 'new', timeouts: { idle_ms: 1 } }, 'providers.a');
    assert.deepEqual(diff, [
      { path: 'providers.a.base_url', before: 'http://a', after: 'http://b' },
      { path: 'providers.a.api_key', before: '********', after: '********' },
    ]);
    assert.deepEqual(diffValues(undefined, { name: 'x', headers: { h: 'secret' } }, 'providers.x'), [
      { path: 'providers.x', before: null, after: { name: 'x', headers: { h: '********' } } },
    ]);
  });
});
