// The create/edit form of a virtual key: name, allowed models, limits and budgets.
import { useState } from 'preact/hooks';
import { TextArea, TextField } from '../components/field';
import { ErrorBanner } from '../components/status';
import { numberOrUndefined, useSubmission } from '../forms';
import type { BudgetValues, KeyView, LimitValues } from '../types';

const limitFields: Array<{ key: keyof LimitValues; label: string }> = [
  { key: 'rpm', label: 'Requests / minute' },
  { key: 'rpd', label: 'Requests / day' },
  { key: 'tpm', label: 'Tokens / minute' },
  { key: 'tpd', label: 'Tokens / day' },
  { key: 'max_concurrent', label: 'Concurrent requests' },
];
const budgetFields: Array<{ key: keyof BudgetValues; label: string }> = [
  { key: 'total_usd', label: 'Total (USD)' },
  { key: 'daily_usd', label: 'Per day (USD)' },
  { key: 'monthly_usd', label: 'Per month (USD)' },
];

export const keyFormFields = ['name', 'models', 'model_limits', ...limitFields.map((f) => `limits.${f.key}`), ...budgetFields.map((f) => `budget.${f.key}`)];

export interface KeyBody {
  name: string;
  models: string[] | null;
  limits: LimitValues;
  budget: BudgetValues;
  model_limits?: Record<string, LimitValues>;
}

interface KeyFormProps {
  initial?: KeyView;
  models: string[];
  submitLabel: string;
  onSubmit: (body: KeyBody) => Promise<void>;
  onCancel: () => void;
}

const text = (n: number | undefined) => (n === undefined ? '' : String(n));

function numbers<K extends string>(values: Record<K, string>): Partial<Record<K, number>> {
  const out: Partial<Record<K, number>> = {};
  for (const [k, v] of Object.entries(values) as Array<[K, string]>) {
    const n = numberOrUndefined(v);
    if (n !== undefined) out[k] = n;
  }
  return out;
}

export function KeyForm({ initial, models, submitLabel, onSubmit, onCancel }: KeyFormProps) {
  const [name, setName] = useState(initial?.name ?? '');
  const [allModels, setAllModels] = useState(initial ? initial.models === null : true);
  const [chosen, setChosen] = useState<string[]>(initial?.models ?? []);
  const [limits, setLimits] = useState<Record<keyof LimitValues, string>>(() => Object.fromEntries(limitFields.map((f) => [f.key, text(initial?.limits[f.key])])) as Record<keyof LimitValues, string>);
  const [budget, setBudget] = useState<Record<keyof BudgetValues, string>>(() => Object.fromEntries(budgetFields.map((f) => [f.key, text(initial?.budget[f.key])])) as Record<keyof BudgetValues, string>);
  const [modelLimits, setModelLimits] = useState(initial && Object.keys(initial.model_limits).length ? JSON.stringify(initial.model_limits, null, 2) : '');
  const { errors, setErrors, busy, run } = useSubmission(keyFormFields);
  const choices = [...new Set([...models, ...chosen])].sort();

  async function submit(event: Event) {
    event.preventDefault();
    let parsedModelLimits: Record<string, LimitValues> | undefined;
    if (modelLimits.trim() !== '') {
      try {
        parsedModelLimits = JSON.parse(modelLimits) as Record<string, LimitValues>;
      } catch (err) {
        setErrors({ fields: { model_limits: `Not valid JSON: ${(err as Error).message}` }, general: null, problems: [] });
        return;
      }
    }
    const body: KeyBody = { name: name.trim(), models: allModels ? null : chosen, limits: numbers(limits), budget: numbers(budget) };
    if (parsedModelLimits || initial) body.model_limits = parsedModelLimits ?? {};
    await run(() => onSubmit(body));
  }

  return (
    <form onSubmit={submit} noValidate class="form">
      <ErrorBanner error={errors.general} problems={errors.problems} />
      <div class="grid">
        <TextField label="Name" name="name" value={name} onValue={setName} error={errors.fields.name} required autocomplete="off" wide />
      </div>
      <fieldset>
        <legend>Allowed models</legend>
        <label class="inline-check">
          <input type="checkbox" name="all-models" checked={allModels} onChange={(e) => setAllModels(e.currentTarget.checked)} /> Every model
        </label>
        {!allModels && (
          <div class="checks" role="group" aria-describedby={errors.fields.models ? 'models-error' : undefined}>
            {choices.length === 0 && <p class="muted">No models configured.</p>}
            {choices.map((m) => (
              <label class="inline-check">
                <input
                  type="checkbox"
                  name="model"
                  value={m}
                  checked={chosen.includes(m)}
                  onChange={(e) => setChosen(e.currentTarget.checked ? [...chosen, m] : chosen.filter((c) => c !== m))}
                />{' '}
                {m}
              </label>
            ))}
          </div>
        )}
        {errors.fields.models && (
          <small id="models-error" class="field-error" role="alert">
            {errors.fields.models}
          </small>
        )}
      </fieldset>
      <fieldset>
        <legend>Limits (empty = unlimited)</legend>
        <div class="grid">
          {limitFields.map((f) => (
            <TextField
              label={f.label}
              name={`limits.${f.key}`}
              id={`key-limits-${f.key}`}
              inputMode="numeric"
              value={limits[f.key]}
              onValue={(v) => setLimits({ ...limits, [f.key]: v })}
              error={errors.fields[`limits.${f.key}`]}
            />
          ))}
        </div>
      </fieldset>
      <fieldset>
        <legend>Budget (empty = none)</legend>
        <div class="grid">
          {budgetFields.map((f) => (
            <TextField
              label={f.label}
              name={`budget.${f.key}`}
              id={`key-budget-${f.key}`}
              inputMode="decimal"
              value={budget[f.key]}
              onValue={(v) => setBudget({ ...budget, [f.key]: v })}
              error={errors.fields[`budget.${f.key}`]}
            />
          ))}
        </div>
      </fieldset>
      <details open={modelLimits !== ''}>
        <summary>Limits per model (JSON)</summary>
        <TextArea
          label="model_limits"
          name="model_limits"
          rows={4}
          value={modelLimits}
          onValue={setModelLimits}
          error={errors.fields.model_limits}
          hint={<>For example {'{"gpt-4o": {"rpm": 10}}'}</>}
          placeholder='{"gpt-4o": {"rpm": 10}}'
        />
      </details>
      <div class="actions">
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Saving…' : submitLabel}
        </button>
      </div>
    </form>
  );
}
