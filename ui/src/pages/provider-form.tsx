// The create/edit form of a provider. Secrets are write-only: a stored one shows as "set" and is kept unless replaced.
import { useState } from 'preact/hooks';
import { CheckField, SelectField, TextField } from '../components/field';
import { ErrorBanner } from '../components/status';
import { useSubmission } from '../forms';
import type { ProviderConfig } from '../types';

export const providerTypes = ['openai', 'azure', 'anthropic', 'gemini', 'bedrock', 'deepseek', 'qwen', 'mistral', 'groq', 'together', 'fireworks', 'openrouter', 'xai', 'vllm', 'ollama'];
/** The API masks a stored secret as this; sending it back keeps the stored value. */
export const masked = '********';

type Extra = 'api_key' | 'api_version' | 'anthropic_version' | 'region' | 'aws_access_key_id' | 'aws_secret_access_key' | 'aws_session_token';
const secretFields: ReadonlySet<Extra> = new Set(['api_key', 'aws_secret_access_key', 'aws_session_token']);

const extraFields: Record<Extra, string> = {
  api_key: 'API key',
  api_version: 'API version',
  anthropic_version: 'anthropic-version header',
  region: 'AWS region',
  aws_access_key_id: 'AWS access key id',
  aws_secret_access_key: 'AWS secret access key',
  aws_session_token: 'AWS session token',
};

function fieldsFor(type: string): Extra[] {
  if (type === 'bedrock') return ['region', 'aws_access_key_id', 'aws_secret_access_key', 'aws_session_token'];
  if (type === 'azure') return ['api_key', 'api_version'];
  if (type === 'anthropic') return ['api_key', 'anthropic_version'];
  return ['api_key'];
}

interface HeaderRow {
  name: string;
  value: string;
  stored: boolean;
}

interface ProviderFormProps {
  initial?: ProviderConfig;
  submitLabel: string;
  onSubmit: (provider: ProviderConfig) => Promise<void>;
  onCancel: () => void;
}

export function ProviderForm({ initial, submitLabel, onSubmit, onCancel }: ProviderFormProps) {
  const [name, setName] = useState(initial?.name ?? '');
  const [type, setType] = useState(initial?.type ?? 'openai');
  const [baseUrl, setBaseUrl] = useState(initial?.base_url ?? '');
  const [dropUnsupported, setDropUnsupported] = useState(initial?.drop_unsupported ?? false);
  const [extras, setExtras] = useState<Partial<Record<Extra, string>>>(() => {
    const out: Partial<Record<Extra, string>> = {};
    for (const f of Object.keys(extraFields) as Extra[]) {
      const v = initial?.[f];
      if (typeof v === 'string' && v !== masked) out[f] = v;
    }
    return out;
  });
  const [headers, setHeaders] = useState<HeaderRow[]>(() => Object.entries(initial?.headers ?? {}).map(([n, v]) => ({ name: n, value: v === masked ? '' : v, stored: v === masked })));
  const shown = fieldsFor(type);
  const fieldNames = ['name', 'type', 'base_url', 'drop_unsupported', 'headers', ...Object.keys(extraFields)];
  const { errors, busy, run } = useSubmission(fieldNames);

  async function submit(event: Event) {
    event.preventDefault();
    const body: ProviderConfig = { ...(initial ?? {}), name: name.trim(), type };
    for (const f of Object.keys(extraFields) as Extra[]) delete body[f];
    delete body.source;
    delete body.generation;
    if (baseUrl.trim()) body.base_url = baseUrl.trim();
    else delete body.base_url;
    if (dropUnsupported || initial?.drop_unsupported !== undefined) body.drop_unsupported = dropUnsupported;
    for (const f of shown) {
      const typed = extras[f]?.trim() ?? '';
      if (typed !== '') body[f] = typed;
      else if (secretFields.has(f) && initial?.[f] === masked) body[f] = masked;
    }
    const h: Record<string, string> = {};
    for (const row of headers) if (row.name.trim()) h[row.name.trim()] = row.value !== '' ? row.value : row.stored ? masked : '';
    if (Object.keys(h).length) body.headers = h;
    else delete body.headers;
    await run(() => onSubmit(body));
  }

  return (
    <form onSubmit={submit} noValidate class="form" id="provider-form">
      <ErrorBanner error={errors.general} problems={errors.problems} />
      <div class="grid">
        <TextField label="Name" name="name" value={name} onValue={setName} error={errors.fields.name} readOnly={Boolean(initial)} required autocomplete="off" />
        <SelectField label="Type" name="type" value={type} options={providerTypes} onValue={setType} error={errors.fields.type} />
        <TextField label="Base URL" name="base_url" type="url" value={baseUrl} onValue={setBaseUrl} error={errors.fields.base_url} hint="Empty: the type's default, where it has one." wide autocomplete="off" />
        {shown.map((f) => {
          const secret = secretFields.has(f);
          const stored = secret && initial?.[f] === masked;
          return (
            <TextField
              label={extraFields[f]}
              name={f}
              type={secret ? 'password' : 'text'}
              autocomplete={secret ? 'new-password' : 'off'}
              value={extras[f] ?? ''}
              onValue={(v) => setExtras({ ...extras, [f]: v })}
              error={errors.fields[f]}
              placeholder={stored ? 'set (leave empty to keep)' : undefined}
              hint={secret ? (stored ? 'Stored; never shown. Type a new value to replace it.' : 'Write-only: never shown again after saving. ${ENV} references work.') : undefined}
            />
          );
        })}
      </div>
      <CheckField label="Drop parameters the provider cannot honour (instead of a 400)" name="drop_unsupported" checked={dropUnsupported} onValue={setDropUnsupported} />
      <fieldset>
        <legend>Extra upstream headers (values are write-only)</legend>
        {errors.fields.headers && (
          <p class="field-error" role="alert">
            {errors.fields.headers}
          </p>
        )}
        {headers.map((row, i) => (
          <div class="grid header-row">
            <TextField label="Header" name={`header-${i}-name`} value={row.name} onValue={(v) => setHeaders(headers.map((r, j) => (j === i ? { ...r, name: v } : r)))} autocomplete="off" />
            <TextField
              label="Value"
              name={`header-${i}-value`}
              type="password"
              autocomplete="new-password"
              value={row.value}
              placeholder={row.stored ? 'set (leave empty to keep)' : undefined}
              onValue={(v) => setHeaders(headers.map((r, j) => (j === i ? { ...r, value: v } : r)))}
            />
            <button type="button" class="ghost danger" onClick={() => setHeaders(headers.filter((_, j) => j !== i))}>
              Remove header {row.name || i + 1}
            </button>
          </div>
        ))}
        <button type="button" onClick={() => setHeaders([...headers, { name: '', value: '', stored: false }])}>
          Add header
        </button>
      </fieldset>
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
