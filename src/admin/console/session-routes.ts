// POST/GET/DELETE /admin/session: log in with an admin token (the answer sets an HttpOnly cookie and
// hands out the CSRF token), read the session, log out.
import type { AdminRequest, AdminResponse, AdminRoute } from '../../pipeline/stage.js';
import { errors } from '../../shared/errors.js';
import { AdminAuth, cameOverHttps, csrfHeader, csrfRefusal, invalidAdminToken } from './auth.js';
import { clearedSessionCookie, csrfMatches, readCookie, sessionCookie, sessionCookieName, type AdminSession } from './sessions.js';

export const sessionPath = '/admin/session';

export interface SessionBody {
  name: string;
  read_only: boolean;
  csrf_token: string;
  /** ISO time the session ends unless it is used again before (idle), never after the absolute limit. */
  expires_at: string;
}

function sessionBody(auth: AdminAuth, session: AdminSession): SessionBody {
  return {
    name: session.credential.name,
    read_only: session.credential.readOnly,
    csrf_token: session.csrfToken,
    expires_at: new Date(auth.sessions.expiresAt(session)).toISOString(),
  };
}

export function sessionRoutes(auth: AdminAuth): AdminRoute[] {
  return [
    // Public: the token in the body is the credential.
    { method: 'POST', path: sessionPath, public: true, handle: (req) => login(auth, req) },
    { method: 'GET', path: sessionPath, public: true, handle: (req) => current(auth, req) },
    { method: 'DELETE', path: sessionPath, public: true, handle: (req) => logout(auth, req) },
  ];
}

function login(auth: AdminAuth, req: AdminRequest): AdminResponse {
  const body = req.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw errors.invalidParam('token', 'The body must be a JSON object: {"token": "<admin token>"}.');
  }
  const token = (body as Record<string, unknown>).token;
  if (token === undefined) throw errors.missingParam('token');
  if (typeof token !== 'string') throw errors.invalidParam('token', "'token' must be a string.");
  const credential = auth.credentials().match(token);
  if (credential === undefined) throw invalidAdminToken('Invalid admin token.');
  // A login from a browser that still holds a session replaces it.
  const previous = readCookie(req.headers.cookie, sessionCookieName);
  if (previous) auth.sessions.delete(previous);
  const session = auth.sessions.create(credential);
  // The browser keeps the cookie up to the absolute limit; the idle limit is the server's to enforce.
  const maxAge = Math.floor(auth.sessions.timeouts.absoluteMs / 1000);
  return {
    status: 200,
    body: sessionBody(auth, session),
    headers: [['set-cookie', sessionCookie(session.id, cameOverHttps(req.headers), maxAge)]],
  };
}

function current(auth: AdminAuth, req: AdminRequest): AdminResponse {
  const session = auth.session(req.headers);
  if (session === undefined) throw invalidAdminToken('No admin session: log in with POST /admin/session.');
  return { status: 200, body: sessionBody(auth, session) };
}

function logout(auth: AdminAuth, req: AdminRequest): AdminResponse {
  const session = auth.session(req.headers, false);
  if (session !== undefined) {
    if (!csrfMatches(session, req.headers[csrfHeader])) throw csrfRefusal();
    auth.sessions.delete(session.id);
  }
  return { status: 204, body: null, headers: [['set-cookie', clearedSessionCookie(cameOverHttps(req.headers))]] };
}
