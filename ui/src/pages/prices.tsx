// Prices: USD per 1M tokens by model, used for cost metering, budgets and lowest_cost routing.
import { useState } from 'preact/hooks';
import { api, seg } from '../api';
import { ConfirmDialog, Dialog } from '../components/dialog';
import { TextField } from '../components/field';
import { announce, ErrorBanner, Loading } from '../components/status';
import { formErrors, noErrors, numberOrUndefined, type FormErrors } from '../forms';
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
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  const [busy, setBusy] = useState(false);

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
    setBusy(true);
    try {
      await api('PUT', `/admin/prices/${seg(name.trim())}`, body);
      onSaved(name.trim());
    } catch (err) {
      setErrors(formErrors(err, ['model', ...priceFields.map((f) => f.key)]));
    } finally {
      setBusy(false);
    }
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
  const [deleting, setDeleting] = useState<string | null>(null);
  const [deleteError, setDeleteError] = useState<unknown>(null);
  const ro = readOnly();
  const rows = Object.entries(prices.data ?? {})
    .filter(([m]) => m.toLowerCase().includes(filter.toLowerCase()))
    .sort(([a], [b]) => a.localeCompare(b));

  async function remove() {
    if (!deleting) return;
    try {
      await api('DELETE', `/admin/prices/${seg(deleting)}`);
      announce(`Price of ${deleting} deleted.`);
      setDeleting(null);
      prices.reload();
    } catch (err) {
      setDeleteError(err);
    }
  }

  return (
    <section>
      <div class="page-head">
        <h1 id="page-title" tabIndex={-1}>
          Prices
        </h1>
        <div class="toolbar">
          <label for="price-filter" class="sr-only">
            Filter prices
          </label>
          <input id="price-filter" type="search" placeholder="Filter" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} />
          <button type="button" class="primary" disabled={ro} onClick={() => setEditing('new')}>
            Add price
          </button>
        </div>
      </div>
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
                  <td class="row-actions">
                    <button type="button" disabled={ro} onClick={() => setEditing(model)}>
                      Edit<span class="sr-only"> {model}</span>
                    </button>
                    <button type="button" class="danger" disabled={ro} onClick={() => setDeleting(model)}>
                      Delete<span class="sr-only"> {model}</span>
                    </button>
                  </td>
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
      <ConfirmDialog
        title="Delete price"
        open={deleting !== null}
        confirmLabel="Delete"
        message={
          <>
            Delete the price of <strong>{deleting}</strong>? The shipped price applies again, if there is one.
            <ErrorBanner error={deleteError} />
          </>
        }
        onConfirm={() => void remove()}
        onClose={() => {
          setDeleting(null);
          setDeleteError(null);
        }}
      />
    </section>
  );
}
