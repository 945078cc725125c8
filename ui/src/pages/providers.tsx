// Providers: the upstream APIs models are served by; create, edit (secrets write-only) and delete.
import { useState } from 'preact/hooks';
import { api, get, seg, type List } from '../api';
import { PageHead, RowActions, useDeletion } from '../components/collection';
import { Dialog } from '../components/dialog';
import { ResetButton } from '../components/reset-button';
import { announce, Badge, ErrorBanner, Loading } from '../components/status';
import { useResource, useTitle } from '../hooks';
import { readOnly } from '../session';
import type { ProviderConfig } from '../types';
import { masked, ProviderForm } from './provider-form';

const secretSet = (p: ProviderConfig): boolean => [p.api_key, p.aws_secret_access_key, p.aws_session_token].some((v) => v === masked);

export function ProvidersPage() {
  useTitle('Providers');
  const providers = useResource((signal) => get<List<ProviderConfig>>('/admin/providers', signal), []);
  const [editing, setEditing] = useState<ProviderConfig | 'new' | null>(null);
  const ro = readOnly();

  async function save(body: ProviderConfig) {
    if (editing === 'new') await api('POST', '/admin/providers', body);
    else await api('PUT', `/admin/providers/${seg(body.name)}`, body);
    announce(`Provider ${body.name} saved.`);
    setEditing(null);
    providers.reload();
  }

  const deletion = useDeletion<ProviderConfig>((p) => api('DELETE', `/admin/providers/${seg(p.name)}`), (p) => `Provider ${p.name} deleted.`, providers.reload);

  return (
    <section>
      <PageHead title="Providers" addLabel="Add provider" onAdd={() => setEditing('new')} disabled={ro} />
      <p class="muted">Credentials are write-only: the gateway never sends a stored secret back, in this page or the API.</p>
      <ErrorBanner error={providers.error} />
      {providers.loading && !providers.data && <Loading what="Loading providers" />}
      {providers.data && (
        <div class="table-wrap">
          <table id="providers-table">
            <caption class="sr-only">Providers</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Type</th>
                <th scope="col">Base URL</th>
                <th scope="col">Credentials</th>
                <th scope="col">Source</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {providers.data.data.map((p) => (
                <tr data-provider={p.name}>
                  <th scope="row">{p.name}</th>
                  <td>{p.type}</td>
                  <td>
                    <code>{p.base_url ?? 'default'}</code>
                  </td>
                  <td>{secretSet(p) ? <Badge tone="ok">set</Badge> : <Badge tone="muted">none</Badge>}</td>
                  <td>{p.source === 'store' ? <Badge tone="warn">admin API</Badge> : <Badge tone="muted">config file</Badge>}</td>
                  <RowActions name={p.name} disabled={ro} onEdit={() => setEditing(p)} onDelete={() => deletion.ask(p)}>
                    {p.source === 'store' && <ResetButton target={`providers.${p.name}`} label={p.name} onDone={providers.reload} />}
                  </RowActions>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Dialog title={editing === 'new' ? 'Add provider' : `Edit provider ${editing?.name ?? ''}`} open={editing !== null} onClose={() => setEditing(null)} wide>
        {editing !== null && <ProviderForm initial={editing === 'new' ? undefined : editing} submitLabel={editing === 'new' ? 'Add provider' : 'Save'} onSubmit={save} onCancel={() => setEditing(null)} />}
      </Dialog>
      {deletion.dialog({
        title: 'Delete provider',
        message: (p) => (
          <>
            Delete <strong>{p.name}</strong>? A provider that models still use cannot be deleted.
          </>
        ),
      })}
    </section>
  );
}
