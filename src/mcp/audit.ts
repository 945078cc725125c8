// The audit record of one tools/call, in the shape of every other audit record (so the sinks,
// GET /admin/audit and the PostgreSQL columns work unchanged) plus an `mcp` object. Records go to the
// main thread's audit dispatcher in batches, as bytes, like the observability feature's own.
import { randomUUID } from 'node:crypto';
import type { ThreadHost } from '../pipeline/stage.js';
import type { GuardVerdict } from '../pipeline/observations.js';
import type { AuditConfig } from '../observability/config.js';
import { auditMessage, type AuditBatchMessage } from '../observability/audit-channel.js';
import { AuditForwarder } from '../observability/thread-stages.js';
import { SecretRedactor } from '../pipeline/secret-redaction.js';
import type { McpServerConfig } from './config.js';
import type { CallerKey } from './acl.js';
import type { ToolCallResult } from './tool-source.js';

/** How a tools/call ended, as audited and counted. */
export type CallOutcome = 'ok' | 'tool_error' | 'denied' | 'unknown_tool' | 'rate_limited' | 'guard_blocked' | 'upstream_error' | 'invalid_params';

/** Who made a tools/call and where it arrived: shared by the call's context and its audit record. */
export interface CallOrigin {
  requestId: string;
  receivedAtEpochMs: number;
  key: CallerKey | null;
  clientIp: string;
  userAgent: string | undefined;
  path: string;
}

export interface ToolCallRecord extends CallOrigin {
  server: string;
  tool: string;
  arguments: Record<string, unknown> | undefined;
  result: ToolCallResult | undefined;
  outcome: CallOutcome;
  error: { code: number; message: string } | undefined;
  durationMs: number;
  upstreamMs: number | undefined;
  requestBytes: number;
  responseBytes: number;
  verdicts: GuardVerdict[];
}

/** The result as text, cut to `chars`: the text blocks, else the structured content, else a note of what it held. */
export function resultExcerpt(result: ToolCallResult | undefined, chars: number): string | null {
  if (result === undefined) return null;
  const parts: string[] = [];
  for (const c of result.content ?? []) parts.push(c.type === 'text' ? c.text : `[${c.type}]`);
  let text = parts.join('\n');
  if (text === '' && result.structuredContent !== undefined) text = JSON.stringify(result.structuredContent);
  return text.length > chars ? `${text.slice(0, chars)}…` : text;
}

const secretName = /auth|key|token|secret|passw|credential|signature|cookie/i;

/** The credentials the config gives upstream servers: credential-named header and environment values, and their token alone. */
export function gatewaySecrets(servers: readonly McpServerConfig[]): string[] {
  const found: string[] = [];
  for (const s of servers) {
    for (const [name, value] of [...Object.entries(s.headers), ...Object.entries(s.env)]) {
      if (!secretName.test(name)) continue;
      found.push(value);
      const token = /^[A-Za-z]+\s+(\S+)$/.exec(value);
      if (token) found.push(token[1]!);
    }
  }
  return found;
}

export class McpAudit {
  private readonly forwarder: AuditForwarder;
  private readonly offKeys: ReadonlySet<string>;

  private readonly redactor: SecretRedactor;

  constructor(
    host: ThreadHost,
    private readonly config: AuditConfig,
    private readonly resultChars: number,
    secrets: readonly string[],
  ) {
    this.redactor = new SecretRedactor(secrets);
    // A batch of its own bytes, never a slot: the slots belong to the observability feature's sender.
    const send = (writer: AuditForwarder['writer']) => {
      const { count, bytes } = writer.takeView();
      const data = new Uint8Array(bytes);
      const message: AuditBatchMessage = { count, data };
      host.send(auditMessage, message, [data.buffer as ArrayBuffer]);
    };
    this.forwarder = new AuditForwarder(send, Math.min(10, config.sinks.file.fsync_ms));
    this.offKeys = new Set(config.bodies_off_keys);
  }

  record(r: ToolCallRecord): void {
    const bodies = this.config.bodies && !(r.key && (this.offKeys.has(r.key.id) || this.offKeys.has(r.key.name)));
    const name = `${r.server}__${r.tool}`;
    const record = {
      v: 1,
      record_id: randomUUID(),
      time: new Date(r.receivedAtEpochMs).toISOString(),
      request_id: r.requestId,
      key: r.key ? { id: r.key.id, name: r.key.name } : null,
      client_ip: r.clientIp,
      user_agent: r.userAgent ?? null,
      method: 'POST',
      path: r.path,
      operation: 'mcp.tools_call',
      model: name,
      deployment: null,
      response_model: null,
      stream: false,
      attempts: r.upstreamMs === undefined ? 0 : 1,
      status: 200,
      outcome: r.outcome,
      error: r.error ? { type: 'mcp_error', code: String(r.error.code), message: r.error.message } : null,
      ttft_ms: null,
      duration_ms: r.durationMs,
      upstream_ms: r.upstreamMs ?? null,
      usage: null,
      cost_usd: null,
      client_dialect: 'mcp',
      provider_type: 'mcp',
      guard_verdicts: r.verdicts,
      bodies,
      request_body: bodies ? { name, arguments: r.arguments ?? {} } : null,
      response_body: null,
      mcp: {
        server: r.server,
        tool: r.tool,
        is_error: r.result?.isError === true,
        arguments: bodies ? (r.arguments ?? {}) : null,
        result_excerpt: bodies ? resultExcerpt(r.result, this.resultChars) : null,
        request_bytes: r.requestBytes,
        response_bytes: r.responseBytes,
      },
    };
    // A tool may quote the gateway's own credential back (or a caller may paste a key into arguments).
    this.forwarder.writer.text(this.redactor.redact(JSON.stringify(record)));
    this.forwarder.writer.endLine();
    this.forwarder.written();
  }

  close(): void {
    this.forwarder.flush();
  }
}
