// GET /admin/audit's search, sink-neutral: the parameters validated at the edge, the filter a record
// must pass, the paging cursor, and the summary a list shows instead of the whole record.
import type { AuditRecord } from './audit-record.js';
import { errors } from '../shared/errors.js';

/** `status=`: one HTTP status, a class (4xx), or by outcome: ok, or anything else (error). */
export type StatusFilter = { kind: 'code'; code: number } | { kind: 'class'; from: number; to: number } | { kind: 'ok' } | { kind: 'error' };

/** Where the previous page ended, in the terms of the sink that answered it. */
export type AuditCursor = { sink: 'file'; file: string; offset: number } | { sink: 'postgres'; ts: string; id: string };

export interface AuditSearch {
  /** Key id or name. */
  key?: string;
  /** The model as asked for, or the deployment's (group's) name. */
  model?: string;
  requestId?: string;
  status?: StatusFilter;
  /** Epoch ms: records of requests that arrived at or after it. */
  sinceMs?: number;
  /** Epoch ms: records of requests that arrived before it. */
  untilMs?: number;
  /** Case-insensitive text in a string of the request or response body. */
  text?: string;
  before?: AuditCursor;
  limit: number;
  /** Whole records (bodies included) instead of summaries. */
  full: boolean;
}

/** One page of a search, newest first; `nextBefore` pages on (null: nothing older is left). */
export interface AuditPage {
  records: AuditRecord[];
  nextBefore: AuditCursor | null;
}

export const maxSearchLimit = 1000;
const maxTextLength = 256;
const parameters = new Set(['key', 'model', 'request_id', 'status', 'since', 'until', 'q', 'before', 'limit', 'full']);

function timeParam(name: string, value: string): number {
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) throw errors.invalidParam(name, `'${name}' must be an ISO 8601 time or epoch milliseconds, got '${value}'.`);
  return ms;
}

export function parseStatus(value: string): StatusFilter {
  const lower = value.toLowerCase();
  if (lower === 'ok' || lower === 'error') return { kind: lower };
  if (/^\d{1,3}$/.test(value) && Number(value) <= 599) return { kind: 'code', code: Number(value) };
  const cls = /^([1-5])xx$/.exec(lower);
  if (cls) return { kind: 'class', from: Number(cls[1]) * 100, to: Number(cls[1]) * 100 + 100 };
  throw errors.invalidParam('status', `'status' must be an HTTP status (e.g. 429), a class (4xx), 'ok' or 'error', got '${value}'.`);
}

/** Parses the query of GET /admin/audit; a bad or unknown parameter is a 400 naming it. Empty values count as absent. */
export function parseAuditSearch(query: URLSearchParams): AuditSearch {
  const search: AuditSearch = { limit: 100, full: false };
  const seen = new Set<string>();
  for (const [name, value] of query) {
    if (!parameters.has(name)) throw errors.invalidParam(name, `Unknown parameter '${name}'; use ${[...parameters].join(', ')}.`);
    if (seen.has(name)) throw errors.invalidParam(name, `'${name}' is given more than once.`);
    seen.add(name);
    if (value === '') continue;
    switch (name) {
      case 'key':
        search.key = value;
        break;
      case 'model':
        search.model = value;
        break;
      case 'request_id':
        search.requestId = value;
        break;
      case 'status':
        search.status = parseStatus(value);
        break;
      case 'since':
        search.sinceMs = timeParam('since', value);
        break;
      case 'until':
        search.untilMs = timeParam('until', value);
        break;
      case 'q':
        if (value.length > maxTextLength) throw errors.invalidParam('q', `'q' is at most ${maxTextLength} characters.`);
        search.text = value;
        break;
      case 'before':
        search.before = decodeCursor(value);
        break;
      case 'limit': {
        const n = Number(value);
        if (!/^\d+$/.test(value) || n < 1 || n > maxSearchLimit) throw errors.invalidParam('limit', `'limit' must be an integer from 1 to ${maxSearchLimit}.`);
        search.limit = n;
        break;
      }
      case 'full':
        if (value !== 'true' && value !== 'false') throw errors.invalidParam('full', `'full' must be true or false.`);
        search.full = value === 'true';
        break;
    }
  }
  if (search.sinceMs !== undefined && search.untilMs !== undefined && search.untilMs < search.sinceMs) {
    throw errors.invalidParam('until', `'until' is before 'since'.`);
  }
  return search;
}

export function encodeCursor(cursor: AuditCursor): string {
  const packed = cursor.sink === 'file' ? { s: 'file', f: cursor.file, o: cursor.offset } : { s: 'postgres', t: cursor.ts, i: cursor.id };
  return Buffer.from(JSON.stringify(packed)).toString('base64url');
}

const invalidCursor = () => errors.invalidParam('before', `'before' must be a next_before value from an earlier answer.`);
const fileName = /^audit-[0-9TZ]+-\d+\.jsonl$/;
const pgTimestamp = /^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d{1,6})?([+-]\d\d(:\d\d)?|Z)?$/;

