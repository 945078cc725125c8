// What a config reload may change in the limits feature, and the checks a start and a reload run on its sections.
import { isDeepStrictEqual } from 'node:util';
import type { SwitchyardConfig } from '../config/types.js';
import { configKeyId } from './keys.js';

/** Read once at start: the backend and table size (the shared table and its connections are built from them). */
const restartSettings = ['backend', 'max_rows'] as const;
/** Read once at start when the backend is Redis: where the counters are, and every connection's command timeout. */
const restartRedisSettings = ['url', 'key_prefix', 'timeout_ms'] as const;

const needsRestart = (path: string) => `${path}: changed; this setting is read only at start, so it needs a restart`;

/**
 * What keeps `next` from replacing `current` without a restart, one problem per changed setting.
 * Everything else in `auth`, `keys`, `limits` and `prices` changes at runtime.
 */
export function limitsRestartProblems(current: SwitchyardConfig, next: SwitchyardConfig): string[] {
  const problems: string[] = [];
  for (const name of restartSettings) if (current.limits[name] !== next.limits[name]) problems.push(needsRestart(`limits.${name}`));
  // The memory backend never connects to Redis: its redis settings are unused until a restart switches backend.
  if (current.limits.backend === 'redis' && next.limits.backend === 'redis') {
    for (const name of restartRedisSettings) {
      if (current.limits.redis[name] !== next.limits.redis[name]) problems.push(needsRestart(`limits.redis.${name}`));
    }
  }
  return problems;
}

/** Whether the limits feature's stages and state would be built differently from `a` and `b`. */
export function sameLimitsInputs(a: SwitchyardConfig, b: SwitchyardConfig): boolean {
  return isDeepStrictEqual([a.auth, a.keys, a.limits, a.prices], [b.auth, b.keys, b.limits, b.prices]);
}

/** Checks beyond the schema: two declared keys must not end up with one id (the second would silently replace the first). */
export function validateLimits(config: SwitchyardConfig): string[] {
  const problems: string[] = [];
  const seen = new Map<string, number>();
  config.keys.forEach((declaration, i) => {
    const id = configKeyId(declaration.name);
    const earlier = seen.get(id);
    if (earlier !== undefined) problems.push(`keys.${i}.name: '${declaration.name}' gives the key id '${id}', which keys.${earlier} has already`);
    else seen.set(id, i);
  });
  return problems;
}
