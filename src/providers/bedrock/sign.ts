// SigV4 for Bedrock requests, with AWS's own signer (@smithy/signature-v4); one signer per provider.
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { ProviderConfig } from '../../config/types.js';
import { credentialsOf, regionOf } from './credentials.js';

const service = 'bedrock';
const jsonType = 'application/json';

/** Compiled once per provider config object: region and credential source do not change under it. */
const signers = new WeakMap<ProviderConfig, SignatureV4>();

function signerFor(provider: ProviderConfig): SignatureV4 {
  let signer = signers.get(provider);
  if (signer === undefined) {
    signer = new SignatureV4({
      service,
      region: regionOf(provider),
      credentials: async () => credentialsOf(provider),
      sha256: Hash.bind(null, 'sha256'),
    });
    signers.set(provider, signer);
  }
  return signer;
}

/**
 * The headers to add so that `headers` + these, sent to `url`'s host, carry a valid signature. Signed:
 * host, content-type and any x-amz-* header given; every other header may change in transit without
 * breaking the signature. Adds content-type (application/json) when `headers` has none.
 */
export async function signBedrockRequest(
  provider: ProviderConfig,
  method: string,
  url: URL,
  headers: Array<[string, string]>,
  body: string,
): Promise<Array<[string, string]>> {
  credentialsOf(provider); // a missing credential is the gateway's 500, not the signer's TypeError
  return signedHeaders(signerFor(provider), method, url, headers, body, new Date());
}

/** The signing itself, with the clock and signer passed in (tests sign AWS's documented examples). */
export async function signedHeaders(
  signer: SignatureV4,
  method: string,
  url: URL,
  headers: Array<[string, string]>,
  body: string,
  signingDate: Date,
): Promise<Array<[string, string]>> {
  const toSign: Record<string, string> = { host: url.host };
  const added: Array<[string, string]> = [];
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    if (lower === 'content-type' || lower.startsWith('x-amz-')) toSign[lower] = value;
  }
  if (toSign['content-type'] === undefined) {
    toSign['content-type'] = jsonType;
    added.push(['content-type', jsonType]);
  }
  const signed = await signer.sign(
    {
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port === '' ? undefined : Number(url.port),
      // As sent: the model id is already percent-encoded once; the signer encodes the canonical URI again.
      path: url.pathname,
      query: queryOf(url),
      headers: toSign,
      body,
    },
    { signingDate },
  );
  for (const [name, value] of Object.entries(signed.headers)) {
    const lower = name.toLowerCase();
    if (toSign[lower] === undefined) added.push([lower, value]);
  }
  return added;
}

function queryOf(url: URL): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of url.searchParams) {
    const seen = query[key];
    query[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return query;
}
