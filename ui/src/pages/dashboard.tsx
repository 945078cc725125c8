// Dashboard: traffic, tokens, cost, latency and errors over time from /admin/stats; deployments' health and breakers.
import { useRef, useState } from 'preact/hooks';
import { get, query, type List } from '../api';
import { TimeChart, type ChartSeries } from '../components/chart';
import { Badge, ErrorBanner, Loading, type Tone } from '../components/status';
import { fmtCount, fmtMs, fmtUsd, lastValue, sum } from '../format';
import { useResource, useTitle } from '../hooks';
import type { KeyView, LiveModel, Series, Stats } from '../types';

const windows = [5, 15, 30, 60];
const topN = 8;

/** How a group's label reads on a chart: a key's name for its id, words for the no-model bucket. */
type Labeller = (label: string) => string;
const modelLabel: Labeller = (m) => (m === '__none__' || m === '' ? '(no model)' : m);

/** The `field` series of each group, largest total first, at most topN. */
function topSeries<F extends string>(groups: Record<string, Record<F, Series>>, field: F, labelOf: Labeller = (l) => l): ChartSeries[] {
  return Object.entries(groups)
    .map(([label, g]) => ({ label: labelOf(label), values: g[field] ?? [] }))
    .sort((a, b) => sum(b.values) - sum(a.values))
    .slice(0, topN);
}

function Tile({ label, value, detail }: { label: string; value: string; detail?: string }) {
  return (
    <div class="tile">
      <span class="tile-label">{label}</span>
      <span class="tile-value">{value}</span>
      {detail && <span class="tile-detail">{detail}</span>}
    </div>
  );
}

const healthTone = (h: string): Tone => (h === 'healthy' ? 'ok' : h === 'unhealthy' ? 'bad' : 'muted');
const breakerTone = (b: string): Tone => (b === 'closed' ? 'ok' : b === 'open' ? 'bad' : 'warn');

function DeploymentsTable({ models }: { models: LiveModel[] }) {
  return (
    <div class="table-wrap">
      <table>
        <caption>Deployments now</caption>
        <thead>
          <tr>
            <th scope="col">Model</th>
            <th scope="col">Deployment</th>
            <th scope="col">Upstream</th>
            <th scope="col">Weight / priority</th>
            <th scope="col">Health</th>
            <th scope="col">Breaker</th>
            <th scope="col">In flight</th>
            <th scope="col">Latency (TTFT / total)</th>
            <th scope="col">Last error</th>
          </tr>
        </thead>
        <tbody>
          {models.flatMap((m) =>
            m.deployments.map((d, i) => (
              <tr>
                {i === 0 && (
                  <th scope="rowgroup" rowSpan={m.deployments.length}>
                    {m.model}
                    <div class="muted small">{m.strategy}</div>
                  </th>
                )}
                <td>
                  <code>{d.id}</code>
                  {!d.in_rotation && <div class="small warn-text">out: {d.out_of_rotation}</div>}
                </td>
                <td>
                  {d.provider} · {d.upstream_model}
                </td>
                <td>
                  {d.weight} / {d.priority}
                </td>
                <td>
                  <Badge tone={healthTone(d.health)}>{d.health}</Badge>
                </td>
                <td>
                  <Badge tone={breakerTone(d.breaker.state)}>{d.breaker.state}</Badge>
                  {d.breaker.consecutive_failures > 0 && <div class="small muted">{d.breaker.consecutive_failures} failures in a row</div>}
                </td>
                <td>{d.in_flight}</td>
                <td>
                  {fmtMs(d.latency_ewma_ms.ttft)} / {fmtMs(d.latency_ewma_ms.duration)}
                </td>
                <td>{d.last_error ? `${d.last_error.status || ''} ${d.last_error.kind} at ${new Date(d.last_error.at).toLocaleTimeString()}` : '–'}</td>
              </tr>
            )),
          )}
        </tbody>
      </table>
    </div>
  );
}

