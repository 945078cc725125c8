// Standalone simulator: node dist/src/simulator/main.js --port 9000 [--host ...] [--ttft-ms ...] ...
import { parseArgs } from 'node:util';
import type { SimulatorOptions } from './options.js';
import { startSimulator } from './server.js';

/** CLI flag → option; all numeric except host. */
const flags: ReadonlyArray<[string, keyof SimulatorOptions]> = [
  ['port', 'port'],
  ['host', 'host'],
  ['ttft-ms', 'ttft_ms'],
  ['tokens-per-second', 'tokens_per_second'],
  ['chunk-tokens', 'chunk_tokens'],
  ['completion-tokens', 'completion_tokens'],
  ['embedding-dims', 'embedding_dims'],
  ['keep-requests', 'keep_requests'],
];

function optionsFromArgs(args: string[]): Partial<SimulatorOptions> {
  const { values } = parseArgs({
    args,
    options: Object.fromEntries(flags.map(([flag]) => [flag, { type: 'string' as const }])),
    strict: true,
  });
  const options: Record<string, string | number> = {};
  for (const [flag, key] of flags) {
    const raw = values[flag];
    if (typeof raw !== 'string') continue;
    const value = key === 'host' ? raw : Number(raw);
    if (typeof value === 'number' && (raw.trim() === '' || !Number.isFinite(value))) throw new Error(`--${flag} must be a number, got '${raw}'.`);
    options[key] = value;
  }
  return options as Partial<SimulatorOptions>;
}

async function main(): Promise<void> {
  const options = optionsFromArgs(process.argv.slice(2));
  const simulator = await startSimulator(options);
  process.stdout.write(`Switchyard simulator listening on http://${options.host ?? '127.0.0.1'}:${simulator.port}\n`);
  const shutdown = (): void => {
    void simulator.close().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((err: unknown) => {
  process.stderr.write(`simulator: ${(err as Error).message}\n`);
  process.exit(1);
});
