// The one error builder and the normalisation of whatever an upstream sends on an error status.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { errors, GatewayError, normaliseUpstreamError } from '../../src/shared/errors.js';

describe('GatewayError', () => {
  test('serialises to exactly the OpenAI shape', () => {
    const err = new GatewayError(400, 'bad', { param: 'model', code: 'invalid_value' });
    assert.deepEqual(JSON.parse(err.toJSON()), { error: { message: 'bad', type: 'invalid_request_error', param: 'model', code: 'invalid_value' } });
    assert.deepEqual(err.toBody(), JSON.parse(err.toJSON()));
  });

  test('the default type follows the status', () => {
    const types = [400, 401, 403, 404, 413, 429, 500, 502, 503, 504].map((s) => [s, new GatewayError(s, 'm').type]);
    assert.deepEqual(types, [
      [400, 'invalid_request_error'],
      [401, 'authentication_error'],
      [403, 'permission_error'],
      [404, 'not_found_error'],
      [413, 'invalid_request_error'],
      [429, 'rate_limit_error'],
      [500, 'api_error'],
      [502, 'api_error'],
      [503, 'api_error'],
      [504, 'timeout_error'],
    ]);
  });

  test('param and code default to null, never undefined (the keys are always present)', () => {
    const body = JSON.parse(new GatewayError(500, 'x').toJSON()) as { error: Record<string, unknown> };
    assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'param', 'type']);
    assert.equal(body.error.param, null);
    assert.equal(body.error.code, null);
  });

  test('the builders: statuses and codes', () => {
    const table = [
      [errors.badJson('x'), 400, 'invalid_json'],
      [errors.missingParam('model'), 400, 'missing_required_parameter'],
      [errors.modelNotFound('m'), 404, 'model_not_found'],
      [errors.bodyTooLarge(10), 413, 'request_too_large'],
      [errors.notFound('GET', '/x'), 404, 'unknown_url'],
      [errors.methodNotAllowed('GET', '/x', 'POST'), 405, 'method_not_allowed'],
      [errors.upstreamConnect('p', 'ECONNREFUSED'), 502, 'upstream_connect_error'],
      [errors.upstreamTimeout('p', 'connect'), 504, 'upstream_timeout'],
      [errors.upstreamBroken('p', 'reset'), 502, 'upstream_error'],
    ] as const;
    for (const [err, status, code] of table) {
      assert.equal(err.status, status, code);
      assert.equal(err.code, code);
    }
    assert.equal(errors.modelNotFound('m').param, 'model');
    assert.deepEqual(errors.methodNotAllowed('GET', '/x', 'POST').headers, { allow: 'POST' });
  });
});

describe('normaliseUpstreamError', () => {
  test('an OpenAI-shaped body keeps its message, type, param and code', () => {
    const raw = JSON.stringify({ error: { message: 'Rate limit reached', type: 'requests', param: null, code: 'rate_limit_exceeded' } });
    assert.deepEqual(normaliseUpstreamError(429, raw, 'p'), {
      error: { message: 'Rate limit reached', type: 'requests', param: null, code: 'rate_limit_exceeded' },
    });
  });

  test('missing fields are filled: type from the status, param/code null', () => {
    assert.deepEqual(normaliseUpstreamError(401, '{"error":{"message":"bad key"}}', 'p'), {
      error: { message: 'bad key', type: 'authentication_error', param: null, code: null },
    });
    assert.deepEqual(normaliseUpstreamError(503, '{"error":{}}', 'p'), {
      error: { message: "Provider 'p' returned HTTP 503.", type: 'api_error', param: null, code: null },
    });
  });

  test('a numeric code becomes a string', () => {
    assert.equal(normaliseUpstreamError(500, '{"error":{"message":"x","code":500}}', 'p').error.code, '500');
  });

  test('a bare object without "error" is read as the error itself', () => {
    assert.deepEqual(normaliseUpstreamError(400, '{"message":"nope","type":"invalid_request_error"}', 'p'), {
      error: { message: 'nope', type: 'invalid_request_error', param: null, code: null },
    });
  });

  test('{"error":"text"} and plain text bodies keep the text in the message', () => {
    const fromString = normaliseUpstreamError(404, '{"error":"no such route"}', 'p');
    assert.match(fromString.error.message, /HTTP 404: no such route/);
    assert.equal(fromString.error.type, 'not_found_error');
    const fromText = normaliseUpstreamError(502, '<html>Bad Gateway</html>', 'edge');
    assert.match(fromText.error.message, /Provider 'edge' returned HTTP 502: <html>Bad Gateway<\/html>/);
    assert.equal(fromText.error.type, 'api_error');
  });

  test('an empty body', () => {
    assert.deepEqual(normaliseUpstreamError(500, '', 'p'), {
      error: { message: "Provider 'p' returned HTTP 500.", type: 'api_error', param: null, code: null },
    });
  });

  test('a huge text body is cut in the message', () => {
    const body = normaliseUpstreamError(500, 'x'.repeat(100_000), 'p');
    assert.ok(body.error.message.length < 1000);
  });

  test('redact is applied to every text taken from the upstream, JSON or not', () => {
    const redact = (t: string) => t.replaceAll('sk-secret', '[REDACTED]');
    const json = JSON.stringify({ error: { message: 'Incorrect API key provided: sk-secret.', type: 'sk-secret', param: 'sk-secret', code: 'sk-secret' } });
    assert.deepEqual(normaliseUpstreamError(401, json, 'p', redact), {
      error: { message: 'Incorrect API key provided: [REDACTED].', type: '[REDACTED]', param: '[REDACTED]', code: '[REDACTED]' },
    });
    assert.match(normaliseUpstreamError(401, '{"error":"bad key sk-secret"}', 'p', redact).error.message, /bad key \[REDACTED\]$/);
    // A secret across the 500th character of a text body is removed whole, not cut in half and left.
    const text = `${'x'.repeat(495)}sk-secret and more`;
    const message = normaliseUpstreamError(500, text, 'p', redact).error.message;
    assert.ok(!message.includes('sk-s'), message.slice(-40));
  });

  test('JSON that is not an object (array, number, null) still yields the shape', () => {
    for (const raw of ['[1,2]', '42', 'null', '"just a string"']) {
      const body = normaliseUpstreamError(500, raw, 'p');
      assert.equal(typeof body.error.message, 'string', raw);
      assert.equal(body.error.type, 'api_error', raw);
      assert.equal(body.error.param, null, raw);
      assert.equal(body.error.code, null, raw);
    }
  });
});
