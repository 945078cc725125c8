// Guards: the guards and pii config sections, edited as validated JSON, with a readable summary of the rules.
import { useEffect, useState } from 'preact/hooks';
import { api, get } from '../api';
import { checkJson, JsonEditor } from '../components/json-editor';
import { ResetButton } from '../components/reset-button';
import { announce, ErrorBanner, Loading, Notice } from '../components/status';
import { useSubmission } from '../forms';
import { pretty } from '../format';
import { useResource, useTitle } from '../hooks';
import { readOnly } from '../session';

type SectionName = 'guards' | 'pii';

/** The section's value from GET /admin/config/sections/:name, whether wrapped ({value}/{<name>}) or bare. */
export function sectionValue(answer: unknown, name: string): unknown {
  if (answer && typeof answer === 'object' && !Array.isArray(answer)) {
    const o = answer as Record<string, unknown>;
    if ('value' in o) return o.value;
    const keys = Object.keys(o).filter((k) => k !== 'generation' && k !== 'section' && k !== 'source');
    if (keys.length === 1 && keys[0] === name) return o[name];
    const { generation: _g, section: _s, source: _src, ...rest } = o;
    return rest;
  }
  return answer;
}

interface Rule {
  name?: string;
  action?: string;
  deny?: string[];
  allow?: string[];
  patterns?: string[];
  models?: string[];
  keys?: string[];
  detectors?: Record<string, string>;
  custom?: Array<{ name: string; mode: string }>;
}

const applies = (r: Rule) => [r.models?.length ? `models ${r.models.join(', ')}` : '', r.keys?.length ? `keys ${r.keys.join(', ')}` : ''].filter(Boolean).join('; ') || 'every request';

function Summary({ section, value }: { section: SectionName; value: unknown }) {
  const rows: Array<{ kind: string; rule: Rule; what: string }> = [];
  if (section === 'guards' && value && typeof value === 'object') {
    const v = value as { prompt?: Rule[]; output?: Rule[] };
    for (const r of v.prompt ?? []) rows.push({ kind: 'prompt', rule: r, what: `${r.deny?.length ?? 0} deny, ${r.allow?.length ?? 0} allow patterns` });
    for (const r of v.output ?? []) rows.push({ kind: 'output', rule: r, what: `${r.patterns?.length ?? 0} patterns` });
  }
  if (section === 'pii' && Array.isArray(value)) {
    for (const r of value as Rule[])
      rows.push({ kind: 'pii', rule: r, what: [...Object.entries(r.detectors ?? {}).map(([d, m]) => `${d}: ${m}`), ...(r.custom ?? []).map((c) => `${c.name}: ${c.mode}`)].join(', ') || 'no detectors' });
  }
  return (
    <div class="table-wrap">
      <table id={`${section}-summary`}>
        <caption>Rules in effect</caption>
        <thead>
          <tr>
            <th scope="col">Kind</th>
            <th scope="col">Name</th>
            <th scope="col">Action</th>
            <th scope="col">Checks</th>
            <th scope="col">Applies to</th>
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 && (
            <tr>
              <td colSpan={5} class="muted">
                No rules.
              </td>
            </tr>
          )}
          {rows.map(({ kind, rule, what }) => (
            <tr>
              <td>{kind}</td>
              <th scope="row">{rule.name ?? '–'}</th>
              <td>{rule.action ?? (kind === 'pii' ? 'redact' : '–')}</td>
              <td>{what}</td>
              <td>{applies(rule)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const examples: Record<SectionName, string> = {
  guards: '{"prompt": [{"name": "no-secrets", "deny": ["(?i)password"], "action": "reject"}], "output": []}',
  pii: '[{"name": "default", "detectors": {"email": "mask", "credit_card": "block"}}]',
};

function SectionEditor({ section }: { section: SectionName }) {
  const loaded = useResource((signal) => get<unknown>(`/admin/config/sections/${section}`, signal), [section]);
  const [text, setText] = useState('');
  // Every problem keeps its path (guards.prompt.0.deny.0: …): the whole section is one field here.
  const { errors, busy, run } = useSubmission([]);
  const original = loaded.data === undefined ? '' : pretty(sectionValue(loaded.data, section));
  useEffect(() => setText(original), [original]);
  const parsed = checkJson(text);
  const ro = readOnly();

  async function save(event: Event) {
    event.preventDefault();
    if (parsed.error) return;
    await run(async () => {
      const answer = await api<unknown>('PUT', `/admin/config/sections/${section}`, parsed.value);
      announce(`Section ${section} saved${answer && typeof answer === 'object' && 'generation' in answer ? ` (generation ${String((answer as { generation: unknown }).generation)})` : ''}.`);
      loaded.reload();
    });
  }

  if (loaded.error) return <ErrorBanner error={loaded.error} />;
  if (loaded.data === undefined) return <Loading what={`Loading ${section}`} />;
  return (
    <form onSubmit={save} noValidate class="form" onKeyDown={(e) => (e.ctrlKey || e.metaKey) && e.key === 's' && (e.preventDefault(), void save(e))}>
      <Summary section={section} value={parsed.error ? sectionValue(loaded.data, section) : parsed.value} />
      <ErrorBanner error={errors.general} problems={errors.problems} />
      <JsonEditor label={`${section} section`} name={`section-${section}`} value={text} onValue={setText} />
      <p class="muted small">
        Example: <code>{examples[section]}</code>. Ctrl+S saves.
      </p>
      <div class="actions">
        {(loaded.data as { source?: string }).source === 'store' && <ResetButton target={`sections.${section}`} label={section} onDone={loaded.reload} />}
        <button type="button" disabled={text === original} onClick={() => setText(original)}>
          Discard changes
        </button>
        <button type="button" disabled={Boolean(parsed.error)} onClick={() => parsed.value !== undefined && setText(pretty(parsed.value))}>
          Format
        </button>
        <button type="submit" class="primary" disabled={busy || ro || Boolean(parsed.error) || text === original}>
          {busy ? 'Saving…' : `Save ${section}`}
        </button>
      </div>
    </form>
  );
}

export function GuardsPage() {
  useTitle('Guards');
  const [section, setSection] = useState<SectionName>('guards');
  const tabs: Array<{ id: SectionName; label: string }> = [
    { id: 'guards', label: 'Prompt and output guards' },
    { id: 'pii', label: 'PII redaction' },
  ];
  return (
    <section>
      <div class="page-head">
        <h1 id="page-title" tabIndex={-1}>
          Guards
        </h1>
      </div>
      <Notice>Prompt guards refuse or answer requests whose text matches RE2 patterns; output guards mask or stop answers; PII policies mask, block or pseudonymise personal data. See docs/guardrails.md for every field.</Notice>
      <div role="tablist" aria-label="Section" class="tabs">
        {tabs.map((t) => (
          <button
            type="button"
            role="tab"
            id={`tab-${t.id}`}
            aria-selected={section === t.id}
            aria-controls={`panel-${t.id}`}
            tabIndex={section === t.id ? 0 : -1}
            onClick={() => setSection(t.id)}
            onKeyDown={(e) => {
              if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
                const next = tabs[(tabs.findIndex((x) => x.id === section) + 1) % tabs.length]!;
                setSection(next.id);
                document.getElementById(`tab-${next.id}`)?.focus();
              }
            }}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`panel-${section}`} aria-labelledby={`tab-${section}`}>
        <SectionEditor section={section} key={section} />
      </div>
    </section>
  );
}
