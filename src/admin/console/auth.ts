// Who an admin request comes from: a bearer token or the session cookie, and what it may do
// (read-only credentials cannot write; cookie-authenticated writes need the session's CSRF token).
import type { AdminActor } from '../../pipeline/stage.js';
import { GatewayError } from '../../shared/errors.js';
import { AdminCredentials, type AdminCredential, type AdminTokenSource } from './credentials.js';
import { csrfMatches, readCookie, sessionCookieName, SessionStore, type AdminSession } from './sessions.js';

export type Headers = Readonly<Record<string, string>>;

export interface Authenticated {
  readonly actor: AdminActor;
  /** Set when the cookie, not a bearer token, authenticated the request. */
  readonly session: AdminSession | undefined;
}

export const csrfHeader = 'x-csrf-token';

export function invalidAdminToken(message = 'Missing or invalid admin token (Authorization: Bearer <token>, or a session from POST /admin/session).'): GatewayError {
  return new GatewayError(401, message, { type: 'authentication_error', code: 'invalid_admin_token' });
}

export function readOnlyRefusal(method: string, path: string): GatewayError {
  return new GatewayError(403, `This admin credential is read-only: ${method} ${path} is refused.`, { type: 'permission_error', code: 'read_only_token' });
}

export function csrfRefusal(): GatewayError {
  return new GatewayError(403, `A request authenticated by the session cookie must carry the session's CSRF token in the ${csrfHeader} header.`, {
    type: 'permission_error',
    code: 'csrf_token_invalid',
  });
}

/** Whether a method only reads (no CSRF token, allowed to read-only credentials). */
export function isSafeMethod(method: string): boolean {
  return method === 'GET' || method === 'HEAD';
}

export function bearerToken(headers: Headers): string | undefined {
  const header = headers.authorization;
  if (header === undefined) return undefined;
  return header.startsWith('Bearer ') ? header.slice(7).trim() : '';
}

/** The request reached the gateway over https (as a TLS-terminating proxy says), so cookies get Secure. */
export function cameOverHttps(headers: Headers): boolean {
  return (headers['x-forwarded-proto'] ?? '').split(',')[0].trim().toLowerCase() === 'https';
}

export class AdminAuth {
  private source: () => AdminTokenSource | undefined = () => undefined;
  private cache: { source: AdminTokenSource | undefined; tokens: unknown; token: unknown; credentials: AdminCredentials } | undefined;

  constructor(
    /** The token resolved at start (config, SWITCHYARD_ADMIN_TOKEN or <data_dir>/admin.token). */
    private readonly startToken: string,
    readonly sessions: SessionStore = new SessionStore(),
  ) {}

  /** Reads `admin.token` / `admin.tokens` from the config serving now, so a reload that changes them takes effect. */
  useTokens(source: () => AdminTokenSource | undefined): void {
    this.source = source;
    this.cache = undefined;
  }

  credentials(): AdminCredentials {
    const source = this.source();
    const c = this.cache;
    if (c !== undefined && c.source === source && c.tokens === source?.tokens && c.token === source?.token) return c.credentials;
    const credentials = AdminCredentials.build(source?.token ?? this.startToken, source?.tokens);
    this.cache = { source, tokens: source?.tokens, token: source?.token, credentials };
    return credentials;
  }

  /** The credential of a bearer header or a session cookie; a 401 when there is none or it is not valid. */
  authenticate(headers: Headers): Authenticated {
    const bearer = bearerToken(headers);
    // An Authorization header is authoritative: a wrong one is not rescued by a cookie.
    if (bearer !== undefined) {
      const credential = this.credentials().match(bearer);
      if (credential === undefined) throw invalidAdminToken();
      return { actor: actorOf(credential), session: undefined };
    }
    const session = this.session(headers);
    if (session === undefined) throw invalidAdminToken();
    return { actor: actorOf(session.credential), session };
  }

  /** Refuses what this credential may not do: a write by a read-only one, a cookie write without the CSRF token. */
  authorise(auth: Authenticated, method: string, path: string, headers: Headers): void {
    if (isSafeMethod(method)) return;
    if (auth.session !== undefined && !csrfMatches(auth.session, headers[csrfHeader])) throw csrfRefusal();
    if (auth.actor.readOnly) throw readOnlyRefusal(method, path);
  }

  /** The live session the cookie names, its credential re-read (a token removed from the config ends its sessions). */
  session(headers: Headers, touch = true): AdminSession | undefined {
    const id = readCookie(headers.cookie, sessionCookieName);
    if (id === undefined || id === '') return undefined;
    const session = this.sessions.get(id, touch);
    if (session === undefined) return undefined;
    const current = this.credentials().matchDigest(session.credential.digest);
    if (current === undefined || current.name !== session.credential.name || current.readOnly !== session.credential.readOnly) {
      this.sessions.delete(id);
      return undefined;
    }
    return session;
  }
}

function actorOf(credential: AdminCredential): AdminActor {
  return { name: credential.name, readOnly: credential.readOnly };
}
