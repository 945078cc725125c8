// An upstream MCP server as a ToolSource, through the official SDK client: Streamable HTTP (with or
// without sessions; an expired session is re-initialised and the call retried once) or a stdio
// process the gateway launches and restarts with backoff.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { McpError, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { log } from '../shared/log.js';
import type { McpServerConfig } from './config.js';
import { ErrorCode } from './jsonrpc.js';
import { ToolSourceError, type McpTool, type ToolCallResult, type ToolSource } from './tool-source.js';
import { createUpstreamFetch, type UpstreamFetch } from './upstream-fetch.js';

const clientInfo = { name: 'switchyard-mcp-gateway', version: '0.1.0' };
/** Pages of tools/list followed before the list is taken as complete (a server whose cursors never end). */
const maxPages = 100;
/** A process that stayed up this long is healthy again: its next restart starts from the first delay. */
const stableMs = 10_000;

interface Connection {
  client: Client;
  transport: Transport;
}

export class UpstreamServer implements ToolSource {
  readonly name: string;
  private connection: Promise<Connection> | undefined;
  /** What `connection` resolved to, once it has. */
  private current: Connection | undefined;
  /** Every client not yet closed, so close() leaves no stream open behind a dropped one. */
  private readonly clients = new Set<Client>();
  private failures = 0;
  /** While a failed server waits for its next attempt: calls fail at once with the last error. */
  private retryAt = 0;
  private lastError = '';
  private closed = false;
  private restartTimer: NodeJS.Timeout | undefined;
  /** Called when the server says its tool list changed (or it restarted): cached lists are stale. */
  onToolsChanged: () => void = () => {};

  /** Streamable HTTP servers: the connections every client of this server shares. */
  private readonly http: UpstreamFetch | undefined;

  constructor(private readonly config: McpServerConfig) {
    this.name = config.name;
    if (config.url !== undefined) this.http = createUpstreamFetch(new URL(config.url).origin);
  }

  async listTools(signal?: AbortSignal): Promise<McpTool[]> {
    return this.withClient(async (client) => {
      const tools: McpTool[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < maxPages; page++) {
        const result = await client.listTools(cursor === undefined ? {} : { cursor }, this.options(signal));
        for (const t of result.tools) tools.push(t as McpTool);
        cursor = result.nextCursor;
        if (cursor === undefined) break;
      }
      return tools;
    });
  }

