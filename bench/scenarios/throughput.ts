// (a) Concurrency sweep of non-stream chat completions against every target.
import type { LoadResult, LoadTool } from '../lib/load.js';
import { runLoad } from '../lib/load.js';
import type { Target } from '../lib/targets.js';
import { chatBody, chatPath, clientHeaders } from './requests.js';

export interface SweepCell extends LoadResult {
  target: string;
}

export interface SweepOptions {
  concurrencies: readonly number[];
  durationS: number;
  warmupS: number;
  tool: LoadTool;
  scriptDir: string;
  log(line: string): void;
}

/** For each concurrency, every target in turn, so the rows compared sit close together in time. */
export async function runSweep(targets: readonly Target[], opts: SweepOptions): Promise<SweepCell[]> {
  const cells: SweepCell[] = [];
  for (const connections of opts.concurrencies) {
    for (const target of targets) {
      const spec = { port: target.port, path: chatPath, body: chatBody, headers: clientHeaders, connections };
      if (opts.warmupS > 0) await runLoad(opts.tool, { ...spec, durationS: opts.warmupS }, opts.scriptDir);
      const result = await runLoad(opts.tool, { ...spec, durationS: opts.durationS }, opts.scriptDir);
      cells.push({ target: target.name, ...result });
      const flag = result.errors + result.non2xx > 0 ? `  !! errors=${result.errors} non2xx=${result.non2xx}` : '';
      opts.log(`  ${opts.tool} c=${connections} ${target.name}: ${result.rps} req/s p50=${result.p50_us}µs p99=${result.p99_us}µs${flag}`);
    }
  }
  return cells;
}
