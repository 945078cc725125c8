// Changes: the trail of config changes made through the admin API, newest first, with their diffs.
import { useState } from 'preact/hooks';
import { get, query, type List } from '../api';
import { Badge, ErrorBanner, Loading } from '../components/status';
import { fmtTime } from '../format';
import { useResource, useTitle } from '../hooks';
import type { ConfigChange } from '../types';

const show = (v: unknown): string => (v === undefined ? '(absent)' : typeof v === 'string' ? v : JSON.stringify(v));
const actionTone = (a: string) => (a === 'delete' ? 'bad' : a === 'create' ? 'ok' : 'warn');

export function ChangesPage() {
  useTitle('Changes');
  const [pages, setPages] = useState<Array<number | string>>([]);
  const before = pages[pages.length - 1];
  const changes = useResource((signal) => get<List<ConfigChange>>(`/admin/config/changes${query({ limit: 50, before })}`, signal), [before]);
  const data = changes.data?.data ?? [];
  const last = data[data.length - 1];
  return (
    <section>
      <div class="page-head">
        <h1 id="page-title" tabIndex={-1}>
          Changes
        </h1>
        <div class="toolbar">
          <button type="button" onClick={changes.reload}>
            Refresh
          </button>
        </div>
      </div>
      <p class="muted">Every change made through the admin API or this console: who, when, what, and each field before and after (secrets masked).</p>
      <ErrorBanner error={changes.error} />
      {changes.loading && !changes.data && <Loading what="Loading changes" />}
      {changes.data && data.length === 0 && <p class="muted">No changes yet.</p>}
      <ol class="changes" id="changes-list">
        {data.map((c) => (
          <li class="card change">
            <div class="change-head">
              <Badge tone={actionTone(c.action)}>{c.action}</Badge> <strong>{c.target}</strong> <span class="muted">by {c.actor}</span>{' '}
              <time dateTime={c.at} class="muted">
                {fmtTime(c.at)}
              </time>
            </div>
            {c.diff.length > 0 && (
              <div class="table-wrap">
                <table class="diff">
                  <thead>
                    <tr>
                      <th scope="col">Field</th>
                      <th scope="col">Before</th>
                      <th scope="col">After</th>
                    </tr>
                  </thead>
                  <tbody>
                    {c.diff.map((d) => (
                      <tr>
                        <th scope="row">
                          <code>{d.path || '(whole)'}</code>
                        </th>
                        <td class="before">
                          <code>{show(d.before)}</code>
                        </td>
                        <td class="after">
                          <code>{show(d.after)}</code>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </li>
        ))}
      </ol>
      <div class="actions pager">
        <button type="button" disabled={pages.length === 0} onClick={() => setPages(pages.slice(0, -1))}>
          Newer
        </button>
        <button type="button" disabled={!last || data.length < 50} onClick={() => last && setPages([...pages, last.id])}>
          Older
        </button>
      </div>
    </section>
  );
}
