// The simulator's control paths as the routing bench uses them: the fault script and per-model counts.
import { Pool } from 'undici';

export interface ScriptRule {
  model?: string;
  status?: number;
  times?: number;
}

export class SimControl {
  private readonly pool: Pool;

  constructor(port: number) {
    this.pool = new Pool(`http://127.0.0.1:${port}`, { connections: 1 });
  }

  private async call(method: 'GET' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<unknown> {
    const res = await this.pool.request({
      method,
      path,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`simulator ${method} ${path}: ${res.statusCode} ${text.slice(0, 300)}`);
    return JSON.parse(text) as unknown;
  }

  async script(rules: readonly ScriptRule[]): Promise<void> {
    await this.call('PUT', '/sim/script', { rules });
  }

  async clearScript(): Promise<void> {
    await this.call('DELETE', '/sim/script');
  }

  /** Requests the script's rules have answered (with their error) so far. */
  async scriptApplied(): Promise<number> {
    const state = (await this.call('GET', '/sim/script')) as { rules: Array<{ applied: number }> };
    return state.rules.reduce((n, rule) => n + rule.applied, 0);
  }

  /** Requests the simulator received per model so far. */
  async byModel(): Promise<Record<string, number>> {
    return ((await this.call('GET', '/sim/stats')) as { byModel: Record<string, number> }).byModel;
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