  async callTool(name: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<ToolCallResult> {
    return this.withClient(async (client) => {
      const result = await client.callTool({ name, arguments: args }, undefined, this.options(signal));
      return result as ToolCallResult;
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.restartTimer);
    const connection = this.connection;
    this.connection = undefined;
    this.current = undefined;
    await connection?.catch(() => {});
    await Promise.all([...this.clients].map((c) => c.close().catch(() => {})));
    await this.http?.close().catch(() => {});
  }

  private options(signal: AbortSignal | undefined): { signal?: AbortSignal; timeout: number } {
    return signal ? { signal, timeout: this.config.timeout_ms } : { timeout: this.config.timeout_ms };
  }

  /** Runs `work` on a connected client; a session the server no longer knows is re-initialised once. */
  private async withClient<T>(work: (client: Client) => Promise<T>): Promise<T> {
    let connection = await this.connect();
    try {
      return await work(connection.client);
    } catch (err) {
      if (!sessionExpired(err, connection)) throw this.callError(err);
      log.info('mcp: upstream session expired; initialising a new one', { server: this.name });
      this.drop(connection);
      connection = await this.connect();
      try {
        return await work(connection.client);
      } catch (retryErr) {
        throw this.callError(retryErr);
      }
    }
  }

  private connect(): Promise<Connection> {
    if (this.closed) return Promise.reject(new ToolSourceError(`MCP server '${this.name}' is shut down.`, ErrorCode.upstreamUnavailable));
    if (this.connection) return this.connection;
    if (Date.now() < this.retryAt) {
      return Promise.reject(new ToolSourceError(`MCP server '${this.name}' is unavailable: ${this.lastError}`, ErrorCode.upstreamUnavailable));
    }
    const attempt: Promise<Connection> = this.open().then(
      (connection) => {
        this.failures = 0;
        if (this.connection === attempt) this.current = connection;
        return connection;
      },
      (err: unknown) => {
        if (this.connection === attempt) this.connection = undefined;
        this.noteFailure(errorText(err));
        this.scheduleRestart();
        throw new ToolSourceError(`MCP server '${this.name}' is unavailable: ${errorText(err)}`, ErrorCode.upstreamUnavailable);
      },
    );
    this.connection = attempt;
    return attempt;
  }

  /** stdio: starts the process now rather than on the first call. */
  start(): void {
    if (this.config.command !== undefined) void this.connect().catch(() => {});
  }

  private async open(): Promise<Connection> {
    const transport = this.transport();
    const client = new Client(clientInfo, { capabilities: {} });
    this.clients.add(client);
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => this.onToolsChanged());
    const startedAt = Date.now();
    client.onclose = () => this.closedUnderneath(client, startedAt);
    try {
      await client.connect(transport, { timeout: this.config.timeout_ms });
    } catch (err) {
      await client.close().catch(() => {});
      throw err;
    }
    return { client, transport };
  }

  private transport(): Transport {
    const c = this.config;
    if (c.url !== undefined) {
      return new StreamableHTTPClientTransport(new URL(c.url), {
        requestInit: { headers: c.headers, redirect: 'error' },
        fetch: this.http!.fetch,
        // The gateway answers its client per request; a lost notification stream is not worth retrying for long.
        reconnectionOptions: { initialReconnectionDelay: 1000, maxReconnectionDelay: 30_000, reconnectionDelayGrowFactor: 2, maxRetries: 2 },
      });
    }
    return new StdioClientTransport({
      command: c.command!,
      args: c.args,
      env: { ...getDefaultEnvironment(), ...c.env },
      ...(c.cwd !== undefined ? { cwd: c.cwd } : {}),
      stderr: 'ignore',
    });
  }

  /** The connection ended under us (a stdio process exited, a transport closed): reconnect later. */
  private closedUnderneath(client: Client, startedAt: number): void {
    this.clients.delete(client);
    void this.connection?.then((c) => {
      if (c.client !== client) return;
      this.connection = undefined;
      this.current = undefined;
      if (this.closed) return;
      if (Date.now() - startedAt >= stableMs) this.failures = 0;
      this.noteFailure('the connection closed');
      this.onToolsChanged();
      this.scheduleRestart();
    }, () => {});
  }

  /** stdio: a process is brought back when its delay is over, not on the next call, so its tools reappear by themselves. */
  private scheduleRestart(): void {
    if (this.config.command === undefined || this.closed) return;
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => void this.connect().catch(() => {}), Math.max(0, this.retryAt - Date.now()));
    this.restartTimer.unref();
  }

  private noteFailure(message: string): void {
    this.failures++;
    this.lastError = message;
    const delay = Math.min(this.config.restart_delay_ms * 2 ** (this.failures - 1), this.config.max_restart_delay_ms);
    this.retryAt = Date.now() + delay;
    log.warn('mcp: upstream server unavailable', { server: this.name, error: message, retry_in_ms: delay });
  }

  /** Forgets a connection the server no longer honours; a newer one (another caller's reconnect) is kept. */
  private drop(connection: Connection): void {
    if (this.current === connection) {
      this.connection = undefined;
      this.current = undefined;
    }
    void connection.client.close().catch(() => {});
  }

  private callError(err: unknown): ToolSourceError {
    if (err instanceof ToolSourceError) return err;
    if (err instanceof McpError) {
      // The upstream's own JSON-RPC error (unknown tool, bad params) passes through; transport-level ones say where.
      if (err.code === -32001) return new ToolSourceError(`MCP server '${this.name}' did not answer within ${this.config.timeout_ms} ms.`, ErrorCode.upstreamUnavailable);
      if (err.code === -32000) return new ToolSourceError(`MCP server '${this.name}' closed the connection.`, ErrorCode.upstreamUnavailable);
      return new ToolSourceError(err.message.replace(/^MCP error -?\d+: /, ''), err.code);
    }
    return new ToolSourceError(`MCP server '${this.name}' failed: ${errorText(err)}`, ErrorCode.upstreamUnavailable);
  }
}

function sessionExpired(err: unknown, connection: Connection): boolean {
  const transport = connection.transport;
  return err instanceof StreamableHTTPError && err.code === 404 && transport instanceof StreamableHTTPClientTransport && transport.sessionId !== undefined;
}

function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error && cause.message ? `${err.message} (${cause.message})` : err.message;
}
