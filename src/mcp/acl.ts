// Who may see and call which tool: per-key allow/deny globs over `server__tool` (deny wins), compiled once.
import type { McpAccessRule } from './config.js';

/** Separates a source's name from its tool's name on the aggregated endpoint. */
export const SEPARATOR = '__';

/** The caller as the endpoint knows it: a virtual key, or null when `auth` is none. */
export interface CallerKey {
  readonly id: string;
  readonly name: string;
}

/** `*` matches any run of characters, `?` one; everything else is literal. */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (const ch of glob) {
    if (ch === '*') source += '.*';
    else if (ch === '?') source += '.';
    else source += ch.replace(/[\\^$.+()[\]{}|]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}

/**
 * A list of tool patterns as one test over (server, tool). A pattern without `__` names servers (every
 * tool of a matching server); one with it is matched against the full `server__tool` name.
 */
export class ToolPatterns {
  private readonly servers: RegExp[] = [];
  private readonly tools: RegExp[] = [];
  /** Per tool pattern, its server part when that part has no wildcard (else undefined: any server). */
  private readonly toolServers: Array<string | undefined> = [];

  constructor(patterns: readonly string[]) {
    for (const p of patterns) {
      if (!p.includes(SEPARATOR)) {
        this.servers.push(globToRegExp(p));
        continue;
      }
      this.tools.push(globToRegExp(p));
      const server = p.slice(0, p.indexOf(SEPARATOR));
      this.toolServers.push(/[*?]/.test(server) ? undefined : server);
    }
  }

  get empty(): boolean {
    return this.servers.length === 0 && this.tools.length === 0;
  }

  matches(server: string, tool: string): boolean {
    for (const re of this.servers) if (re.test(server)) return true;
    if (this.tools.length === 0) return false;
    const full = server + SEPARATOR + tool;
    for (const re of this.tools) if (re.test(full)) return true;
    return false;
  }

  /** Whether some tool of `server` could match (to skip asking a server nobody may use). */
  mayMatchServer(server: string): boolean {
    for (const re of this.servers) if (re.test(server)) return true;
    return this.toolServers.some((s) => s === undefined || s === server);
  }
}

/** Key names and ids (globs, `*` for everyone) as one test. */
export class KeyPatterns {
  private readonly res: RegExp[];
  constructor(patterns: readonly string[]) {
    this.res = patterns.map(globToRegExp);
  }

  get empty(): boolean {
    return this.res.length === 0;
  }

  matches(key: CallerKey | null): boolean {
    for (const re of this.res) {
      if (key === null ? re.test('') : re.test(key.name) || re.test(key.id)) return true;
    }
    return false;
  }
}

/** What one caller may use: the union of the allow and deny lists of every rule naming it. */
export interface ToolAccess {
  allows(server: string, tool: string): boolean;
  /** False when no tool of the server can be allowed: it is not even asked for its list. */
  mayUseServer(server: string): boolean;
}

const everything: ToolAccess = { allows: () => true, mayUseServer: () => true };
const nothing: ToolAccess = { allows: () => false, mayUseServer: () => false };

export class AccessControl {
  private readonly rules: Array<{ keys: KeyPatterns; allow: readonly string[]; deny: readonly string[] }>;
  private readonly byKey = new Map<string, ToolAccess>();

  constructor(rules: readonly McpAccessRule[]) {
    this.rules = rules.map((r) => ({ keys: new KeyPatterns(r.keys), allow: r.allow, deny: r.deny }));
  }

  /** No rules: every caller may use every tool. Rules, none naming the caller: nothing. */
  forCaller(key: CallerKey | null): ToolAccess {
    if (this.rules.length === 0) return everything;
    const cacheKey = key === null ? '' : `${key.id}\u0000${key.name}`;
    let access = this.byKey.get(cacheKey);
    if (access === undefined) {
      access = this.compile(key);
      if (this.byKey.size > 10_000) this.byKey.clear();
      this.byKey.set(cacheKey, access);
    }
    return access;
  }

  private compile(key: CallerKey | null): ToolAccess {
    const matching = this.rules.filter((r) => r.keys.matches(key));
    if (matching.length === 0) return nothing;
    const allow = new ToolPatterns(matching.flatMap((r) => r.allow));
    const deny = new ToolPatterns(matching.flatMap((r) => r.deny));
    if (allow.empty) return nothing;
    return {
      allows: (server, tool) => allow.matches(server, tool) && !deny.matches(server, tool),
      mayUseServer: (server) => allow.mayMatchServer(server) && !deny.matches(server, ''),
    };
  }
}
