// The admin API client: same-origin fetch with the session cookie, the CSRF header on writes, errors as ApiError.
import { csrfToken, sessionExpired } from './session';

/** An error answer of the admin API ({"error":{message,type,param,code,problems?}}) or a network failure. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string | null = null,
    readonly param: string | null = null,
    readonly problems: readonly string[] = [],
  ) {
    super(message);
  }
}

interface ErrorBody {
  error?: { message?: unknown; code?: unknown; param?: unknown; problems?: unknown };
}

const asString = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

export async function errorFrom(response: Response): Promise<ApiError> {
  let body: ErrorBody = {};
  try {
    body = (await response.json()) as ErrorBody;
  } catch {
    // Not JSON (a proxy's page): the status line is all there is.
  }
  const e = body.error ?? {};
  const problems = Array.isArray(e.problems) ? e.problems.filter((p): p is string => typeof p === 'string') : [];
  return new ApiError(response.status, asString(e.message) ?? `${response.status} ${response.statusText}`, asString(e.code), asString(e.param), problems);
}

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Sends one request; `signal` aborts it. Throws ApiError on any non-2xx status. */
export async function send(method: Method, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const csrf = csrfToken();
  if (method !== 'GET' && csrf) headers['x-csrf-token'] = csrf;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
      signal,
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, `The gateway did not answer (${(err as Error).message}).`, 'network_error');
  }
  if (response.ok) return response;
  const error = await errorFrom(response);
  // Only the admin credential's refusal ends the session; a 401 the Playground relays from the public API does not.
  if (response.status === 401 && error.code === 'invalid_admin_token' && !path.startsWith('/admin/session')) sessionExpired();
  throw error;
}

export async function api<T>(method: Method, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const response = await send(method, path, body, signal);
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

export const get = <T>(path: string, signal?: AbortSignal): Promise<T> => api<T>('GET', path, undefined, signal);

/** Encodes one path segment (names may hold '/', e.g. a model called org/model). */
export const seg = (name: string): string => encodeURIComponent(name);

/** `?a=1&b=2` from the entries that have a value. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export interface List<T> {
  object?: 'list';
  data: T[];
}
