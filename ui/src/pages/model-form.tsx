// The create/edit form of a model: one deployment (provider + upstream model) or a group of weighted deployments.
import { useState } from 'preact/hooks';
import { SelectField, TextField } from '../components/field';
import { ErrorBanner } from '../components/status';
import { listOf, numberOrUndefined, useSubmission } from '../forms';
import type { DeploymentConfig, ModelConfig } from '../types';

export const strategies = ['weighted', 'round_robin', 'least_busy', 'least_latency', 'lowest_cost', 'usage_based'];

interface Row {
  provider: string;
  model: string;
  id: string;
  weight: string;
  priority: string;
  /** Fields of the deployment this form does not show (rpm, timeouts…), kept as they were. */
  rest: Record<string, unknown>;
}

function rowOf(d: DeploymentConfig): Row {
  const { provider, model, id, weight, priority, ...rest } = d;
  return { provider, model: model ?? '', id: id ?? '', weight: weight === undefined ? '' : String(weight), priority: priority === undefined ? '' : String(priority), rest };
}

function deploymentOf(r: Row): DeploymentConfig {
  const d: DeploymentConfig = { ...r.rest, provider: r.provider };
  if (r.model.trim()) d.model = r.model.trim();
  if (r.id.trim()) d.id = r.id.trim();
  const weight = numberOrUndefined(r.weight);
  if (weight !== undefined) d.weight = weight;
  const priority = numberOrUndefined(r.priority);
  if (priority !== undefined) d.priority = priority;
  return d;
}

const fixedFields = ['name', 'provider', 'model', 'strategy', 'fallbacks', 'deployments'];
/** Fields the API adds to what it answers, never part of a model's config. */
const answerOnly = ['source', 'generation'];

interface ModelFormProps {
  initial?: ModelConfig;
  providers: string[];
  submitLabel: string;
  onSubmit: (model: ModelConfig) => Promise<void>;
  onCancel: () => void;
}

export function ModelForm({ initial, providers, submitLabel, onSubmit, onCancel }: ModelFormProps) {
  const firstProvider = providers[0] ?? '';
  const [name, setName] = useState(initial?.name ?? '');
  const [group, setGroup] = useState(Boolean(initial?.deployments));
  const [provider, setProvider] = useState(initial?.provider ?? firstProvider);
  const [model, setModel] = useState(initial?.model ?? '');
  const [strategy, setStrategy] = useState(initial?.strategy ?? '');
  const [rows, setRows] = useState<Row[]>(initial?.deployments?.map(rowOf) ?? [rowOf({ provider: initial?.provider ?? firstProvider, model: initial?.model })]);
  const [fallbacks, setFallbacks] = useState((initial?.fallbacks ?? []).join(', '));
  const fieldNames = [...fixedFields, ...rows.flatMap((_, i) => ['provider', 'model', 'id', 'weight', 'priority'].map((f) => `deployments.${i}.${f}`))];
  const { errors, busy, run } = useSubmission(fieldNames);
  const providerOptions = [...new Set([...providers, provider, ...rows.map((r) => r.provider)])].filter((p) => p !== '');

  const setRow = (i: number, change: Partial<Row>) => setRows(rows.map((r, j) => (j === i ? { ...r, ...change } : r)));

  async function submit(event: Event) {
    event.preventDefault();
    const kept: Record<string, unknown> = { ...(initial ?? {}) };
    for (const f of [...fixedFields, ...answerOnly]) delete kept[f];
    const body: ModelConfig = { ...kept, name: name.trim() };
    if (group) {
      body.deployments = rows.map(deploymentOf);
      if (strategy) body.strategy = strategy;
    } else {
      body.provider = provider;
      if (model.trim()) body.model = model.trim();
    }
    const fb = listOf(fallbacks);
    if (fb.length) body.fallbacks = fb;
    await run(() => onSubmit(body));
  }

  return (
    <form onSubmit={submit} noValidate class="form" id="model-form">
      <ErrorBanner error={errors.general} problems={errors.problems} />
      <div class="grid">
        <TextField label="Name clients send" name="name" value={name} onValue={setName} error={errors.fields.name} readOnly={Boolean(initial)} required autocomplete="off" />
      </div>
      <fieldset>
        <legend>Served by</legend>
        <label class="inline-check">
          <input type="radio" name="shape" checked={!group} onChange={() => setGroup(false)} /> One deployment
        </label>
        <label class="inline-check">
          <input type="radio" name="shape" checked={group} onChange={() => setGroup(true)} /> A group of deployments
        </label>
        {!group ? (
          <div class="grid">
            <SelectField label="Provider" name="provider" value={provider} options={providerOptions} onValue={setProvider} error={errors.fields.provider} />
            <TextField label="Upstream model" name="model" value={model} onValue={setModel} error={errors.fields.model} placeholder={name || 'same as the name'} hint="Empty: the name above." autocomplete="off" />
          </div>
        ) : (
          <>
            <div class="grid">
              <SelectField
                label="Strategy"
                name="strategy"
                value={strategy}
                options={[{ value: '', label: 'routing default' }, ...strategies.map((s) => ({ value: s, label: s }))]}
                onValue={setStrategy}
                error={errors.fields.strategy}
              />
            </div>
            {errors.fields.deployments && (
              <p class="field-error" role="alert">
                {errors.fields.deployments}
              </p>
            )}
            <ol class="deployment-rows">
              {rows.map((r, i) => (
                <li class="deployment-row">
                  <div class="grid">
                    <SelectField label="Provider" name={`deployments.${i}.provider`} id={`dep-${i}-provider`} value={r.provider} options={providerOptions} onValue={(v) => setRow(i, { provider: v })} error={errors.fields[`deployments.${i}.provider`]} />
                    <TextField label="Upstream model" name={`deployments.${i}.model`} id={`dep-${i}-model`} value={r.model} onValue={(v) => setRow(i, { model: v })} error={errors.fields[`deployments.${i}.model`]} autocomplete="off" />
                    <TextField label="Weight" name={`deployments.${i}.weight`} id={`dep-${i}-weight`} inputMode="numeric" value={r.weight} placeholder="1" onValue={(v) => setRow(i, { weight: v })} error={errors.fields[`deployments.${i}.weight`]} />
                    <TextField label="Priority" name={`deployments.${i}.priority`} id={`dep-${i}-priority`} inputMode="numeric" value={r.priority} placeholder="0" onValue={(v) => setRow(i, { priority: v })} error={errors.fields[`deployments.${i}.priority`]} />
                    <TextField label="Id" name={`deployments.${i}.id`} id={`dep-${i}-id`} value={r.id} placeholder="provider/model" onValue={(v) => setRow(i, { id: v })} error={errors.fields[`deployments.${i}.id`]} autocomplete="off" />
                  </div>
                  <button type="button" class="ghost danger" disabled={rows.length === 1} onClick={() => setRows(rows.filter((_, j) => j !== i))}>
                    Remove deployment {i + 1}
                  </button>
                </li>
              ))}
            </ol>
            <button type="button" onClick={() => setRows([...rows, rowOf({ provider: firstProvider })])}>
              Add deployment
            </button>
          </>
        )}
      </fieldset>
      <div class="grid">
        <TextField label="Fallback models" name="fallbacks" value={fallbacks} onValue={setFallbacks} error={errors.fields.fallbacks} hint="Comma-separated, tried in order." wide autocomplete="off" />
      </div>
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
