// Admin console sessions, in memory on the main thread: a random cookie id, a CSRF token, and the
// credential they were opened with; idle and absolute timeouts.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { AdminCredential } from './credentials.js';

export const sessionCookieName = 'sy_admin';
export const sessionIdleMs = 60 * 60 * 1000;
export const sessionAbsoluteMs = 12 * 60 * 60 * 1000;
/** Beyond this the oldest sessions are dropped: logins cannot grow memory without bound. */
const maxSessions = 10_000;

export interface AdminSession {
  readonly id: string;
  readonly csrfToken: string;
  readonly credential: AdminCredential;
  readonly createdAt: number;
  lastSeenAt: number;
}

export interface SessionTimeouts {
  idleMs: number;
  absoluteMs: number;
}

export class SessionStore {
  /** Insertion order = creation order, so the first entries are the oldest. */
  private readonly sessions = new Map<string, AdminSession>();

  constructor(
    readonly timeouts: SessionTimeouts = { idleMs: sessionIdleMs, absoluteMs: sessionAbsoluteMs },
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  create(credential: AdminCredential): AdminSession {
    const now = this.now();
    this.sweep(now);
    while (this.sessions.size >= maxSessions) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
    const session: AdminSession = {
      id: randomBytes(32).toString('base64url'),
      csrfToken: randomBytes(32).toString('base64url'),
      credential,
      createdAt: now,
      lastSeenAt: now,
    };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session with this id (its idle clock restarted when `touch`), or undefined; an expired one is removed. */
  get(id: string, touch = true): AdminSession | undefined {
    const session = this.sessions.get(id);
    if (session === undefined) return undefined;
    const now = this.now();
    if (this.expired(session, now)) {
      this.sessions.delete(id);
      return undefined;
    }
    if (touch) session.lastSeenAt = now;
    return session;
  }

  delete(id: string): boolean {
    return this.sessions.delete(id);
  }

  /** When the session ends if it is not used again: the idle or the absolute limit, whichever comes first. */
  expiresAt(session: AdminSession): number {
    return Math.min(session.lastSeenAt + this.timeouts.idleMs, session.createdAt + this.timeouts.absoluteMs);
  }

  private expired(session: AdminSession, now: number): boolean {
    return now >= this.expiresAt(session);
  }

  private sweep(now: number): void {
    for (const [id, session] of this.sessions) if (this.expired(session, now)) this.sessions.delete(id);
  }
}

/** Whether `given` is the session's CSRF token (constant time). */
export function csrfMatches(session: AdminSession, given: string | undefined): boolean {
  if (given === undefined || given === '') return false;
  const a = Buffer.from(session.csrfToken);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The value of cookie `name` in a Cookie header, or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The Set-Cookie value opening a session; Secure when the client reached us over https (a TLS proxy). */
export function sessionCookie(id: string, secure: boolean, maxAgeSeconds: number): string {
  return `${sessionCookieName}=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
}

export function clearedSessionCookie(secure: boolean): string {
  return `${sessionCookieName}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0${secure ? '; Secure' : ''}`;
}
