// The gateway's credential for an OpenAPI source: static (header, bearer, basic) or OAuth 2 client
// credentials, whose token is fetched once, shared by concurrent calls, cached until shortly before it
// expires, and replaced when the API refuses it (401).
import type { Agent } from 'undici';
import type { OAuth2ClientCredentials, OpenApiAuth } from './config.js';
import { exchange, ExchangeFailure } from './http.js';

/** The credential could not be obtained (the token endpoint refused or was unreachable). */
export class CredentialError extends Error {}

export interface Credential {
  /** Headers for one API call. */
  headers(): Promise<Record<string, string>>;
  /**
   * The API answered 401 to a call made with `used`: true when a different credential is now ready, so
   * the call is worth one retry. Static credentials never change, so they say false.
   */
  renewAfterRejection(used: Record<string, string>): Promise<boolean>;
  /** The values that must never appear in what a caller sees. */
  secrets(): string[];
}

export function createCredential(auth: OpenApiAuth | undefined, agent: Agent, timeoutMs: number, now: () => number = Date.now): Credential {
  switch (auth?.type) {
    case undefined:
      return staticCredential({}, []);
    case 'header':
      return staticCredential({ [auth.name.toLowerCase()]: auth.value }, [auth.value]);
    case 'bearer':
      return staticCredential({ authorization: `Bearer ${auth.token}` }, [auth.token]);
    case 'basic': {
      const encoded = Buffer.from(`${auth.username}:${auth.password}`, 'utf8').toString('base64');
      return staticCredential({ authorization: `Basic ${encoded}` }, [encoded, auth.password]);
    }
    case 'oauth2_client_credentials':
      return new ClientCredentialsToken(auth, agent, timeoutMs, now);
  }
}

function staticCredential(headers: Record<string, string>, secrets: string[]): Credential {
  return {
    headers: async () => headers,
    renewAfterRejection: async () => false,
    secrets: () => secrets,
  };
}

/** A token without expires_in is reused this long (RFC 6749 leaves its lifetime to the server's documentation). */
const defaultLifetimeS = 300;
/** Renewed this long before it expires, so a call never carries a token that lapses on the way: a tenth of its life, at most a minute. */
const maxMarginS = 60;
const tokenResponseMaxBytes = 64 * 1024;
/** Earlier tokens are still redacted for a while: an answer to a call made with one may arrive after a renewal. */
const rememberedTokens = 4;

interface CachedToken {
  token: string;
  /** ms since the epoch; past it the token is fetched again. */
  renewAt: number;
}

export class ClientCredentialsToken implements Credential {
  private cached: CachedToken | undefined;
  private pending: Promise<string> | undefined;
  private readonly recent: string[] = [];
  /** Token requests made, for tests and metrics. */
  fetches = 0;

  constructor(
    private readonly config: OAuth2ClientCredentials,
    private readonly agent: Agent,
    private readonly timeoutMs: number,
    private readonly now: () => number,
  ) {}

  async headers(): Promise<Record<string, string>> {
    return { authorization: `Bearer ${await this.token()}` };
  }

  async renewAfterRejection(used: Record<string, string>): Promise<boolean> {
    if (this.cached && used.authorization === `Bearer ${this.cached.token}`) this.cached = undefined;
    const fresh = await this.token();
    return used.authorization !== `Bearer ${fresh}`;
  }

  secrets(): string[] {
    return [this.config.client_secret, ...this.recent];
  }

  private token(): Promise<string> {
    if (this.cached && this.now() < this.cached.renewAt) return Promise.resolve(this.cached.token);
    // One request for every call waiting on a token; a caller's cancellation does not cancel it for the others.
    this.pending ??= this.fetch().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async fetch(): Promise<string> {
    this.fetches++;
    const url = new URL(this.config.token_url);
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (this.config.scope) form.set('scope', this.config.scope);
    if (this.config.audience) form.set('audience', this.config.audience);
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (this.config.client_auth === 'post') {
      form.set('client_id', this.config.client_id);
      form.set('client_secret', this.config.client_secret);
    } else {
      // RFC 6749 §2.3.1: id and secret are form-encoded before they are joined and base64-encoded.
      const pair = `${formEncode(this.config.client_id)}:${formEncode(this.config.client_secret)}`;
      headers.authorization = `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`;
    }
    let response;
    try {
      response = await exchange(
        this.agent,
        { origin: url.origin, path: url.pathname + url.search, method: 'POST', headers, body: form.toString() },
        { timeoutMs: this.timeoutMs, maxBytes: () => tokenResponseMaxBytes },
      );
    } catch (err) {
      throw new CredentialError(`token endpoint ${url.origin}${url.pathname} unreachable: ${(err as ExchangeFailure).message}`);
    }
    const text = response.body.toString('utf8');
    if (response.status !== 200) {
      throw new CredentialError(`token endpoint ${url.origin}${url.pathname} answered HTTP ${response.status}: ${this.redact(text.slice(0, 512))}`);
    }
    const parsed = parseTokenResponse(text);
    if (typeof parsed === 'string') throw new CredentialError(`token endpoint ${url.origin}${url.pathname}: ${parsed}`);
    const lifetimeS = parsed.expiresIn ?? defaultLifetimeS;
    const marginS = Math.min(maxMarginS, lifetimeS / 10);
    this.cached = { token: parsed.token, renewAt: this.now() + (lifetimeS - marginS) * 1000 };
    this.recent.unshift(parsed.token);
    this.recent.length = Math.min(this.recent.length, rememberedTokens);
    return parsed.token;
  }

  private redact(text: string): string {
    return text.split(this.config.client_secret).join('[REDACTED]');
  }
}

function formEncode(text: string): string {
  return new URLSearchParams({ v: text }).toString().slice(2);
}

/** RFC 6749 §5.1; a problem as a string. */
function parseTokenResponse(text: string): { token: string; expiresIn: number | undefined } | string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return 'the answer is not JSON';
  }
  if (body === null || typeof body !== 'object') return 'the answer is not a JSON object';
  const { access_token: token, token_type: type, expires_in: expires } = body as Record<string, unknown>;
  if (typeof token !== 'string' || token === '') return 'the answer has no access_token';
  if (type !== undefined && (typeof type !== 'string' || type.toLowerCase() !== 'bearer')) return `token_type ${JSON.stringify(type)} is not supported (only Bearer)`;
  const seconds = typeof expires === 'string' ? Number(expires) : expires;
  const expiresIn = typeof seconds === 'number' && Number.isFinite(seconds) && seconds > 0 ? seconds : undefined;
  return { token, expiresIn };
}
