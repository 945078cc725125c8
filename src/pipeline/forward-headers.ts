// Which request headers go to a provider: the client's by a per-provider allowlist (compiled with the routes),
// then the stages', then the gateway's own and the provider's configured ones, which a client or stage cannot shadow.
import type { ProviderConfig } from '../config/types.js';
import { GatewayError } from '../shared/errors.js';

/**
 * Client headers forwarded when a provider sets no `forward_headers` (docs/configuration.md gives the reasons):
 * feature flags of the wire protocol, W3C trace context, and the bundled simulator's per-request controls.
 */
export const defaultForwardHeaders: readonly string[] = ['openai-beta', 'anthropic-beta', 'traceparent', 'tracestate', 'x-sim-*'];

/**
 * Never taken from a client, whatever `forward_headers` says: this hop's framing, the client's own credentials,
 * and what the gateway sets itself. The schema refuses these names in `forward_headers`.
 */
export const neverForwarded: readonly string[] = [
  'host', 'connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'transfer-encoding', 'te', 'trailer',
  'upgrade', 'expect', 'content-length', 'content-type', 'accept-encoding', 'authorization', 'x-api-key', 'api-key',
  'cookie', 'x-request-id',
];

/** One provider's forwarding rules, built from its config when the routes are compiled. */
export interface ForwardPolicy {
  /** Client header names forwarded as they are (lower case), already without the owned ones. */
  readonly names: ReadonlySet<string>;
  /** Name prefixes forwarded (from `x-foo-*`; '' from a lone `*`). */
  readonly prefixes: readonly string[];
  /** Names only the gateway sets: the never-forwarded ones and the provider's configured headers. */
  readonly owned: ReadonlySet<string>;
  /** Sent on every request after the client's and the stages' headers: [name, value, …]. */
  readonly fixed: readonly string[];
}

/** `auth`: the headers that authenticate to the provider (its family decides: Authorization, api-key, x-api-key…). */
export function compileForwardPolicy(provider: ProviderConfig, auth: ReadonlyArray<readonly [string, string]> = bearer(provider)): ForwardPolicy {
  // The body was parsed as JSON whatever the client called it; an encoded answer could not be metered.
  const fixed = ['accept-encoding', 'identity', 'content-type', 'application/json'];
  for (const [name, value] of auth) fixed.push(name, value);
  const owned = new Set(neverForwarded);
  const configured = provider.headers ?? {};
  for (const name in configured) {
    const lower = name.toLowerCase();
    owned.add(lower);
    fixed.push(lower, configured[name]);
  }
  const names = new Set<string>();
  const prefixes: string[] = [];
  for (const entry of provider.forward_headers ?? defaultForwardHeaders) {
    const lower = entry.toLowerCase();
    if (lower.endsWith('*')) prefixes.push(lower.slice(0, -1));
    else if (!owned.has(lower)) names.add(lower);
  }
  return { names, prefixes, owned, fixed };
}

function bearer(provider: ProviderConfig): Array<[string, string]> {
  return provider.api_key ? [['authorization', `Bearer ${provider.api_key}`]] : [];
}

/** A header name is an HTTP token (RFC 9110 §5.6.2); the exact names of a policy are, a prefix match need not be. */
const token = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
/** Anything but HTAB, SP and visible ASCII: rare, and then looked at closely. */
const notPlainAscii = /[^\t\x20-\x7e]/;
const control = /[\x00-\x08\x0a-\x1f\x7f]/;

function invalidHeader(name: string, what: string): GatewayError {
  return new GatewayError(400, `Invalid value for header '${name}': ${what}.`, { param: name, code: 'invalid_header' });
}

/**
 * The value as bytes for undici, which writes header strings as latin1. uWS hands values over decoded as
 * UTF-8, so a non-ASCII value is encoded back to the bytes the client sent; bytes that were not UTF-8 arrive
 * as U+FFFD and cannot be, so they are refused rather than forwarded changed. (uWS also drops bytes above
 * 0x7f at either end of a value, as if they were spaces: those never reach the gateway.)
 */
function forwardableValue(name: string, value: string): string {
  if (!notPlainAscii.test(value)) return value;
  if (control.test(value)) throw invalidHeader(name, 'control characters are not allowed (RFC 9110 §5.5)');
  if (value.includes('\ufffd')) throw invalidHeader(name, 'bytes that are neither ASCII nor UTF-8 cannot be forwarded unchanged');
  return Buffer.from(value, 'utf8').toString('latin1');
}

function prefixMatch(name: string, policy: ForwardPolicy): boolean {
  const prefixes = policy.prefixes;
  for (let i = 0; i < prefixes.length; i++) {
    if (name.startsWith(prefixes[i])) {
      if (policy.owned.has(name)) return false;
      if (!token.test(name)) throw invalidHeader(name, 'the name is not an HTTP token');
      return true;
    }
  }
  return false;
}

/**
 * The upstream request's headers as undici's flat [name, value, …] list. A client header is forwarded when
 * the provider's list allows it and no stage sets the same name; a stage header unless the gateway or the
 * provider's config owns the name; then x-request-id and the fixed headers. Throws a 400 GatewayError for a
 * forwarded client header that cannot be sent as it came.
 */
export function upstreamHeaders(
  client: Readonly<Record<string, string>>,
  policy: ForwardPolicy,
  requestId: string,
  fromStages: ReadonlyArray<readonly [string, string]> = [],
): string[] {
  const out: string[] = [];
  for (const name in client) {
    if (!policy.names.has(name) && (policy.prefixes.length === 0 || !prefixMatch(name, policy))) continue;
    if (fromStages.length > 0 && fromStages.some(([stageName]) => stageName === name)) continue;
    out.push(name, forwardableValue(name, client[name]));
  }
  for (let i = 0; i < fromStages.length; i++) {
    const [name, value] = fromStages[i];
    if (!policy.owned.has(name)) out.push(name, value);
  }
  out.push('x-request-id', requestId);
  const fixed = policy.fixed;
  for (let i = 0; i < fixed.length; i++) out.push(fixed[i]);
  return out;
}

/** undici's flat [name, value, …] header list as pairs (what a request signer reads). */
export function headerPairs(flat: readonly string[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) pairs.push([flat[i], flat[i + 1]]);
  return pairs;
}