export function decodeCursor(text: string): AuditCursor {
  let packed: unknown;
  try {
    packed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  if (packed === null || typeof packed !== 'object') throw invalidCursor();
  const p = packed as Record<string, unknown>;
  if (p.s === 'file' && typeof p.f === 'string' && fileName.test(p.f) && Number.isSafeInteger(p.o) && (p.o as number) >= 0) {
    return { sink: 'file', file: p.f, offset: p.o as number };
  }
  if (p.s === 'postgres' && typeof p.t === 'string' && pgTimestamp.test(p.t) && typeof p.i === 'string' && /^\d{1,19}$/.test(p.i)) {
    return { sink: 'postgres', ts: p.t, id: p.i };
  }
  throw invalidCursor();
}

/** Text that every JSON encoder writes as itself (no escapes), so a plain substring test on a line cannot miss it. */
export function isLiteralInJson(text: string): boolean {
  return /^[\x20-\x7e]+$/.test(text) && !/["\\/<>&']/.test(text);
}

/** A case-insensitive literal matcher (ASCII letters fold; JavaScript's non-Unicode case folding for the rest). */
export function textPattern(text: string): RegExp {
  return new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i');
}

function anyString(value: unknown, pattern: RegExp): boolean {
  if (typeof value === 'string') return pattern.test(value);
  if (Array.isArray(value)) return value.some((v) => anyString(v, pattern));
  if (value !== null && typeof value === 'object') return Object.values(value).some((v) => anyString(v, pattern));
  return false;
}

/** Whether a string value of the record's bodies (request, response, an MCP call's result excerpt) holds the text. */
export function bodiesContain(record: AuditRecord, pattern: RegExp): boolean {
  const mcp = (record as { mcp?: { result_excerpt?: unknown } }).mcp;
  return anyString(record.request_body, pattern) || anyString(record.response_body, pattern) || anyString(mcp?.result_excerpt, pattern);
}

export function statusMatches(record: Pick<AuditRecord, 'status' | 'outcome'>, filter: StatusFilter): boolean {
  switch (filter.kind) {
    case 'code':
      return record.status === filter.code;
    case 'class':
      return record.status >= filter.from && record.status < filter.to;
    case 'ok':
      return record.outcome === 'ok';
    case 'error':
      return record.outcome !== 'ok';
  }
}

/** Every filter of `search` but the cursor (which a sink applies by where it reads). */
export function matchesSearch(record: AuditRecord, search: AuditSearch, pattern = search.text === undefined ? undefined : textPattern(search.text)): boolean {
  if (search.key !== undefined && (record.key === null || (record.key.id !== search.key && record.key.name !== search.key))) return false;
  if (search.model !== undefined && record.model !== search.model && record.deployment?.name !== search.model) return false;
  if (search.requestId !== undefined && record.request_id !== search.requestId) return false;
  if (search.status !== undefined && !statusMatches(record, search.status)) return false;
  if (search.sinceMs !== undefined || search.untilMs !== undefined) {
    const at = Date.parse(record.time);
    if (search.sinceMs !== undefined && !(at >= search.sinceMs)) return false;
    if (search.untilMs !== undefined && !(at < search.untilMs)) return false;
  }
  if (pattern !== undefined && !bodiesContain(record, pattern)) return false;
  return true;
}

/** What a list shows of one record: who, what, how it went; never the bodies. */
export interface AuditSummary {
  id: string;
  time: string;
  request_id: string;
  trace_id: string | null;
  key: { id: string; name: string } | null;
  model: string;
  /** The deployment that answered (its id), null when the request was refused before routing. */
  deployment: string | null;
  provider: string | null;
  operation: string;
  stream: boolean;
  status: number;
  outcome: string;
  error_code: string | null;
  duration_ms: number | null;
  ttft_ms: number | null;
  tokens: { prompt: number; completion: number; total: number } | null;
  cost_usd: number | null;
  attempts: number;
  /** The guards' verdicts without their details. */
  guards: Array<{ guard: string; action: string }>;
  /** Whether the record holds the bodies (GET /admin/audit/:id shows them). */
  bodies: boolean;
}

export function summarize(r: AuditRecord): AuditSummary {
  const usage = r.usage;
  return {
    id: r.record_id,
    time: r.time,
    request_id: r.request_id,
    trace_id: r.trace_id ?? null,
    key: r.key,
    model: r.model,
    deployment: r.deployment ? (r.deployment.id ?? r.deployment.name) : null,
    provider: r.deployment?.provider ?? null,
    operation: r.operation,
    stream: r.stream,
    status: r.status,
    outcome: r.outcome,
    error_code: r.error?.code ?? null,
    duration_ms: r.duration_ms,
    ttft_ms: r.ttft_ms,
    tokens: usage ? { prompt: usage.prompt_tokens, completion: usage.completion_tokens, total: usage.total_tokens } : null,
    cost_usd: r.cost_usd,
    attempts: r.attempts,
    guards: (r.guard_verdicts ?? []).map((v) => ({ guard: v.guard, action: v.action })),
    bodies: r.bodies,
  };
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A record id (record_id) as GET /admin/audit/:id takes it; a 400 naming `id` otherwise. */
export function parseRecordId(id: string): string {
  if (!uuid.test(id)) throw errors.invalidParam('id', `An audit record id is a UUID (the 'id' of a GET /admin/audit entry), got '${id.slice(0, 80)}'.`);
  return id.toLowerCase();
}
