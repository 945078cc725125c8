// Every tool source the gateway fronts, by name, and their tool lists: asked concurrently, each failure
// kept to its own source, each answer reused for tools_cache_ms.
import { log } from '../shared/log.js';
import { SEPARATOR, type ToolAccess } from './acl.js';
import type { McpTool, ToolSource } from './tool-source.js';

interface CachedList {
  tools: McpTool[];
  names: ReadonlySet<string>;
  at: number;
}

export interface SourceFailure {
  server: string;
  error: string;
}

export interface Listing {
  tools: McpTool[];
  /** Sources that could not be listed: their tools are missing from `tools`. */
  unavailable: SourceFailure[];
}

export class ToolCatalog {
  private readonly sources = new Map<string, ToolSource>();
  private readonly cache = new Map<string, CachedList>();
  private readonly pending = new Map<string, Promise<CachedList>>();
  /** Called with a source's name when listing it failed (metrics). */
  onListFailure: (server: string) => void = () => {};

  constructor(
    sources: readonly ToolSource[],
    private readonly cacheMs: number,
  ) {
    for (const s of sources) this.sources.set(s.name, s);
  }

  get names(): string[] {
    return [...this.sources.keys()];
  }

  source(name: string): ToolSource | undefined {
    return this.sources.get(name);
  }

  /** Forget a source's cached list (it said its tools changed, or it restarted). */
  invalidate(name: string): void {
    this.cache.delete(name);
  }

  /**
   * Whether `tool` is on the source's last known list (for bounded metric labels; never a reason to
   * refuse). A source never listed on this thread is listed in the background, for the next call.
   */
  knows(server: string, tool: string): boolean {
    const cached = this.cache.get(server);
    if (cached === undefined && this.sources.has(server) && !this.pending.has(server)) void this.toolsOf(server).catch(() => {});
    return cached?.names.has(tool) === true;
  }

  /** One source's tools, from the cache while fresh. */
  async toolsOf(name: string): Promise<McpTool[]> {
    const source = this.sources.get(name);
    if (!source) throw new Error(`no tool source named '${name}'`);
    const cached = this.cache.get(name);
    if (cached && Date.now() - cached.at < this.cacheMs) return cached.tools;
    let inFlight = this.pending.get(name);
    if (!inFlight) {
      inFlight = source.listTools().then((tools) => {
        const entry = { tools, names: new Set(tools.map((t) => t.name)), at: Date.now() };
        this.cache.set(name, entry);
        return entry;
      });
      this.pending.set(name, inFlight);
      const clear = () => this.pending.delete(name);
      inFlight.then(clear, clear);
    }
    return (await inFlight).tools;
  }

  /**
   * The tools `access` allows: of one source with plain names (a scoped endpoint), or of every source
   * with `<source>__<tool>` names (the aggregated one).
   */
  async list(access: ToolAccess, scope: string | undefined): Promise<Listing> {
    const names = scope === undefined ? this.names.filter((n) => access.mayUseServer(n)) : [scope];
    const unavailable: SourceFailure[] = [];
    const lists = await Promise.all(
      names.map((name) =>
        this.toolsOf(name).catch((err: unknown) => {
          const error = (err as Error).message ?? String(err);
          log.warn('mcp: listing tools failed', { server: name, error });
          this.onListFailure(name);
          unavailable.push({ server: name, error });
          return [] as McpTool[];
        }),
      ),
    );
    const tools: McpTool[] = [];
    lists.forEach((list, i) => {
      const server = names[i]!;
      for (const tool of list) {
        if (!access.allows(server, tool.name)) continue;
        tools.push(scope === undefined ? { ...tool, name: server + SEPARATOR + tool.name } : tool);
      }
    });
    return { tools, unavailable };
  }

  async close(): Promise<void> {
    await Promise.all([...this.sources.values()].map((s) => s.close().catch(() => {})));
  }
}
