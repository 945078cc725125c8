// Checks a Bedrock request's SigV4 signature against the simulator's test credentials, answering as AWS does.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { Hash } from '@smithy/hash-node';
import { createScope, getCanonicalHeaders, SignatureV4 } from '@smithy/signature-v4';
import type { HttpRequest } from '@smithy/types';
import type { IncomingHead } from '../server/http.js';
import { GatewayError } from '../shared/errors.js';

/** The only credentials the simulator's Bedrock endpoints accept (any region, service `bedrock`). */
export const simulatorAccessKeyId = 'AKIDSIMULATOR';
export const simulatorSecretAccessKey = 'sim-secret';

const algorithm = 'AWS4-HMAC-SHA256';
const service = 'bedrock';
/** AWS refuses a request signed more than 15 minutes away from its clock. */
const maxSkewMs = 15 * 60 * 1000;
const authorizationShape = /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;_.-]+),\s*Signature=([0-9a-f]{64})$/;

/** Exposes the SDK signer's canonical request (synchronous), so the canonical form is AWS's own code. */
class CanonicalRequests extends SignatureV4 {
  canonical(request: HttpRequest, headers: Record<string, string>, payloadHash: string): string {
    return this.createCanonicalRequest(request, headers, payloadHash);
  }
}

const canonicalRequests = new CanonicalRequests({
  service,
  region: 'us-east-1',
  credentials: { accessKeyId: simulatorAccessKeyId, secretAccessKey: simulatorSecretAccessKey },
  sha256: Hash.bind(null, 'sha256'),
});

function awsError(exception: string, message: string): GatewayError {
  return new GatewayError(403, message, { type: 'permission_error', code: exception, headers: { 'x-amzn-errortype': exception } });
}

const mismatch = (): GatewayError =>
  awsError(
    'InvalidSignatureException',
    'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
  );

/** `20240101T000000Z` → epoch ms, or NaN. */
function amzDateMs(value: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  return m === null ? NaN : Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
}

function queryOf(raw: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    const seen = query[key];
    query[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return query;
}

/**
 * Recomputes the signature over the request as it arrived (raw path, the headers it says it signed, the
 * body's own hash) and compares. The HMAC chain runs here with node:crypto because SimRoute.checkHead is
 * synchronous and SignatureV4.sign is not; the canonical request and scope are the SDK signer's.
 */
export function checkSignature(head: IncomingHead, rawBody: Buffer, now = Date.now()): GatewayError | undefined {
  const authorization = head.headers.authorization;
  if (authorization === undefined) return awsError('MissingAuthenticationTokenException', 'Missing Authentication Token');
  const auth = authorizationShape.exec(authorization);
  const amzDate = head.headers['x-amz-date'] ?? '';
  if (auth === null || amzDate === '') {
    return awsError('IncompleteSignatureException', `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature', and x-amz-date must be set. Authorization=${authorization.slice(0, 40)}`);
  }
  const [, accessKeyId, shortDate, region, scopeService, signedList, signature] = auth;
  if (accessKeyId !== simulatorAccessKeyId) return awsError('UnrecognizedClientException', 'The security token included in the request is invalid.');
  const signedAt = amzDateMs(amzDate);
  if (scopeService !== service || shortDate !== amzDate.slice(0, 8) || Number.isNaN(signedAt)) return mismatch();
  if (Math.abs(now - signedAt) > maxSkewMs) {
    return awsError('InvalidSignatureException', `Signature expired: ${amzDate} is now earlier or later than 15 minutes from the simulator's clock.`);
  }
  const signedNames = signedList.split(';');
  if (!signedNames.includes('host')) return mismatch();
  const signedHeaders: Record<string, string> = {};
  for (const name of signedNames) {
    const value = head.headers[name];
    if (value === undefined) return mismatch();
    signedHeaders[name] = value;
  }
  const request = {
    method: head.method,
    protocol: 'http:',
    hostname: head.headers.host ?? '',
    path: head.path,
    query: queryOf(head.query),
    headers: signedHeaders,
  } as HttpRequest;
  const canonicalHeaders = getCanonicalHeaders(request, undefined, new Set(signedNames));
  const payloadHash = createHash('sha256').update(rawBody).digest('hex');
  const canonical = canonicalRequests.canonical(request, canonicalHeaders, payloadHash);
  const scope = createScope(shortDate, region, service);
  const stringToSign = `${algorithm}\n${amzDate}\n${scope}\n${createHash('sha256').update(canonical).digest('hex')}`;
  let key: Buffer = createHmac('sha256', `AWS4${simulatorSecretAccessKey}`).update(shortDate).digest();
  for (const part of [region, service, 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
  const expected = createHmac('sha256', key).update(stringToSign).digest();
  return timingSafeEqual(expected, Buffer.from(signature, 'hex')) ? undefined : mismatch();
}
