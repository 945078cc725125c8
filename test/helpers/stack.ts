// A real gateway (server threads) in front of a real in-process simulator, for e2e tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { parseConfig } from '../../src/config/load.js';
import type { SwitchyardConfig } from '../../src/config/types.js';
import { startGateway, type RunningGateway } from '../../src/server/main.js';
import { freePort as freePortOn } from '../../src/shared/free-port.js';
import { setLogLevel } from '../../src/shared/log.js';
import { startSimulator, type RunningSimulator, type SimulatorOptions } from '../../src/simulator/server.js';

// Keep test output to warnings; server threads read the variable when they load the log module.
process.env.SWITCHYARD_LOG_LEVEL ??= 'warn';
setLogLevel(process.env.SWITCHYARD_LOG_LEVEL as 'debug' | 'info' | 'warn' | 'error');

export const upstreamKey = 'sk-upstream-test';
export const clientKey = 'sk-client-test';

export interface StackOptions {
  /** Server threads; default 2. */
  threads?: number;
  simulator?: Partial<SimulatorOptions>;
  /** Provider timeouts (ms). */
  timeouts?: { connect_ms?: number; first_byte_ms?: number; idle_ms?: number; total_ms?: number };
  /** Merged over the generated `server` section. */
  server?: Record<string, unknown>;
  /** Point the provider here instead of the simulator (e.g. a closed port). */
  providerBaseURL?: string;
  /** More providers and models, given the simulator's port (e.g. every provider type, see multiProviders). */
  extra?: (simPort: number) => { providers: Array<Record<string, unknown>>; models: Array<Record<string, unknown>> };
  /** Merged over the config object last (feature sections). */
  config?: Record<string, unknown>;
}

/** One provider of every type, all served by the simulator, and a model on each. */
export function multiProviders(simPort: number): { providers: Array<Record<string, unknown>>; models: Array<Record<string, unknown>> } {
  const origin = `http://127.0.0.1:${simPort}`;
  return {
    providers: [
      { name: 'azure', type: 'azure', base_url: origin, api_key: 'azure-key-test', api_version: '2024-10-21' },
      { name: 'azure-v1', type: 'azure', base_url: origin, api_key: 'azure-key-test', api_version: 'v1' },
      { name: 'deepseek', type: 'deepseek', base_url: `${origin}/v1`, api_key: 'sk-deepseek-test' },
      { name: 'anthropic', type: 'anthropic', base_url: origin, api_key: 'sk-ant-test' },
      { name: 'gemini', type: 'gemini', base_url: origin, api_key: 'gemini-key-test' },
      { name: 'bedrock', type: 'bedrock', base_url: origin, region: 'us-east-1', aws_access_key_id: 'AKIDSIMULATOR', aws_secret_access_key: 'sim-secret' },
    ],
    models: [
      { name: 'azure-gpt', provider: 'azure', model: 'gpt-4o-deployment' },
      { name: 'azure-v1-gpt', provider: 'azure-v1', model: 'gpt-4o' },
      { name: 'deepseek-chat', provider: 'deepseek' },
      { name: 'claude', provider: 'anthropic', model: 'claude-sonnet-4-5' },
      { name: 'gemini', provider: 'gemini', model: 'gemini-2.5-flash' },
      { name: 'gemini-embed', provider: 'gemini', model: 'gemini-embedding-001' },
      { name: 'bedrock-claude', provider: 'bedrock', model: 'anthropic.claude-3-5-sonnet-20240620-v1:0' },
    ],
  };
}

export interface Stack {
  sim: RunningSimulator;
  gateway: RunningGateway;
  config: SwitchyardConfig;
  /** http://127.0.0.1:PORT/v1 of the gateway. */
  baseURL: string;
  /** http://127.0.0.1:PORT/v1 of the simulator, for direct comparisons. */
  simURL: string;
  client: OpenAI;
  stop(): Promise<void>;
}

