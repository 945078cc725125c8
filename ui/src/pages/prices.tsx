// Prices: USD per 1M tokens by model, used for cost metering, budgets and lowest_cost routing.
import { useState } from 'preact/hooks';
import { api, seg } from '../api';
import { PageHead, RowActions, useDeletion } from '../components/collection';
import { Dialog } from '../components/dialog';
import { TextField } from '../components/field';
import { announce, ErrorBanner, Loading } from '../components/status';
import { numberOrUndefined, useSubmission } from '../forms';
import { useResource, useTitle } from '../hooks';
import { loadPrices } from '../prices';
import { readOnly } from '../session';
import type { PriceEntry } from '../types';

const priceFields: Array<{ key: keyof PriceEntry; label: string }> = [
  { key: 'input', label: 'Input' },
  { key: 'output', label: 'Output' },
  { key: 'cached_input', label: 'Cached input' },
  { key: 'cache_write_input', label: 'Cache write' },
];

function PriceForm({ model, initial, onSaved, onCancel }: { model?: string; initial?: PriceEntry; onSaved: (model: string) => void; onCancel: () => void }) {
  const [name, setName] = useState(model ?? '');
  const [values, setValues] = useState<Record<keyof PriceEntry, string>>(() => Object.fromEntries(priceFields.map((f) => [f.key, initial?.[f.key] === undefined ? '' : String(initial[f.key])])) as Record<keyof PriceEntry, string>);
  const { errors, setErrors, busy, run } = useSubmission(['model', ...priceFields.map((f) => f.key)]);

  async function submit(event: Event) {
    event.preventDefault();
    const body: Partial<PriceEntry> = {};
    for (const f of priceFields) {
      const n = numberOrUndefined(values[f.key]);
      if (n !== undefined) body[f.key] = n;
    }
    if (name.trim() === '') {
      setErrors({ fields: { model: 'Name the model this price is for.' }, general: null, problems: [] });
      return;
    }
    await run(async () => {
      await api('PUT', `/admin/prices/${seg(name.trim())}`, body);
      onSaved(name.trim());
    });
  }

  return (
    <form onSubmit={submit} noValidate class="form">
      <ErrorBanner error={errors.general} problems={errors.problems} />
      <div class="grid">
        <TextField label="Model" name="model" value={name} onValue={setName} readOnly={model !== undefined} error={errors.fields.model} wide autocomplete="off" />
        {priceFields.map((f) => (
          <TextField label={`${f.label} (USD / 1M tokens)`} name={f.key} inputMode="decimal" value={values[f.key]} onValue={(v) => setValues({ ...values, [f.key]: v })} error={errors.fields[f.key]} />
        ))}
      </div>
      <div class="actions">
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Saving…' : 'Save price'}
        </button>
      </div>
    </form>
  );
}

export function PricesPage() {
  useTitle('Prices');
  const prices = useResource((signal) => loadPrices(signal), []);
  const [filter, setFilter] = useState('');
  const [editing, setEditing] = useState<string | 'new' | null>(null);
  const ro = readOnly();
  const rows = Object.entries(prices.data ?? {})
    .filter(([m]) => m.toLowerCase().includes(filter.toLowerCase()))
    .sort(([a], [b]) => a.localeCompare(b));

  const deletion = useDeletion<string>((model) => api('DELETE', `/admin/prices/${seg(model)}`), (model) => `Price of ${model} deleted.`, prices.reload);

  return (
    <section>
      <PageHead title="Prices" addLabel="Add price" onAdd={() => setEditing('new')} disabled={ro} filter={{ id: 'price-filter', label: 'Filter prices', value: filter, onInput: setFilter }} />
      <p class="muted">USD per million tokens. The gateway ships list prices; entries here override them by model name (client name, upstream name, or the name the provider answers with).</p>
      <ErrorBanner error={prices.error} />
      {prices.loading && !prices.data && <Loading what="Loading prices" />}
      {prices.data && (
        <div class="table-wrap">
          <table id="prices-table">
            <caption class="sr-only">Prices</caption>
            <thead>
              <tr>
                <th scope="col">Model</th>
                {priceFields.map((f) => (
                  <th scope="col" class="num">
                    {f.label}
                  </th>
                ))}
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map(([model, p]) => (
                <tr data-model={model}>
                  <th scope="row">{model}</th>
                  {priceFields.map((f) => (
                    <td class="num">{p[f.key] ?? '–'}</td>
                  ))}
                  <RowActions name={model} disabled={ro} onEdit={() => setEditing(model)} onDelete={() => deletion.ask(model)} />
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Dialog title={editing === 'new' ? 'Add price' : `Price of ${editing ?? ''}`} open={editing !== null} onClose={() => setEditing(null)}>
        {editing !== null && (
          <PriceForm
            model={editing === 'new' ? undefined : editing}
            initial={editing === 'new' ? undefined : prices.data?.[editing]}
            onCancel={() => setEditing(null)}
            onSaved={(m) => {
              announce(`Price of ${m} saved.`);
              setEditing(null);
              prices.reload();
            }}
          />
        )}
      </Dialog>
      {deletion.dialog({
        title: 'Delete price',
        message: (model) => (
          <>
            Delete the price of <strong>{model}</strong>? The shipped price applies again, if there is one.
          </>
        ),
      })}
    </section>
  );
}
