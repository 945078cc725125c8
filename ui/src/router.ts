// Client-side routing under /ui/: the current path as a signal, history navigation, and link interception.
import { signal } from '@preact/signals';

export const base = '/ui';
export const currentPath = signal<string>(normalise(location.pathname));
export const currentSearch = signal<string>(location.search);

function normalise(path: string): string {
  if (!path.startsWith(base)) return `${base}/`;
  return path === base ? `${base}/` : path;
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  const url = new URL(to, location.origin);
  if (url.pathname + url.search === location.pathname + location.search) return;
  if (options.replace) history.replaceState(null, '', url.pathname + url.search);
  else history.pushState(null, '', url.pathname + url.search);
  currentPath.value = normalise(url.pathname);
  currentSearch.value = url.search;
}

/** Replaces the query string without a new history entry (filters of a page). */
export function setSearch(search: string): void {
  history.replaceState(null, '', location.pathname + search);
  currentSearch.value = search;
}

addEventListener('popstate', () => {
  currentPath.value = normalise(location.pathname);
  currentSearch.value = location.search;
});

// Same-origin links under /ui/ navigate in place; modified clicks (new tab) keep the browser's behaviour.
document.addEventListener('click', (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const anchor = (event.target as Element | null)?.closest?.('a');
  if (!anchor || anchor.target || anchor.hasAttribute('download')) return;
  const url = new URL(anchor.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith(base)) return;
  // In-page anchors (the skip link) keep the browser's own scrolling and focus.
  if (url.hash && url.pathname === location.pathname) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
});

/** Matches `/ui/audit/:id` style patterns (a trailing slash does not matter); returns the params or undefined. */
export function match(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.replace(/\/$/, '').split('/');
  const have = path.replace(/\/$/, '').split('/');
  if (want.length !== have.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const part = want[i]!;
    const value = have[i]!;
    if (part.startsWith(':')) {
      if (value === '') return undefined;
      params[part.slice(1)] = decodeURIComponent(value);
    } else if (part !== value) return undefined;
  }
  return params;
}
