// Watches the config file for changes. The directory is watched, not the file: editors and config
// managers replace the file (write a temporary one, rename it over), which ends a watch on the file
// itself; Kubernetes swaps a `..data` symlink beside it. Events are debounced, and a change is passed
// on only when the file's text differs from the last text seen.
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { log } from '../shared/log.js';

export const watchDebounceMs = 200;

export interface ConfigWatch {
  close(): void;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Calls `changed` (at most once per `debounceMs` of quiet) after the file at `path` got new content. */
export function watchConfigFile(path: string, changed: () => void, debounceMs = watchDebounceMs): ConfigWatch {
  const name = basename(path);
  let seen = readText(path);
  let timer: NodeJS.Timeout | undefined;
  const settle = () => {
    timer = undefined;
    const text = readText(path);
    // A file being replaced may be missing for a moment; the rename that completes it fires another event.
    if (text === undefined || text === seen) return;
    seen = text;
    changed();
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, file) => {
      if (file !== null && file !== name && !file.startsWith('..')) return;
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(settle, debounceMs);
    });
    watcher.on('error', (err) => log.warn('config file watch failed; reload with SIGHUP', { path, error: err.message }));
  } catch (err) {
    log.warn('cannot watch the config file; reload with SIGHUP', { path, error: (err as Error).message });
  }
  return {
    close() {
      if (timer !== undefined) clearTimeout(timer);
      watcher?.close();
    },
  };
}
