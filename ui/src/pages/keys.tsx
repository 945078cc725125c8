// Keys: list virtual keys, create one (its secret shown once), edit limits/budgets/models, revoke.
import { useState } from 'preact/hooks';
import { api, get, seg, type List } from '../api';
import { modelNames } from '../catalog';
import { CopyButton } from '../components/copy';
import { ConfirmDialog, Dialog } from '../components/dialog';
import { announce, Badge, ErrorBanner, Loading } from '../components/status';
import { fmtCount, fmtTime, fmtUsd } from '../format';
import { useResource, useTitle } from '../hooks';
import { readOnly } from '../session';
import type { KeyDetail, KeyView } from '../types';
import { KeyForm, type KeyBody } from './key-form';

function limitsText(k: KeyView): string {
  const parts = Object.entries(k.limits).map(([name, v]) => `${name} ${fmtCount(v)}`);
  return parts.length ? parts.join(', ') : 'unlimited';
}

function budgetText(k: KeyView): string {
  const parts = Object.entries(k.budget).map(([name, v]) => `${name.replace('_usd', '')} ${fmtUsd(v)}`);
  return parts.length ? parts.join(', ') : '–';
}

function KeyUsage({ id }: { id: string }) {
  const detail = useResource((signal) => get<KeyDetail>(`/admin/keys/${seg(id)}`, signal), [id]);
  if (detail.error) return <ErrorBanner error={detail.error} />;
  const d = detail.data;
  if (!d) return <Loading what="Loading usage" />;
  return (
    <dl class="facts">
      <dt>Requests today</dt>
      <dd>{fmtCount(d.usage?.requests_today)}</dd>
      <dt>Tokens today</dt>
      <dd>{fmtCount(d.usage?.tokens_today)}</dd>
      <dt>Requests in total</dt>
      <dd>{fmtCount(d.usage?.total_requests)}</dd>
      <dt>Tokens in total</dt>
      <dd>
        {fmtCount(d.usage?.total_prompt_tokens)} in · {fmtCount(d.usage?.total_completion_tokens)} out
      </dd>
      <dt>Spend</dt>
      <dd>
        {fmtUsd(d.spend?.today_usd)} today · {fmtUsd(d.spend?.this_month_usd)} this month · {fmtUsd(d.spend?.total_usd)} in total
      </dd>
    </dl>
  );
}

/** The one view of a new key's secret; it lives only in this component's state and is gone once closed. */
function SecretView({ created, onDone }: { created: { name: string; key: string }; onDone: () => void }) {
  return (
    <div class="secret" id="new-key-secret">
      <p>
        Key <strong>{created.name}</strong> created. Copy its secret now: <strong>it is shown only once</strong> and cannot be read again.
      </p>
      <div class="secret-row">
        <label for="new-key-value" class="sr-only">
          New key secret
        </label>
        <input id="new-key-value" readOnly value={created.key} onFocus={(e) => e.currentTarget.select()} />
        <CopyButton text={created.key} what="The key" />
      </div>
      <div class="actions">
        <button type="button" class="primary" onClick={onDone}>
          Done
        </button>
      </div>
    </div>
  );
}

