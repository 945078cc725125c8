// --profile: the gateway under node --cpu-prof, loaded at c=64, then its hottest functions by self time.
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatProfile, summarizeProfile, type ProfileSummary } from './cpuprofile.js';
import { runLoad, type LoadTool } from './load.js';
import { repoRoot, startGateway, startSimulator, type Target } from './targets.js';
import { chatBody, chatPath, clientHeaders, streamBody, burstStreamHeaders } from '../scenarios/requests.js';

export interface ProfileOptions {
  threads: number | 'auto';
  seconds: number;
  connections: number;
  stream: boolean;
  tool: LoadTool;
  featureDefaults: boolean;
  top: number;
  log(line: string): void;
}

export async function runProfile(opts: ProfileOptions): Promise<{ dir: string; profiles: ProfileSummary[] }> {
  const workDir = mkdtempSync(join(tmpdir(), 'switchyard-profile-'));
  const profileDir = join(workDir, 'cpuprofiles');
  const started: Target[] = [];
  try {
    const simulator = await startSimulator();
    started.push(simulator);
    const gateway = await startGateway({
      name: 'gateway-profiled',
      threads: opts.threads,
      simulatorPort: simulator.port,
      workDir,
      featureDefaults: opts.featureDefaults,
      nodeFlags: ['--cpu-prof', '--cpu-prof-dir', profileDir],
    });
    started.push(gateway);
    const spec = {
      port: gateway.port,
      path: chatPath,
      body: opts.stream ? streamBody : chatBody,
      headers: opts.stream ? burstStreamHeaders : clientHeaders,
      connections: opts.connections,
    };
    opts.log(`profiling ${gateway.name} (threads ${opts.threads}) for ${opts.seconds} s at c=${opts.connections}${opts.stream ? ', streams' : ''}`);
    const result = await runLoad(opts.tool, { ...spec, durationS: opts.seconds }, workDir);
    opts.log(`  ${result.rps} req/s p50=${result.p50_us}µs p99=${result.p99_us}µs errors=${result.errors} non2xx=${result.non2xx}`);
    // Profiles are written when each thread exits, so the gateway must drain and stop cleanly.
    const exit = await gateway.child.stop('SIGTERM', 30_000);
    if (exit.code !== 0) opts.log(`  gateway exited with code ${exit.code} signal ${exit.signal}; profiles may be missing`);
  } finally {
    for (const target of started.reverse()) await target.child.stop();
  }
  const files = readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(profileDir, f));
  if (files.length === 0) throw new Error(`no .cpuprofile written in ${profileDir}`);
  // The busiest profile first: with threads=1 that is the server thread, not the mostly idle main thread.
  const profiles = files.map((f) => summarizeProfile(f, repoRoot, opts.top)).sort((a, b) => b.total_ms - b.idle_ms - (a.total_ms - a.idle_ms));
  for (const profile of profiles) opts.log(formatProfile(profile));
  opts.log(`\nProfiles kept in ${profileDir} (open them in Chrome DevTools → Performance, or speedscope).`);
  return { dir: profileDir, profiles };
}
