// The SQL of an audit search on the PostgreSQL sink's table: only the conditions a search names, each
// on an indexed column where one exists, newest first by (ts, id), paged by a keyset cursor.
import type { AuditSearch } from './audit-search.js';

export interface SqlQuery {
  text: string;
  values: unknown[];
}

/**
 * The jsonpath that finds the text in any string of the bodies (flag "q": the text is literal, not a
 * regex; "i": case-insensitive). jsonpath string literals escape like JSON strings.
 */
export function bodyTextPath(text: string): string {
  return `$.** ? (@ like_regex ${JSON.stringify(text)} flag "iq")`;
}

/** What a page reads: the rows' cursor columns and the record (without its bodies unless the search wants them whole). */
export function searchSql(table: string, search: AuditSearch): SqlQuery {
  const values: unknown[] = [];
  const param = (value: unknown): string => {
    values.push(value);
    return `$${values.length}`;
  };
  const where: string[] = [];
  if (search.key !== undefined) {
    const p = param(search.key);
    where.push(`(key_id = ${p} OR key_name = ${p})`);
  }
  if (search.model !== undefined) {
    const p = param(search.model);
    where.push(`(model = ${p} OR deployment = ${p})`);
  }
  if (search.requestId !== undefined) where.push(`request_id = ${param(search.requestId)}`);
  const status = search.status;
  if (status?.kind === 'code') where.push(`status = ${param(status.code)}`);
  else if (status?.kind === 'class') where.push(`status >= ${param(status.from)} AND status < ${param(status.to)}`);
  else if (status?.kind === 'ok') where.push(`outcome = 'ok'`);
  else if (status?.kind === 'error') where.push(`outcome <> 'ok'`);
  if (search.sinceMs !== undefined) where.push(`ts >= ${param(new Date(search.sinceMs).toISOString())}::timestamptz`);
  if (search.untilMs !== undefined) where.push(`ts < ${param(new Date(search.untilMs).toISOString())}::timestamptz`);
  if (search.text !== undefined) {
    const bodies = `jsonb_build_array(record->'request_body', record->'response_body', record->'mcp'->'result_excerpt')`;
    where.push(`jsonb_path_exists(${bodies}, ${param(bodyTextPath(search.text))}::jsonpath)`);
  }
  if (search.before?.sink === 'postgres') {
    const ts = param(search.before.ts);
    const id = param(search.before.id);
    // Spelled out rather than as a row comparison, so the (ts) index bounds the scan.
    where.push(`ts <= ${ts}::timestamptz AND (ts < ${ts}::timestamptz OR id < ${id}::bigint)`);
  }
  const record = search.full ? 'record' : `record - 'request_body' - 'response_body' - 'attempt_log'`;
  // One row more than the page, to know whether an older page exists.
  const text = `SELECT id::text AS row_id, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS row_ts, ${record} AS record FROM ${table}
    ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY ts DESC, id DESC LIMIT ${param(search.limit + 1)}`;
  return { text, values };
}

export function findSql(table: string, id: string): SqlQuery {
  return { text: `SELECT record FROM ${table} WHERE record_id = $1::uuid`, values: [id] };
}