/** The config object a test stack runs with, before validation fills the defaults. */
export function stackConfigObject(simPort: number, dataDir: string, opts: StackOptions = {}): Record<string, unknown> {
  const extra = opts.extra?.(simPort) ?? { providers: [], models: [] };
  return {
    server: { host: '127.0.0.1', port: 0, ...opts.server },
    admin: { host: '127.0.0.1', port: 0 },
    data_dir: dataDir,
    simulator: { enabled: false },
    providers: [
      {
        name: 'sim',
        type: 'openai',
        base_url: opts.providerBaseURL ?? `http://127.0.0.1:${simPort}/v1`,
        api_key: upstreamKey,
        ...(opts.timeouts ? { timeouts: opts.timeouts } : {}),
      },
      ...extra.providers,
    ],
    models: [
      { name: 'gpt-4o-mini', provider: 'sim' },
      { name: 'gpt-4o', provider: 'sim' },
      { name: 'fast', provider: 'sim', model: 'sim-fast' },
      { name: 'text-embedding-3-small', provider: 'sim' },
      ...extra.models,
    ],
    ...opts.config,
  };
}

/** A port on 127.0.0.1 that nothing holds right now (for tests that need to know a port before listening). */
export function freePort(): Promise<number> {
  return freePortOn('127.0.0.1');
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchyard-test-'));
  const sim = await startSimulator({ ...opts.simulator });
  let gateway: RunningGateway;
  let config: SwitchyardConfig;
  try {
    config = parseConfig(JSON.stringify(stackConfigObject(sim.port, dataDir, opts)), 'test');
    gateway = await startGateway(config, { threads: opts.threads ?? 2 });
  } catch (err) {
    await sim.close();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const baseURL = `http://127.0.0.1:${gateway.port}/v1`;
  let stopping: Promise<void> | undefined;
  return {
    sim,
    gateway,
    config,
    baseURL,
    simURL: `http://127.0.0.1:${sim.port}/v1`,
    client: new OpenAI({ baseURL, apiKey: clientKey, maxRetries: 0 }),
    stop: () =>
      (stopping ??= (async () => {
        try {
          await gateway.stop();
        } finally {
          await sim.close();
          rmSync(dataDir, { recursive: true, force: true });
        }
      })()),
  };
}

/** Reads a chat stream to its end: the chunks that carried content, and the last finish_reason. */
export async function readChatStream(
  stream: AsyncIterable<{ choices: Array<{ delta?: { content?: string | null }; finish_reason?: string | null }> }>,
): Promise<{ chunks: number; finish: string | null | undefined }> {
  let chunks = 0;
  let finish: string | null | undefined;
  for await (const chunk of stream) {
    if (chunk.choices[0]?.delta?.content) chunks++;
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  return { chunks, finish };
}

/** Polls `check` every 10 ms until it returns true or `timeoutMs` passes; returns the last answer. */
export async function waitFor(check: () => boolean, timeoutMs = 3000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return check();
}

/** The error body shape every gateway error has: {"error":{"message","type","param","code"}}. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** Asserts `value` is exactly the OpenAI error shape (all four keys, right types) and returns it typed. */
export function expectErrorShape(value: unknown): OpenAIErrorBody {
  if (!value || typeof value !== 'object' || !('error' in value)) {
    throw new Error(`not an OpenAI error body: ${JSON.stringify(value)}`);
  }
  const error = (value as { error: unknown }).error;
  if (!error || typeof error !== 'object') throw new Error(`"error" is not an object: ${JSON.stringify(value)}`);
  const e = error as Record<string, unknown>;
  const keys = Object.keys(e).sort().join(',');
  if (keys !== 'code,message,param,type') throw new Error(`error keys are ${keys}, want code,message,param,type`);
  if (typeof e.message !== 'string' || e.message === '') throw new Error(`error.message is not a non-empty string: ${JSON.stringify(value)}`);
  if (typeof e.type !== 'string' || e.type === '') throw new Error(`error.type is not a non-empty string: ${JSON.stringify(value)}`);
  if (e.param !== null && typeof e.param !== 'string') throw new Error(`error.param is not string|null: ${JSON.stringify(value)}`);
  if (e.code !== null && typeof e.code !== 'string') throw new Error(`error.code is not string|null: ${JSON.stringify(value)}`);
  return value as OpenAIErrorBody;
}
