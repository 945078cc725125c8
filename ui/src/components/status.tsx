// Loading, error and notice displays, badges, and the polite live region for announcements.
import { signal } from '@preact/signals';
import type { ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';
import { ApiError } from '../api';

/** Text read out by screen readers (and shown as a toast) after an action. */
export const announcement = signal<{ text: string; at: number } | null>(null);

export function announce(text: string): void {
  announcement.value = { text, at: Date.now() };
}

const toastMs = 4000;

export function LiveRegion() {
  const a = announcement.value;
  // Cleared by a timer, not an animation, so it also goes away with reduced motion.
  useEffect(() => {
    if (!a) return;
    const timer = setTimeout(() => {
      if (announcement.peek() === a) announcement.value = null;
    }, toastMs);
    return () => clearTimeout(timer);
  }, [a]);
  return (
    <div class="toast-region" role="status" aria-live="polite" aria-atomic="true">
      {a && (
        <div class="toast" key={a.at}>
          {a.text}
        </div>
      )}
    </div>
  );
}

export function ErrorBanner({ error, problems }: { error: unknown; problems?: readonly string[] }) {
  if (!error) return null;
  const message = typeof error === 'string' ? error : error instanceof Error ? error.message : String(error);
  const list = problems ?? (error instanceof ApiError ? error.problems : []);
  const code = error instanceof ApiError && error.code ? error.code : null;
  return (
    <div class="banner error" role="alert">
      <strong>{message}</strong>
      {code && <code class="code">{code}</code>}
      {list.length > 0 && (
        <ul>
          {list.map((p) => (
            <li>{p}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Notice({ children, kind = 'info' }: { children: ComponentChildren; kind?: 'info' | 'warn' | 'ok' }) {
  return <div class={`banner ${kind}`}>{children}</div>;
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p class="loading" aria-busy="true">
      {what}…
    </p>
  );
}

export type Tone = 'ok' | 'warn' | 'bad' | 'muted';

export function Badge({ tone, children }: { tone: Tone; children: ComponentChildren }) {
  return <span class={`badge ${tone}`}>{children}</span>;
}

/** Not found as a typed check: 404 from the admin API. */
export const isNotFound = (err: unknown): boolean => err instanceof ApiError && err.status === 404;
