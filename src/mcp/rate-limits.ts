// MCP rate limits per key, server and tool, counted by the limits feature's own limiter code
// (admitInTable/settleInTable over a SharedCounterTable) in a table of their own, shared by every
// server thread. A subject (one limit, and one key for `per: key`) gets its row on first use: a
// directory beside the table maps a hash of the subject to its row, claimed under the table's lock.
import { hash } from 'node:crypto';
import { admitInTable, settleInTable, type Charge, type Refusal, type Subject } from '../limits/limiter.js';
import { RowStatus, SharedCounterTable, Slot } from '../limits/shared-table.js';
import { formatDuration } from '../limits/windows.js';
import { log } from '../shared/log.js';
import { KeyPatterns, ToolPatterns, type CallerKey } from './acl.js';
import type { McpRateLimit } from './config.js';

/** Crosses to every server thread: both buffers are shared, not copied. */
export interface McpLimitMemory {
  table: SharedArrayBuffer;
  /** Float64 per row: 0 free, else the hash of the subject holding it. */
  directory: SharedArrayBuffer;
}

export function createLimitMemory(rows: number): McpLimitMemory {
  return { table: new SharedCounterTable(rows).buffer, directory: new SharedArrayBuffer(rows * 8) };
}

interface CompiledLimit {
  config: McpRateLimit;
  tools: ToolPatterns;
  keys: KeyPatterns;
}

export type LimitDecision = { ok: true; charge: Charge | undefined } | { ok: false; refusal: Refusal; message: string };

const kindText: Record<string, string> = { rpm: 'calls per minute', rpd: 'calls per day', max_concurrent: 'concurrent calls' };

/** A 52-bit number naming a subject; 0 is reserved for a free row. */
function subjectHash(id: string): number {
  return parseInt(hash('sha1', id, 'hex').slice(0, 13), 16) + 1;
}

export class McpRateLimiter {
  private readonly table: SharedCounterTable;
  private readonly directory: Float64Array;
  private readonly limits: CompiledLimit[];
  private readonly rows = new Map<string, number>();
  private warnedFull = false;

  constructor(memory: McpLimitMemory, limits: readonly McpRateLimit[]) {
    this.table = new SharedCounterTable(memory.table);
    this.directory = new Float64Array(memory.directory);
    this.limits = limits.map((config) => ({ config, tools: new ToolPatterns(config.tools), keys: new KeyPatterns(config.keys) }));
  }

  /** Charges one call against every limit that covers it, all or none. */
  admit(key: CallerKey | null, server: string, tool: string): LimitDecision {
    const subjects: Subject[] = [];
    for (const limit of this.limits) {
      if (!limit.tools.empty && !limit.tools.matches(server, tool)) continue;
      if (!limit.keys.empty && !limit.keys.matches(key)) continue;
      const perKey = limit.config.per === 'key';
      const id = perKey ? `${limit.config.name}\u0000${key?.id ?? ''}` : limit.config.name;
      const row = this.rowFor(id, limit.config);
      if (row === undefined) continue;
      const label = perKey && key ? `MCP limit '${limit.config.name}' for key '${key.name}'` : `MCP limit '${limit.config.name}'`;
      subjects.push({ row, id, label, isKey: false });
    }
    if (subjects.length === 0) return { ok: true, charge: undefined };
    const now = Date.now();
    const admission = admitInTable(this.table, subjects, 0, now);
    if (admission.ok) return { ok: true, charge: admission.charge };
    const refusal = admission.refusal!;
    const message =
      `Rate limit reached for ${refusal.subject.label} on ${kindText[refusal.kind] ?? refusal.kind}: limit ${refusal.limit}. ` +
      `Try again in ${formatDuration(refusal.retryAfterMs)}.`;
    return { ok: false, refusal, message };
  }

  /** The call ended: releases its concurrency slot. */
  settle(charge: Charge | undefined): void {
    if (charge) settleInTable(this.table, charge, { promptTokens: 0, completionTokens: 0, costUsd: 0 }, Date.now());
  }

  /** The subject's row, claimed on first use by whichever thread sees it first. Undefined when the table is full. */
  private rowFor(id: string, limit: McpRateLimit): number | undefined {
    const known = this.rows.get(id);
    if (known !== undefined) return known;
    const h = subjectHash(id);
    const size = this.directory.length;
    const t = this.table;
    let row: number | undefined;
    t.lock();
    try {
      for (let probe = 0; probe < size; probe++) {
        const i = (h + probe) % size;
        const holder = this.directory[i]!;
        if (holder === h) {
          row = i + 1;
          break;
        }
        if (holder !== 0) continue;
        this.directory[i] = h;
        row = i + 1;
        t.resetRow(row);
        t.set(row, Slot.rpm, limit.rpm ?? -1);
        t.set(row, Slot.rpd, limit.rpd ?? -1);
        t.set(row, Slot.maxConcurrent, limit.max_concurrent ?? -1);
        t.setStatus(row, RowStatus.active);
        break;
      }
    } finally {
      t.unlock();
    }
    if (row === undefined) {
      if (!this.warnedFull) log.error('mcp: the rate limit table is full; new subjects are not limited (raise mcp.rate_limit_rows)', {});
      this.warnedFull = true;
      return undefined;
    }
    if (this.rows.size > 100_000) this.rows.clear();
    this.rows.set(id, row);
    return row;
  }
}
