// Audit: search the request records by key, model, status, time range and text; open one record.
import { useState } from 'preact/hooks';
import { get, query } from '../api';
import { deploymentLabel, keyLabel, recordId, statusTone, tokensOf, costOfRecord } from '../audit-fields';
import { SelectField, TextField } from '../components/field';
import { Badge, ErrorBanner, Loading } from '../components/status';
import { fmtCount, fmtMs, fmtTime, fmtUsd } from '../format';
import { formErrors } from '../forms';
import { useResource, useTitle } from '../hooks';
import { currentSearch, setSearch } from '../router';
import type { AuditSummary } from '../types';

interface AuditPage {
  source?: string;
  data: AuditSummary[];
  next_before?: string | null;
}

const filterNames = ['key', 'model', 'status', 'since', 'until', 'q'] as const;
type Filters = Record<(typeof filterNames)[number], string>;

function filtersFrom(search: string): Filters {
  const p = new URLSearchParams(search);
  return Object.fromEntries(filterNames.map((n) => [n, p.get(n) ?? ''])) as Filters;
}

/** datetime-local text (local time) ↔ the ISO time the API takes. */
const toIso = (local: string): string => (local ? new Date(local).toISOString() : '');
function toLocal(iso: string): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const off = d.getTimezoneOffset() * 60_000;
  return new Date(d.getTime() - off).toISOString().slice(0, 16);
}

export function AuditPage() {
  useTitle('Audit');
  const applied = filtersFrom(currentSearch.value);
  const [form, setForm] = useState<Filters>(applied);
  const [pages, setPages] = useState<string[]>([]);
  const before = pages[pages.length - 1];
  const results = useResource((signal) => get<AuditPage>(`/admin/audit${query({ ...applied, limit: 50, before })}`, signal), [currentSearch.value, before]);
  const errors = results.error ? formErrors(results.error, [...filterNames]) : undefined;
  const set = (name: keyof Filters) => (value: string) => setForm({ ...form, [name]: value });

  function submit(event: Event) {
    event.preventDefault();
    setPages([]);
    const q = query(form);
    setSearch(q);
  }

  return (
    <section>
      <div class="page-head">
        <h1 id="page-title" tabIndex={-1}>
          Audit
        </h1>
      </div>
      <form class="form search-form" role="search" aria-label="Search audit records" onSubmit={submit} noValidate>
        <div class="grid">
          <TextField label="Key (id or name)" name="key" value={form.key} onValue={set('key')} error={errors?.fields.key} autocomplete="off" />
          <TextField label="Model" name="model" value={form.model} onValue={set('model')} error={errors?.fields.model} autocomplete="off" />
          <SelectField
            label="Status"
            name="status"
            value={['', 'ok', 'error'].includes(form.status) ? form.status : 'code'}
            options={[
              { value: '', label: 'any' },
              { value: 'ok', label: 'ok (2xx)' },
              { value: 'error', label: 'error' },
              { value: 'code', label: 'HTTP status…' },
            ]}
            onValue={(v) => set('status')(v === 'code' ? '429' : v)}
            error={errors?.fields.status}
          />
          {!['', 'ok', 'error'].includes(form.status) && <TextField label="HTTP status" name="status-code" inputMode="numeric" value={form.status} onValue={set('status')} />}
          <TextField label="From" name="since" type="datetime-local" value={toLocal(form.since)} onValue={(v) => set('since')(toIso(v))} error={errors?.fields.since} />
          <TextField label="Until" name="until" type="datetime-local" value={toLocal(form.until)} onValue={(v) => set('until')(toIso(v))} error={errors?.fields.until} />
          <TextField label="Text in bodies" name="q" type="search" value={form.q} onValue={set('q')} error={errors?.fields.q} wide autocomplete="off" />
        </div>
        <div class="actions">
          <button
            type="button"
            onClick={() => {
              setForm(filtersFrom(''));
              setPages([]);
              setSearch('');
            }}
          >
            Clear
          </button>
          <button type="submit" class="primary">
            Search
          </button>
        </div>
      </form>
      {errors && Object.keys(errors.fields).length === 0 && <ErrorBanner error={results.error} />}
      {results.loading && !results.data && <Loading what="Searching" />}
      {results.data && (
        <>
          <div class="table-wrap">
            <table id="audit-table" aria-busy={results.loading}>
              <caption class="sr-only">Audit records, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Key</th>
                  <th scope="col">Model</th>
                  <th scope="col">Status</th>
                  <th scope="col" class="num">
                    TTFT
                  </th>
                  <th scope="col" class="num">
                    Duration
                  </th>
                  <th scope="col" class="num">
                    Tokens
                  </th>
                  <th scope="col" class="num">
                    Cost
                  </th>
                  <th scope="col">Deployment</th>
                </tr>
              </thead>
              <tbody>
                {results.data.data.length === 0 && (
                  <tr>
                    <td colSpan={9} class="muted">
                      No records match.
                    </td>
                  </tr>
                )}
                {results.data.data.map((r) => (
                  <tr data-record-id={recordId(r)}>
                    <th scope="row">
                      <a href={`/ui/audit/${encodeURIComponent(recordId(r))}`}>{fmtTime(r.time)}</a>
                    </th>
                    <td>{keyLabel(r)}</td>
                    <td>{r.model}</td>
                    <td>
                      <Badge tone={statusTone(r.status)}>{r.status}</Badge>
                    </td>
                    <td class="num">{fmtMs(r.ttft_ms)}</td>
                    <td class="num">{fmtMs(r.duration_ms)}</td>
                    <td class="num">{fmtCount(tokensOf(r))}</td>
                    <td class="num">{fmtUsd(costOfRecord(r))}</td>
                    <td>
                      <code>{deploymentLabel(r)}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div class="actions pager">
            <button type="button" disabled={pages.length === 0} onClick={() => setPages(pages.slice(0, -1))}>
              Newer
            </button>
            <button type="button" disabled={!results.data.next_before} onClick={() => results.data?.next_before && setPages([...pages, results.data.next_before])}>
              Older
            </button>
            {results.data.source && <span class="muted small">source: {results.data.source}</span>}
          </div>
        </>
      )}
    </section>
  );
}
