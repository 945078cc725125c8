// One audit record: who asked what, what answered, every attempt, guard verdicts, trace id and both bodies.
import { get, seg } from '../api';
import { deploymentLabel, keyLabel, statusTone, tokensOf, costOfRecord } from '../audit-fields';
import { CopyButton } from '../components/copy';
import { Badge, ErrorBanner, isNotFound, Loading } from '../components/status';
import { fmtCount, fmtMs, fmtTime, fmtUsd, pretty } from '../format';
import { useResource, useTitle } from '../hooks';
import type { AuditRecord } from '../types';

function Body({ title, value, id }: { title: string; value: unknown; id: string }) {
  const text = typeof value === 'string' ? value : pretty(value);
  return (
    <section class="body-block" aria-labelledby={`${id}-title`}>
      <div class="block-head">
        <h2 id={`${id}-title`}>{title}</h2>
        {value !== null && value !== undefined && <CopyButton text={text} what={title} />}
      </div>
      {value === null || value === undefined ? (
        <p class="muted">Not recorded.</p>
      ) : (
        <pre class="code-block" id={id} tabIndex={0}>
          {text}
        </pre>
      )}
    </section>
  );
}

export function AuditRecordPage({ params }: { params: Record<string, string> }) {
  const id = params.id ?? '';
  useTitle(`Audit record ${id}`);
  const record = useResource((signal) => get<AuditRecord>(`/admin/audit/${seg(id)}`, signal), [id]);
  const r = record.data;
  return (
    <section>
      <p>
        <a href="/ui/audit">← Audit</a>
      </p>
      <h1 id="page-title" tabIndex={-1}>
        Audit record
      </h1>
      {isNotFound(record.error) ? <ErrorBanner error={`No audit record with id '${id}' (it may have been rotated away).`} /> : <ErrorBanner error={record.error} />}
      {record.loading && !r && <Loading what="Loading record" />}
      {r && (
        <>
          <dl class="facts" id="audit-facts">
            <dt>Time</dt>
            <dd>{fmtTime(r.time)}</dd>
            <dt>Status</dt>
            <dd>
              <Badge tone={statusTone(r.status)}>{r.status}</Badge> {r.outcome}
            </dd>
            <dt>Key</dt>
            <dd>{keyLabel(r)}</dd>
            <dt>Model</dt>
            <dd>{r.model}</dd>
            <dt>Deployment</dt>
            <dd>
              <code>{deploymentLabel(r)}</code>
            </dd>
            <dt>Endpoint</dt>
            <dd>
              {r.path ?? '–'} {r.client_dialect && <span class="muted">({r.client_dialect}{r.stream ? ', stream' : ''})</span>}
            </dd>
            <dt>TTFT / duration</dt>
            <dd>
              {fmtMs(r.ttft_ms)} / {fmtMs(r.duration_ms)}
            </dd>
            <dt>Tokens</dt>
            <dd>{fmtCount(tokensOf(r))}</dd>
            <dt>Cost</dt>
            <dd>{fmtUsd(costOfRecord(r))}</dd>
            <dt>Request id</dt>
            <dd>
              <code>{r.request_id ?? '–'}</code>
            </dd>
            <dt>Trace id</dt>
            <dd>
              <code id="audit-trace-id">{r.trace_id ?? '–'}</code>
            </dd>
          </dl>
          {r.error && (
            <div class="banner error">
              <strong>{r.error.message}</strong> <code>{r.error.type}</code> {r.error.code && <code>{r.error.code}</code>}
            </div>
          )}
          <h2>Attempts</h2>
          {r.attempt_log && r.attempt_log.length > 0 ? (
            <div class="table-wrap">
              <table id="audit-attempts">
                <thead>
                  <tr>
                    <th scope="col">#</th>
                    <th scope="col">Deployment</th>
                    <th scope="col">Upstream model</th>
                    <th scope="col">Status</th>
                    <th scope="col">Outcome</th>
                    <th scope="col">Started</th>
                    <th scope="col" class="num">
                      Duration
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {r.attempt_log.map((a, i) => (
                    <tr>
                      <td>{i + 1}</td>
                      <td>
                        <code>{a.deployment}</code>
                      </td>
                      <td>{a.model}</td>
                      <td>
                        <Badge tone={statusTone(a.status)}>{a.status}</Badge>
                      </td>
                      <td>
                        {a.outcome}
                        {a.error && <div class="small muted">{a.error}</div>}
                      </td>
                      <td>{fmtTime(a.started_at)}</td>
                      <td class="num">{fmtMs(a.duration_ms)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : (
            <p class="muted">No attempts recorded (refused before routing).</p>
          )}
          <h2>Guard verdicts</h2>
          {r.guard_verdicts && r.guard_verdicts.length > 0 ? (
            <pre class="code-block" tabIndex={0}>
              {pretty(r.guard_verdicts)}
            </pre>
          ) : (
            <p class="muted">No guard acted on this request.</p>
          )}
          {r.bodies === false && <p class="banner info">Bodies are not recorded for this key or model (audit.bodies settings).</p>}
          <div class="bodies">
            <Body title="Request body" value={r.request_body} id="audit-request-body" />
            <Body title="Response body" value={r.response_body} id="audit-response-body" />
          </div>
        </>
      )}
    </section>
  );
}
