// The admin session: who is logged in and the CSRF token, in memory only (the session itself is the HttpOnly cookie).
import { signal } from '@preact/signals';
import { errorFrom } from './api';

export interface Session {
  name: string;
  read_only: boolean;
  csrf_token: string;
  expires_at: string;
}

/** undefined while the first GET /admin/session is pending; null when logged out. */
export const session = signal<Session | null | undefined>(undefined);
/** Why the login page is shown again (expired session), if it is. */
export const loginNotice = signal<string>('');

export const csrfToken = (): string | undefined => session.value?.csrf_token;
export const readOnly = (): boolean => session.value?.read_only ?? true;

export function sessionExpired(): void {
  if (session.peek()) loginNotice.value = 'Your session ended. Log in again.';
  session.value = null;
}

async function sessionRequest(method: 'GET' | 'POST' | 'DELETE', body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const csrf = csrfToken();
  if (method !== 'GET' && csrf) headers['x-csrf-token'] = csrf;
  return fetch('/admin/session', { method, headers, credentials: 'same-origin', cache: 'no-store', body: body === undefined ? undefined : JSON.stringify(body) });
}

/** Restores the session the cookie still holds (after a reload), or marks the UI logged out. */
export async function restoreSession(): Promise<void> {
  try {
    const response = await sessionRequest('GET');
    session.value = response.ok ? ((await response.json()) as Session) : null;
  } catch {
    session.value = null;
  }
}

/** Trades the admin token for a session cookie; the token is not kept anywhere afterwards. */
export async function login(token: string): Promise<void> {
  const response = await sessionRequest('POST', { token });
  if (!response.ok) throw await errorFrom(response);
  loginNotice.value = '';
  session.value = (await response.json()) as Session;
}

export async function logout(): Promise<void> {
  try {
    await sessionRequest('DELETE');
  } finally {
    session.value = null;
  }
}
