#!/usr/bin/env node
// switchyard start | validate — the command-line entry point.
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { ConfigError, defaultConfigPath, loadConfig } from './config/load.js';
import type { SwitchyardConfig } from './config/types.js';
import { log } from './shared/log.js';

const help = `switchyard — an OpenAI-compatible AI gateway

Usage:
  switchyard start [--config FILE] [--no-watch] [--port N] [--threads N|auto]
      Start the gateway. Without --config it uses the embedded default
      (config/switchyard.yaml: port 8080, built-in simulator provider, no Redis or database).
      A --config file is watched: saving it applies the change without a restart
      (so does SIGHUP, also with --no-watch); a file with any problem is rejected
      whole and logged, and the running config keeps serving.
  switchyard validate [FILE]
      Check a config file (default: the embedded one); prints every problem with its path,
      exits 1 if there is any.
  switchyard --help | --version

Options:
  -c, --config FILE   YAML config; \${ENV_VAR} and \${ENV_VAR:-default} are substituted.
      --no-watch      Reload the config file only on SIGHUP, not when it changes.
  -p, --port N        Override server.port.
  -t, --threads N     Override server.threads (a number, or "auto" = one per CPU).
  -h, --help          This text.
  -v, --version       Print the version.

Point any OpenAI SDK at http://HOST:PORT/v1. Admin API and /metrics listen on
admin.host:admin.port (127.0.0.1:8081 by default). Docs: README.md and docs/.`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function applyOverrides(config: SwitchyardConfig, port: string | undefined, threads: string | undefined): void {
  if (port !== undefined) {
    const n = Number(port);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError('--port', [`not a port number: ${port}`]);
    config.server.port = n;
  }
  if (threads !== undefined) {
    const n = Number(threads);
    if (threads !== 'auto' && (!Number.isInteger(n) || n < 1)) throw new ConfigError('--threads', [`must be a positive integer or "auto": ${threads}`]);
    config.server.threads = threads === 'auto' ? 'auto' : n;
  }
}

async function start(configPath: string, watch: boolean, port: string | undefined, threads: string | undefined): Promise<void> {
  const config = loadConfig(configPath);
  applyOverrides(config, port, threads);
  const { startGateway } = await import('./server/main.js');
  // A reload reads the file again and applies the same overrides, so they do not count as changes.
  const gateway = await startGateway(config, { configFile: { path: configPath, watch, adjust: (c) => applyOverrides(c, port, threads) } });
  // The reload logs its own outcome (applied, or rejected with every problem).
  process.on('SIGHUP', () => void gateway.reload().catch((err: unknown) => log.error('config reload failed', { error: (err as Error)?.stack })));
  let signals = 0;
  const shutdown = (signal: string) => {
    signals++;
    if (signals > 1) {
      log.warn('second signal: exiting without waiting for the drain', { signal });
      process.exit(1);
    }
    log.info('draining', { signal, drain_timeout_ms: config.server.drain_timeout_ms });
    gateway.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error('shutdown failed', { error: (err as Error)?.stack });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      'no-watch': { type: 'boolean' },
      port: { type: 'string', short: 'p' },
      threads: { type: 'string', short: 't' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
  if (values.version) {
    console.log(version());
    return 0;
  }
  const [command, file] = positionals;
  if (values.help || command === undefined || command === 'help') {
    console.log(help);
    return values.help || command === 'help' ? 0 : 1;
  }
  if (command === 'validate') {
    const path = file ?? values.config ?? defaultConfigPath;
    const config = loadConfig(path);
    const { createFeatures } = await import('./features.js');
    const problems = createFeatures().flatMap((feature) => feature.validate?.(config) ?? []);
    if (problems.length > 0) throw new ConfigError(path, problems);
    console.log(`${path}: OK (${config.providers.length} providers, ${config.models.length} models)`);
    return 0;
  }
  if (command === 'start') {
    await start(values.config ?? defaultConfigPath, values.config !== undefined && values['no-watch'] !== true, values.port, values.threads);
    return -1;
  }
  console.error(`Unknown command '${command}'.\n\n${help}`);
  return 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError) console.error(err.message);
    else if (err instanceof Error && (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') console.error(`${err.message}\n\n${help}`);
    else console.error(`switchyard: ${(err as Error)?.message ?? String(err)}`);
    // startGateway closed what it had opened; connections features left open must not keep us alive.
    process.exit(1);
  },
);