function DeploymentTraffic({ stats }: { stats: Stats }) {
  const rows = Object.entries(stats.by_deployment)
    .map(([id, d]) => ({ id, requests: sum(d.requests), errors: sum(d.errors) }))
    .sort((a, b) => b.requests - a.requests);
  return (
    <div class="table-wrap">
      <table id="deployment-traffic">
        <caption>Traffic by deployment (this window)</caption>
        <thead>
          <tr>
            <th scope="col">Deployment</th>
            <th scope="col">Requests</th>
            <th scope="col">Errors</th>
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 && (
            <tr>
              <td colSpan={3} class="muted">
                No traffic in this window.
              </td>
            </tr>
          )}
          {rows.map((r) => (
            <tr data-deployment={r.id}>
              <th scope="row">
                <code>{r.id}</code>
              </th>
              <td class="num">{fmtCount(r.requests)}</td>
              <td class="num">{fmtCount(r.errors)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function StatsView({ stats, waiting, keyLabel }: { stats: Stats; waiting: { times: number[]; values: Series }; keyLabel: Labeller }) {
  const t = stats.times;
  const requests = sum(stats.totals.requests);
  const errors = sum(stats.totals.errors);
  const tokens = sum(stats.totals.prompt_tokens) + sum(stats.totals.completion_tokens);
  const errorRate: Series = stats.totals.requests.map((r, i) => (r ? ((stats.totals.errors[i] ?? 0) / r) * 100 : null));
  const pct = (n: number | null) => (n === null ? '–' : `${n.toFixed(1)}%`);
  const tokensByModel = topSeries(stats.by_model, 'tokens', modelLabel);
  return (
    <>
      <div class="tiles" aria-label="Totals for this window">
        <Tile label="Requests" value={fmtCount(requests)} detail={`${fmtCount(requests / Math.max(1, t.length * stats.step_seconds))} / s`} />
        <Tile label="Errors" value={fmtCount(errors)} detail={requests ? pct((errors / requests) * 100) : undefined} />
        <Tile label="Tokens" value={fmtCount(tokens)} detail={`${fmtCount(sum(stats.totals.prompt_tokens))} in · ${fmtCount(sum(stats.totals.completion_tokens))} out`} />
        <Tile label="Cost" value={fmtUsd(sum(stats.totals.cost_usd))} />
        <Tile label="In flight" value={fmtCount(stats.now.in_flight)} />
        <Tile label="Waiting for first token" value={fmtCount(stats.now.waiting_first_token)} />
        <Tile label="Rate-limited" value={fmtCount(sum(stats.totals.rate_limited))} />
        <Tile label="Guard actions" value={fmtCount(sum(stats.totals.guard_actions))} />
      </div>
      <div class="charts">
        <TimeChart title="Requests by model" times={t} series={topSeries(stats.by_model, 'requests', modelLabel)} format={fmtCount} summary={`${fmtCount(requests)} requests in this window.`} />
        <TimeChart title="Requests by key" times={t} series={topSeries(stats.by_key, 'requests', keyLabel)} format={fmtCount} />
        <TimeChart title="Tokens by model" times={t} series={tokensByModel} format={fmtCount} summary={`${fmtCount(tokens)} tokens in this window.`} />
        <TimeChart title="Tokens by key" times={t} series={topSeries(stats.by_key, 'tokens', keyLabel)} format={fmtCount} />
        <TimeChart title="Cost by model (USD)" times={t} series={topSeries(stats.by_model, 'cost_usd', modelLabel)} format={fmtUsd} />
        <TimeChart title="Cost by key (USD)" times={t} series={topSeries(stats.by_key, 'cost_usd', keyLabel)} format={fmtUsd} summary={`${fmtUsd(sum(stats.totals.cost_usd))} in this window.`} />
        <TimeChart
          title="Time to first token"
          times={t}
          series={[
            { label: 'p50', values: stats.latency.ttft_ms_p50 },
            { label: 'p99', values: stats.latency.ttft_ms_p99 },
          ]}
          format={fmtMs}
          summary={`Latest p50 ${fmtMs(lastValue(stats.latency.ttft_ms_p50))}, p99 ${fmtMs(lastValue(stats.latency.ttft_ms_p99))}.`}
        />
        <TimeChart
          title="Duration"
          times={t}
          series={[
            { label: 'p50', values: stats.latency.duration_ms_p50 },
            { label: 'p99', values: stats.latency.duration_ms_p99 },
          ]}
          format={fmtMs}
          summary={`Latest p50 ${fmtMs(lastValue(stats.latency.duration_ms_p50))}, p99 ${fmtMs(lastValue(stats.latency.duration_ms_p99))}.`}
        />
        <TimeChart
          title="Errors"
          times={t}
          series={[
            { label: 'errors', values: stats.totals.errors },
            { label: 'error rate %', values: errorRate },
          ]}
          format={fmtCount}
        />
        <TimeChart
          title="Rate-limit rejections and guard actions"
          times={t}
          series={[
            { label: 'rate-limited', values: stats.totals.rate_limited },
            { label: 'guard actions', values: stats.totals.guard_actions },
          ]}
          format={fmtCount}
        />
        <TimeChart title="Requests waiting for a first token (seen by this page)" times={waiting.times} series={[{ label: 'waiting', values: waiting.values }]} format={fmtCount} />
        <TimeChart title="Requests by deployment" times={t} series={topSeries(stats.by_deployment, 'requests')} format={fmtCount} />
      </div>
      <DeploymentTraffic stats={stats} />
    </>
  );
}

export function DashboardPage() {
  useTitle('Dashboard');
  const [minutes, setMinutes] = useState(15);
  const [auto, setAuto] = useState(true);
  const [stepMs, setStepMs] = useState(10_000);
  // The gauge of requests waiting for a first token has no history on the server: sampled at each refresh.
  const waiting = useRef<{ times: number[]; values: Series }>({ times: [], values: [] });
  const stats = useResource(
    async (signal) => {
      const s = await get<Stats>(`/admin/stats${query({ minutes })}`, signal);
      const step = Math.min(10_000, Math.max(1000, s.step_seconds * 1000));
      if (step !== stepMs) setStepMs(step);
      const w = waiting.current;
      w.times.push(Date.now() / 1000);
      w.values.push(s.now.waiting_first_token);
      while (w.times.length > 0 && w.times[0]! < Date.now() / 1000 - minutes * 60) {
        w.times.shift();
        w.values.shift();
      }
      return s;
    },
    [minutes],
    auto ? stepMs : undefined,
  );
  const deployments = useResource((signal) => get<{ models: LiveModel[] }>('/admin/deployments', signal), [], auto ? stepMs : undefined);
  // Stats name keys by id; the chart legends read better with names.
  const keys = useResource((signal) => get<List<KeyView>>('/admin/keys', signal).catch(() => ({ data: [] as KeyView[] })), []);
  const names = new Map((keys.data?.data ?? []).map((k) => [k.id, k.name]));
  const keyLabel: Labeller = (id) => (names.has(id) ? `${names.get(id)}` : id);
  return (
    <section>
      <div class="page-head">
        <h1 id="page-title" tabIndex={-1}>
          Dashboard
        </h1>
        <div class="toolbar">
          <label for="dash-window">Window</label>
          <select id="dash-window" value={String(minutes)} onChange={(e) => setMinutes(Number(e.currentTarget.value))}>
            {windows.map((m) => (
              <option value={String(m)}>last {m} min</option>
            ))}
          </select>
          <label class="inline-check">
            <input type="checkbox" checked={auto} onChange={(e) => setAuto(e.currentTarget.checked)} /> Auto-refresh
          </label>
          <button
            type="button"
            onClick={() => {
              stats.reload();
              deployments.reload();
            }}
          >
            Refresh
          </button>
        </div>
      </div>
      <ErrorBanner error={stats.error} />
      {stats.data ? <StatsView stats={stats.data} waiting={waiting.current} keyLabel={keyLabel} /> : !stats.error && <Loading what="Loading stats" />}
      <h2>Deployments</h2>
      <ErrorBanner error={deployments.error} />
      {deployments.data ? <DeploymentsTable models={deployments.data.models} /> : !deployments.error && <Loading what="Loading deployments" />}
    </section>
  );
}
