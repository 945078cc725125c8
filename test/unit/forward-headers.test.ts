// The upstream header list: which client headers a provider gets, who wins a shared name, and what is refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import type { ProviderConfig } from '../../src/config/types.js';
import { compileForwardPolicy, defaultForwardHeaders, upstreamHeaders } from '../../src/pipeline/forward-headers.js';
import { GatewayError } from '../../src/shared/errors.js';

function provider(extra: Partial<ProviderConfig> = {}): ProviderConfig {
  return {
    name: 'p',
    type: 'openai',
    base_url: 'http://127.0.0.1:1/v1',
    timeouts: { connect_ms: 1, first_byte_ms: 1, idle_ms: 1, total_ms: 1 },
    connections: 1,
    ...extra,
  };
}

/** The flat [name, value, …] list as [name, value] pairs. */
function pairs(flat: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i], flat[i + 1]]);
  return out;
}

/** What the OpenAI Node SDK sends, plus what proxies in front of the gateway add. */
const sdkRequest = {
  host: 'gateway:8080',
  connection: 'keep-alive',
  'content-length': '95',
  'content-type': 'application/json',
  accept: 'application/json',
  authorization: 'Bearer sk-sy-client',
  'user-agent': 'OpenAI/JS 4.77.0',
  'x-stainless-os': 'Linux',
  'x-stainless-retry-count': '0',
  'x-forwarded-for': '10.0.0.1',
  'x-real-ip': '10.0.0.1',
  forwarded: 'for=10.0.0.1',
  'openai-organization': 'org-client',
  'openai-beta': 'assistants=v2',
  'x-request-id': 'client-id',
};

test('defaults: only the listed client headers, then x-request-id and the gateway and provider headers, each once', () => {
  const p = provider({ api_key: 'sk-up', headers: { 'OpenAI-Organization': 'org-gw' } });
  assert.deepEqual(pairs(upstreamHeaders(sdkRequest, compileForwardPolicy(p), 'req-1')), [
    ['openai-beta', 'assistants=v2'],
    ['x-request-id', 'req-1'],
    ['accept-encoding', 'identity'],
    ['content-type', 'application/json'],
    ['authorization', 'Bearer sk-up'],
    ['openai-organization', 'org-gw'],
  ]);
  assert.deepEqual([...defaultForwardHeaders], ['openai-beta', 'anthropic-beta', 'traceparent', 'tracestate', 'x-sim-*']);
});

test('a stage header replaces the client one; neither a client nor a stage can set what the config or the gateway sets', () => {
  const p = provider({ headers: { 'x-team': 'configured' }, forward_headers: ['traceparent', 'x-team', 'x-*'] });
  const client = { traceparent: '00-client', 'x-team': 'client', 'x-api-key': 'sk-client', 'x-note': 'kept' };
  const stages: Array<[string, string]> = [['traceparent', '00-gateway-span'], ['x-team', 'stage'], ['x-request-id', 'stage-id']];
  const got = pairs(upstreamHeaders(client, compileForwardPolicy(p), 'req-2', stages));
  assert.deepEqual(got, [
    ['x-note', 'kept'],
    ['traceparent', '00-gateway-span'],
    ['x-request-id', 'req-2'],
    ['accept-encoding', 'identity'],
    ['content-type', 'application/json'],
    ['x-team', 'configured'],
  ]);
});

test('a lone * forwards every client header except the never-forwarded ones', () => {
  const got = pairs(upstreamHeaders(sdkRequest, compileForwardPolicy(provider({ forward_headers: ['*'] })), 'req-3')).map(([name]) => name);
  for (const name of ['host', 'connection', 'content-length', 'authorization']) assert.equal(got.filter((n) => n === name).length, 0, name);
  assert.equal(got.filter((n) => n === 'content-type').length, 1);
  assert.equal(got.filter((n) => n === 'x-request-id').length, 1);
  assert.ok(got.includes('x-stainless-os') && got.includes('user-agent'));
});

test('values: control characters → 400 invalid_header, UTF-8 forwarded as its bytes, U+FFFD refused', () => {
  const p = provider({ forward_headers: ['x-note', 'x-custom-*'] });
  const refusal = (client: Record<string, string>) => {
    try {
      upstreamHeaders(client, compileForwardPolicy(p), 'r');
    } catch (err) {
      assert.ok(err instanceof GatewayError);
      return [err.status, err.type, err.code, err.param];
    }
    return 'forwarded';
  };
  assert.deepEqual(refusal({ 'x-note': 'a\x7fb' }), [400, 'invalid_request_error', 'invalid_header', 'x-note']);
  assert.deepEqual(refusal({ 'x-note': 'a\nb' }), [400, 'invalid_request_error', 'invalid_header', 'x-note']);
  assert.deepEqual(refusal({ 'x-note': 'caf\ufffd' }), [400, 'invalid_request_error', 'invalid_header', 'x-note']);
  assert.deepEqual(refusal({ 'x-custom-a b': 'v' }), [400, 'invalid_request_error', 'invalid_header', 'x-custom-a b']);
  // Not forwarded, so not looked at.
  assert.equal(refusal({ 'x-other': 'a\x7fb' }), 'forwarded');
  assert.equal(refusal({ 'x-note': 'tab\tand spaces ok' }), 'forwarded');
  const [, value] = upstreamHeaders({ 'x-note': 'team-€' }, compileForwardPolicy(p), 'r');
  assert.deepEqual(Buffer.from(value, 'latin1'), Buffer.from('team-€', 'utf8'));
});

test('config: forward_headers defaults, lower-case names and prefixes only, never a name the gateway owns', () => {
  const load = (providerExtra: Record<string, unknown>) =>
    parseConfig(
      JSON.stringify({ providers: [{ name: 'p', base_url: 'http://x/v1', ...providerExtra }], models: [{ name: 'm', provider: 'p' }] }),
      'test',
    );
  assert.deepEqual(load({}).providers[0].forward_headers, [...defaultForwardHeaders]);
  assert.deepEqual(load({ forward_headers: ['x-title', 'http-referer', 'x-custom-*', '*'] }).providers[0].forward_headers, ['x-title', 'http-referer', 'x-custom-*', '*']);
  for (const bad of ['Authorization', 'authorization', 'host', 'x-request-id', 'x-*-y', 'a b', '']) {
    assert.throws(() => load({ forward_headers: [bad] }), /forward_headers\.0/, JSON.stringify(bad));
  }
  assert.throws(() => load({ headers: { 'x-team': 'a\nb' } }), /headers/);
  assert.throws(() => load({ headers: { 'x team': 'a' } }), /headers/);
});
