// The shipped Grafana dashboard only queries metrics the gateway really exports.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import type { MainHost } from '../../src/pipeline/stage.js';
import { startMainObservability } from '../../src/observability/main-thread.js';
import { ThreadMetrics } from '../../src/observability/metrics.js';

test('every metric in deploy/grafana/switchyard.json is exported', async () => {
  const dashboard = readFileSync(new URL('../../../deploy/grafana/switchyard.json', import.meta.url), 'utf8');
  const used = new Set([...dashboard.matchAll(/\b((?:gen_ai|switchyard)_[a-z_]+)/g)].map((m) => m[1].replace(/_(bucket|sum|count)$/, '')));
  assert.ok(used.size > 10);

  const dataDir = mkdtempSync(join(tmpdir(), 'sy-dash-'));
  try {
    const cfg = parseConfig(`data_dir: ${dataDir}\nproviders: [{name: s, base_url: "http://x"}]\nmodels: [{name: m, provider: s}]\n`, 't.yaml');
    const host: MainHost = { dataDir, broadcast() {}, gather: async () => [], on() {}, addAdminRoute() {} };
    const main = await startMainObservability(cfg, host);
    const thread = new ThreadMetrics(cfg.metrics, 'thread-0');
    const all = [...thread.toJSON(), ...(await main.registry.getMetricsAsJSON())];
    const exported = new Set(all.map((m) => m.name));
    const labelNames = new Set(['gen_ai_token_type', 'gen_ai_request_model', 'gen_ai_response_model', 'gen_ai_operation_name', 'gen_ai_provider_name']);
    thread.close();
    await main.close();
    const missing = [...used].filter((name) => !exported.has(name) && !labelNames.has(name));
    assert.deepEqual(missing, [], 'metrics the dashboard queries but nobody exports');
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