export function KeysPage() {
  useTitle('Keys');
  const keys = useResource((signal) => get<List<KeyView>>('/admin/keys', signal), []);
  const models = useResource((signal) => modelNames(signal), []);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<{ name: string; key: string } | null>(null);
  const [editing, setEditing] = useState<KeyView | null>(null);
  const [revoking, setRevoking] = useState<KeyView | null>(null);
  const [revokeError, setRevokeError] = useState<unknown>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [showRevoked, setShowRevoked] = useState(false);
  const ro = readOnly();

  async function create(body: KeyBody) {
    const answer = await api<KeyView & { key: string }>('POST', '/admin/keys', body);
    setCreated({ name: answer.name, key: answer.key });
    keys.reload();
  }

  async function update(body: KeyBody) {
    if (!editing) return;
    await api('PATCH', `/admin/keys/${seg(editing.id)}`, body);
    announce(`Key ${body.name} saved.`);
    setEditing(null);
    keys.reload();
  }

  async function revoke() {
    if (!revoking) return;
    try {
      await api('DELETE', `/admin/keys/${seg(revoking.id)}`);
      announce(`Key ${revoking.name} revoked.`);
      setRevoking(null);
      setRevokeError(null);
      keys.reload();
    } catch (err) {
      setRevokeError(err);
    }
  }

  const list = (keys.data?.data ?? []).filter((k) => showRevoked || !k.revoked);
  const closeCreate = () => {
    setCreating(false);
    setCreated(null);
  };
  return (
    <section>
      <div class="page-head">
        <h1 id="page-title" tabIndex={-1}>
          Keys
        </h1>
        <div class="toolbar">
          <label class="inline-check">
            <input type="checkbox" checked={showRevoked} onChange={(e) => setShowRevoked(e.currentTarget.checked)} /> Show revoked
          </label>
          <button type="button" class="primary" disabled={ro} onClick={() => setCreating(true)}>
            Create key
          </button>
        </div>
      </div>
      <p class="muted">Virtual keys authenticate clients when auth is keys. Only a key's SHA-256 is stored; its secret is shown once, when it is created.</p>
      <ErrorBanner error={keys.error} />
      {keys.loading && !keys.data && <Loading what="Loading keys" />}
      {keys.data && (
        <div class="table-wrap">
          <table id="keys-table">
            <caption class="sr-only">Virtual keys</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Key</th>
                <th scope="col">Models</th>
                <th scope="col">Limits</th>
                <th scope="col">Budget</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.length === 0 && (
                <tr>
                  <td colSpan={7} class="muted">
                    No keys yet.
                  </td>
                </tr>
              )}
              {list.map((k) => (
                <>
                  <tr data-key-id={k.id} class={k.revoked ? 'revoked' : undefined}>
                    <th scope="row">
                      {k.name}
                      <div class="small muted">
                        <code>{k.id}</code>
                      </div>
                    </th>
                    <td>
                      <code>{k.hint}</code> {k.source === 'config' && <Badge tone="muted">config file</Badge>} {k.revoked && <Badge tone="bad">revoked</Badge>}
                    </td>
                    <td>{k.models === null ? 'all' : k.models.join(', ') || 'none'}</td>
                    <td>{limitsText(k)}</td>
                    <td>{budgetText(k)}</td>
                    <td>{fmtTime(k.created_at)}</td>
                    <td class="row-actions">
                      <button type="button" class="ghost" aria-expanded={open === k.id} onClick={() => setOpen(open === k.id ? null : k.id)}>
                        Usage<span class="sr-only"> of {k.name}</span>
                      </button>
                      {k.source !== 'config' && !k.revoked && (
                        <>
                          <button type="button" disabled={ro} onClick={() => setEditing(k)}>
                            Edit<span class="sr-only"> {k.name}</span>
                          </button>
                          <button type="button" class="danger" disabled={ro} onClick={() => setRevoking(k)}>
                            Revoke<span class="sr-only"> {k.name}</span>
                          </button>
                        </>
                      )}
                    </td>
                  </tr>
                  {open === k.id && (
                    <tr class="detail-row">
                      <td colSpan={7}>
                        <KeyUsage id={k.id} />
                      </td>
                    </tr>
                  )}
                </>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Dialog title={created ? 'Key created' : 'Create key'} open={creating} onClose={closeCreate} wide>
        {created ? (
          <SecretView created={created} onDone={closeCreate} />
        ) : (
          <KeyForm models={models.data ?? []} submitLabel="Create key" onSubmit={create} onCancel={closeCreate} />
        )}
      </Dialog>
      <Dialog title={`Edit key ${editing?.name ?? ''}`} open={editing !== null} onClose={() => setEditing(null)} wide>
        {editing && <KeyForm initial={editing} models={models.data ?? []} submitLabel="Save" onSubmit={update} onCancel={() => setEditing(null)} />}
      </Dialog>
      <ConfirmDialog
        title="Revoke key"
        open={revoking !== null}
        confirmLabel="Revoke"
        message={
          <>
            Revoke <strong>{revoking?.name}</strong>? Every request with it is refused from now on. This cannot be undone.
            <ErrorBanner error={revokeError} />
          </>
        }
        onConfirm={() => void revoke()}
        onClose={() => {
          setRevoking(null);
          setRevokeError(null);
        }}
      />
    </section>
  );
}
