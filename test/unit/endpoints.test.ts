// The public URL table.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { matchEndpoint } from '../../src/pipeline/endpoints.js';

describe('matchEndpoint', () => {
  test('the proxied operations, with their upstream path and required field', () => {
    assert.deepEqual(matchEndpoint('POST', '/v1/chat/completions'), {
      endpoint: { kind: 'proxy', operation: 'chat.completions', upstreamPath: '/chat/completions', requiredField: 'messages' },
    });
    assert.deepEqual(matchEndpoint('POST', '/v1/completions'), {
      endpoint: { kind: 'proxy', operation: 'completions', upstreamPath: '/completions', requiredField: 'prompt' },
    });
    assert.deepEqual(matchEndpoint('POST', '/v1/embeddings'), {
      endpoint: { kind: 'proxy', operation: 'embeddings', upstreamPath: '/embeddings', requiredField: 'input' },
    });
  });

  test('models, one model (percent-decoded), health and readiness', () => {
    assert.deepEqual(matchEndpoint('GET', '/v1/models'), { endpoint: { kind: 'models' } });
    assert.deepEqual(matchEndpoint('GET', '/v1/models/gpt-4o'), { endpoint: { kind: 'model', id: 'gpt-4o' } });
    assert.deepEqual(matchEndpoint('GET', '/v1/models/org%2Fmodel%20x'), { endpoint: { kind: 'model', id: 'org/model x' } });
    assert.deepEqual(matchEndpoint('GET', '/healthz'), { endpoint: { kind: 'health' } });
    assert.deepEqual(matchEndpoint('GET', '/readyz'), { endpoint: { kind: 'ready' } });
  });

  test('a trailing slash is tolerated; HEAD is allowed where GET is', () => {
    assert.deepEqual(matchEndpoint('POST', '/v1/chat/completions/'), matchEndpoint('POST', '/v1/chat/completions'));
    assert.deepEqual(matchEndpoint('HEAD', '/v1/models'), { endpoint: { kind: 'models' } });
    assert.deepEqual(matchEndpoint('HEAD', '/healthz'), { endpoint: { kind: 'health' } });
    assert.deepEqual(matchEndpoint('HEAD', '/readyz'), { endpoint: { kind: 'ready' } });
    assert.deepEqual(matchEndpoint('HEAD', '/v1/models/gpt-4o'), { endpoint: { kind: 'model', id: 'gpt-4o' } });
    assert.deepEqual(matchEndpoint('HEAD', '/v1/chat/completions'), { wrongMethod: 'POST' });
  });

  test('a known path with the wrong method says which method to use', () => {
    assert.deepEqual(matchEndpoint('GET', '/v1/chat/completions'), { wrongMethod: 'POST' });
    assert.deepEqual(matchEndpoint('PUT', '/v1/embeddings'), { wrongMethod: 'POST' });
    assert.deepEqual(matchEndpoint('POST', '/v1/models'), { wrongMethod: 'GET' });
    assert.deepEqual(matchEndpoint('DELETE', '/v1/models/x'), { wrongMethod: 'GET' });
  });

  test('unknown paths', () => {
    assert.equal(matchEndpoint('POST', '/v1/chat'), undefined);
    assert.equal(matchEndpoint('POST', '/chat/completions'), undefined);
    assert.equal(matchEndpoint('GET', '/'), undefined);
    assert.equal(matchEndpoint('POST', '/v1/chat/completionsx'), undefined);
  });

  test('a malformed percent-encoding in a model id does not throw', () => {
    assert.doesNotThrow(() => matchEndpoint('GET', '/v1/models/%E0%A4%A'));
  });
});
