// Playground: run a chat against a model (or as a key), streamed token by token; compare two models; copy as code.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, get, query, type List } from '../api';
import { SelectField, TextArea, TextField } from '../components/field';
import { checkJson } from '../components/json-editor';
import { ErrorBanner } from '../components/status';
import { formErrors, noErrors, numberOrUndefined, type FormErrors } from '../forms';
import { useResource, useTitle } from '../hooks';
import { readOnly } from '../session';
import { emptyAnswer, runChat, type AnswerState, type ChatMessage, type ChatRequest } from '../playground-stream';
import { loadPrices } from '../prices';
import { gatewayURL } from '../snippets';
import type { KeyView, PlaygroundModel } from '../types';
import { AnswerPane } from './playground-answer';
import { Snippets } from './playground-snippets';

type Turn = { role: 'user' | 'assistant'; content: string };

/** Request fields a 400 from the gateway may name, each shown beside its control. */
const playgroundFields = ['model', 'messages', 'temperature', 'max_tokens', 'tools', 'key_id'];

export function PlaygroundPage() {
  useTitle('Playground');
  const [keyId, setKeyId] = useState('');
  const keys = useResource((signal) => get<List<KeyView>>('/admin/keys', signal), []);
  const models = useResource((signal) => get<{ data: PlaygroundModel[]; gateway?: { host?: string; port?: number } }>(`/admin/playground/models${query({ key_id: keyId })}`, signal), [keyId]);
  const prices = useResource((signal) => loadPrices(signal).catch(() => ({})), []);
  const config = useResource((signal) => get<{ config?: { server?: { host?: string; port?: number } } }>('/admin/config', signal).catch(() => ({ config: undefined })), []);
  const [model, setModel] = useState('');
  const [compare, setCompare] = useState(false);
  const [model2, setModel2] = useState('');
  const [system, setSystem] = useState('');
  const [turns, setTurns] = useState<Turn[]>([{ role: 'user', content: 'Write one sentence about railway switchyards.' }]);
  const [temperature, setTemperature] = useState('');
  const [maxTokens, setMaxTokens] = useState('');
  const [tools, setTools] = useState('');
  const [stream, setStream] = useState(true);
  const [gatewayOverride, setGateway] = useState('');
  const [answers, setAnswers] = useState<AnswerState[]>([emptyAnswer, emptyAnswer]);
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  const running = useRef<AbortController | null>(null);

  const names = (models.data?.data ?? []).map((m) => m.name);
  // A key change can take the chosen model away: fall back to the first one it may use.
  useEffect(() => {
    if (names.length && !names.includes(model)) setModel(names[0]!);
    if (names.length && !names.includes(model2)) setModel2(names[1] ?? names[0]!);
  }, [names.join('\u0000')]);
  // The public listener: as the Playground reports it, else as configured (a configured port 0 says nothing).
  const reported = models.data?.gateway;
  const server = config.data?.config?.server;
  const defaultGateway = gatewayURL(reported?.port ? reported : server?.port ? server : { host: server?.host });
  const gateway = gatewayOverride || defaultGateway;
  useEffect(() => () => running.current?.abort(), []);

  const toolsCheck = tools.trim() === '' ? { value: undefined } : checkJson(tools);
  const toolsError = toolsCheck.error ?? (toolsCheck.value !== undefined && !Array.isArray(toolsCheck.value) ? 'Tools must be a JSON array of {"type":"function","function":{...}}.' : undefined);

  function requestFor(m: string): ChatRequest {
    const messages: ChatMessage[] = [...(system.trim() ? [{ role: 'system' as const, content: system }] : []), ...turns.filter((t) => t.content.trim() !== '')];
    const r: ChatRequest = { model: m, messages, stream };
    if (stream) r.stream_options = { include_usage: true };
    const t = numberOrUndefined(temperature);
    if (t !== undefined) r.temperature = t;
    const mt = numberOrUndefined(maxTokens);
    if (mt !== undefined) r.max_tokens = mt;
    if (Array.isArray(toolsCheck.value) && toolsCheck.value.length) r.tools = toolsCheck.value;
    if (keyId) r.key_id = keyId;
    return r;
  }

  async function run(event?: Event) {
    event?.preventDefault();
    if (toolsError) return;
    running.current?.abort();
    const controller = new AbortController();
    running.current = controller;
    setErrors(noErrors);
    const targets = compare ? [model, model2] : [model];
    const finals = await Promise.all(targets.map((m, i) => runChat(requestFor(m), (state) => setAnswers((all) => all.map((a, j) => (j === i ? state : a))), controller.signal)));
    const refused = finals.find((f) => f.status === 400 && f.param);
    if (refused) setErrors(formErrors(new ApiError(400, refused.error ?? 'Invalid request.', null, refused.param), playgroundFields));
  }

  const busy = answers.some((a) => a.running);
  const shown = compare ? [model, model2] : [model];
  return (
    <section>
      <div class="page-head">
        <h1 id="page-title" tabIndex={-1}>
          Playground
        </h1>
      </div>
      <div class={`playground-layout${compare ? ' compare' : ''}`}>
        <form
          class="form playground-form"
          id="playground-form"
          onSubmit={run}
          noValidate
          onKeyDown={(e) => {
            if ((e.ctrlKey || e.metaKey) && e.key === 'Enter') void run(e);
          }}
        >
          <ErrorBanner error={models.error} />
          <div class="grid">
            <SelectField
              label="Run as key"
              name="key_id"
              value={keyId}
              options={[{ value: '', label: 'Playground (no key, no limits)' }, ...(keys.data?.data ?? []).filter((k) => !k.revoked).map((k) => ({ value: k.id, label: `${k.name} (${k.id})` }))]}
              onValue={setKeyId}
              hint={keyId ? "Runs with this key's models, limits, budget and metering." : undefined}
              error={errors.fields.key_id}
            />
            <SelectField label={compare ? 'Model A' : 'Model'} name="model" value={model} options={names.length ? names : [{ value: '', label: 'no models' }]} onValue={setModel} error={errors.fields.model} />
            {compare && <SelectField label="Model B" name="model2" value={model2} options={names} onValue={setModel2} />}
            <div class="field check">
              <input id="f-compare" type="checkbox" checked={compare} onChange={(e) => setCompare(e.currentTarget.checked)} />
              <label for="f-compare">Compare two models side by side</label>
            </div>
          </div>
          <TextArea label="System prompt" name="system" rows={2} value={system} onValue={setSystem} placeholder="Optional" />
          <fieldset>
            <legend>Messages</legend>
            {errors.fields.messages && (
              <p class="field-error" role="alert">
                {errors.fields.messages}
              </p>
            )}
            <ol class="turns">
              {turns.map((t, i) => (
                <li class="turn">
                  <SelectField
                    label={`Role ${i + 1}`}
                    name={`turn-${i}-role`}
                    value={t.role}
                    options={['user', 'assistant']}
                    onValue={(v) => setTurns(turns.map((x, j) => (j === i ? { ...x, role: v as Turn['role'] } : x)))}
                  />
                  <TextArea label={`Message ${i + 1}`} name={`turn-${i}-content`} rows={3} value={t.content} onValue={(v) => setTurns(turns.map((x, j) => (j === i ? { ...x, content: v } : x)))} />
                  <button type="button" class="ghost danger" disabled={turns.length === 1} onClick={() => setTurns(turns.filter((_, j) => j !== i))}>
                    Remove message {i + 1}
                  </button>
                </li>
              ))}
            </ol>
            <div class="actions start">
              <button type="button" onClick={() => setTurns([...turns, { role: turns[turns.length - 1]?.role === 'user' ? 'assistant' : 'user', content: '' }])}>
                Add message
              </button>
              <button type="button" disabled={!answers[0]!.text || busy} onClick={() => setTurns([...turns, { role: 'assistant', content: answers[0]!.text }, { role: 'user', content: '' }])}>
                Continue from answer
              </button>
            </div>
          </fieldset>
          <details>
            <summary>Parameters and tools</summary>
            <div class="grid">
              <TextField label="Temperature" name="temperature" inputMode="decimal" value={temperature} onValue={setTemperature} placeholder="default" error={errors.fields.temperature} />
              <TextField label="Max tokens" name="max_tokens" inputMode="numeric" value={maxTokens} onValue={setMaxTokens} placeholder="default" error={errors.fields.max_tokens} />
              <div class="field check">
                <input id="f-stream" type="checkbox" checked={stream} onChange={(e) => setStream(e.currentTarget.checked)} />
                <label for="f-stream">Stream the answer</label>
              </div>
            </div>
            <TextArea
              label="Tools (JSON array)"
              name="tools"
              rows={4}
              value={tools}
              onValue={setTools}
              error={toolsError ?? errors.fields.tools}
              class="code-editor"
              placeholder='[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]'
            />
          </details>
          <div class="actions">
            <span class="muted small">{readOnly() ? 'Read-only sessions cannot run chats.' : 'Ctrl+Enter runs.'}</span>
            <button type="button" disabled={!busy} onClick={() => running.current?.abort()}>
              Stop
            </button>
            <button type="submit" class="primary" id="playground-run" disabled={busy || !model || Boolean(toolsError) || readOnly()} title={readOnly() ? 'A read-only session cannot run chats (they spend tokens).' : undefined}>
              {busy ? 'Running…' : 'Run'}
            </button>
          </div>
        </form>
        <div class={`answers${compare ? ' two' : ''}`}>
          {shown.map((m, i) => (
            <AnswerPane index={i} model={m} answer={answers[i]!} prices={prices.data ?? {}} />
          ))}
        </div>
      </div>
      <Snippets gateway={gateway} onGateway={setGateway} request={requestFor(model)} />
    </section>
  );
}
