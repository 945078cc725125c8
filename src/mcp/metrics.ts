// switchyard_mcp_* metrics of one server thread, in the observability feature's metric families (the
// main thread aggregates them with every other family). Labels stay bounded: methods from a fixed
// list, servers from the config, tools only as named by a server's own list and at most maxTools of them.
import { CounterFamily, HistogramFamily, type CounterCell, type HistogramCell, type MetricJson } from '../observability/metric-families.js';
import type { CallOutcome } from './audit.js';

const durationBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const knownMethods = new Set(['initialize', 'ping', 'tools/list', 'tools/call', 'notification', 'response', 'invalid']);
/** Distinct tool labels per thread; calls of further tools count under `_other`. */
const maxTools = 500;
export const otherLabel = '_other';

export class McpMetrics {
  private readonly messages = new CounterFamily('switchyard_mcp_messages_total', 'JSON-RPC messages received on /mcp, by method and whether they were answered with an error.');
  private readonly calls = new CounterFamily('switchyard_mcp_tool_calls_total', 'tools/call requests, by server, tool and outcome.');
  private readonly duration = new HistogramFamily('switchyard_mcp_tool_call_duration_seconds', 'Time from a tools/call received to its answer, by server.', durationBuckets);
  private readonly upstreamDuration = new HistogramFamily('switchyard_mcp_upstream_duration_seconds', 'Time the upstream took to answer a tools/call, by server.', durationBuckets);
  private readonly listFailures = new CounterFamily('switchyard_mcp_list_failures_total', 'tools/list requests to an upstream that failed, by server.');
  private readonly toolNames = new Set<string>();
  private readonly callCells = new Map<string, CounterCell>();
  private readonly durationCells = new Map<string, HistogramCell>();

  constructor(private readonly servers: ReadonlySet<string>) {}

  private server(name: string): string {
    return this.servers.has(name) ? name : otherLabel;
  }

  message(method: string, error: boolean): void {
    const m = knownMethods.has(method) ? method : method.startsWith('notifications/') ? 'notification' : otherLabel;
    const e = error ? 'true' : 'false';
    this.messages.cell(`${m}\u0001${e}`, () => ({ method: m, error: e })).value++;
  }

  /** `listed`: the tool is on its server's list (only then is its name a label). */
  toolCall(serverName: string, toolName: string, listed: boolean, outcome: CallOutcome, durationMs: number, upstreamMs: number | undefined): void {
    const server = this.server(serverName);
    let tool = otherLabel;
    if (listed && server !== otherLabel) {
      const full = `${server}\u0001${toolName}`;
      if (this.toolNames.has(full) || this.toolNames.size < maxTools) {
        this.toolNames.add(full);
        tool = toolName;
      }
    }
    const key = `${server}\u0001${tool}\u0001${outcome}`;
    let cell = this.callCells.get(key);
    if (cell === undefined) {
      cell = this.calls.cell(key, () => ({ server, tool, outcome }));
      this.callCells.set(key, cell);
    }
    cell.value++;
    let histogram = this.durationCells.get(server);
    if (histogram === undefined) {
      histogram = this.duration.cell(server, () => ({ server }));
      this.durationCells.set(server, histogram);
    }
    histogram.observe(durationMs / 1000);
    if (upstreamMs !== undefined) this.upstreamDuration.cell(server, () => ({ server })).observe(upstreamMs / 1000);
  }

  listFailure(serverName: string): void {
    const server = this.server(serverName);
    this.listFailures.cell(server, () => ({ server })).value++;
  }

  toJSON(): MetricJson[] {
    return [this.messages, this.calls, this.duration, this.upstreamDuration, this.listFailures].map((f) => f.toJSON());
  }
}
