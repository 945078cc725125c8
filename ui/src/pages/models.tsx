// Models & deployment groups: what clients may ask for and which deployments serve it.
import { useState } from 'preact/hooks';
import { api, get, seg, type List } from '../api';
import { providerNames } from '../catalog';
import { PageHead, RowActions, useDeletion } from '../components/collection';
import { Dialog } from '../components/dialog';
import { ResetButton } from '../components/reset-button';
import { announce, Badge, ErrorBanner, Loading } from '../components/status';
import { useResource, useTitle } from '../hooks';
import { readOnly } from '../session';
import type { ModelConfig } from '../types';
import { ModelForm } from './model-form';

function servedBy(m: ModelConfig): string {
  if (m.deployments) return m.deployments.map((d) => `${d.id ?? `${d.provider}/${d.model ?? m.name}`} (w ${d.weight ?? 1}, p ${d.priority ?? 0})`).join('; ');
  return `${m.provider ?? '?'} · ${m.model ?? m.name}`;
}

export function ModelsPage() {
  useTitle('Models');
  const models = useResource((signal) => get<List<ModelConfig>>('/admin/models', signal), []);
  const providers = useResource((signal) => providerNames(signal), []);
  const [editing, setEditing] = useState<ModelConfig | 'new' | null>(null);
  const [filter, setFilter] = useState('');
  const ro = readOnly();

  async function save(body: ModelConfig) {
    if (editing === 'new') await api('POST', '/admin/models', body);
    else await api('PUT', `/admin/models/${seg(body.name)}`, body);
    announce(`Model ${body.name} saved.`);
    setEditing(null);
    models.reload();
  }

  const deletion = useDeletion<ModelConfig>((m) => api('DELETE', `/admin/models/${seg(m.name)}`), (m) => `Model ${m.name} deleted.`, models.reload);

  const list = (models.data?.data ?? []).filter((m) => m.name.toLowerCase().includes(filter.toLowerCase()));
  return (
    <section>
      <PageHead title="Models" addLabel="Add model" onAdd={() => setEditing('new')} disabled={ro} filter={{ id: 'model-filter', label: 'Filter models', value: filter, onInput: setFilter }} />
      <p class="muted">A model is what clients send in "model": one provider deployment, or a group of deployments with weights, priorities and a strategy. Changes apply without a restart.</p>
      <ErrorBanner error={models.error} />
      {models.loading && !models.data && <Loading what="Loading models" />}
      {models.data && (
        <div class="table-wrap">
          <table id="models-table">
            <caption class="sr-only">Models</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Served by</th>
                <th scope="col">Strategy</th>
                <th scope="col">Fallbacks</th>
                <th scope="col">Source</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((m) => (
                <tr data-model={m.name}>
                  <th scope="row">{m.name}</th>
                  <td>{servedBy(m)}</td>
                  <td>{m.deployments ? (m.strategy ?? 'default') : '–'}</td>
                  <td>{m.fallbacks?.join(', ') || '–'}</td>
                  <td>{m.source === 'store' ? <Badge tone="warn">admin API</Badge> : <Badge tone="muted">config file</Badge>}</td>
                  <RowActions name={m.name} disabled={ro} onEdit={() => setEditing(m)} onDelete={() => deletion.ask(m)}>
                    {m.source === 'store' && <ResetButton target={`models.${m.name}`} label={m.name} onDone={models.reload} />}
                  </RowActions>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Dialog title={editing === 'new' ? 'Add model' : `Edit model ${editing?.name ?? ''}`} open={editing !== null} onClose={() => setEditing(null)} wide>
        {editing !== null && (
          <ModelForm
            initial={editing === 'new' ? undefined : editing}
            providers={providers.data ?? []}
            submitLabel={editing === 'new' ? 'Add model' : 'Save'}
            onSubmit={save}
            onCancel={() => setEditing(null)}
          />
        )}
      </Dialog>
      {deletion.dialog({
        title: 'Delete model',
        message: (m) => (
          <>
            Delete <strong>{m.name}</strong>? Clients asking for it get 404 model_not_found.
          </>
        ),
      })}
    </section>
  );
}
