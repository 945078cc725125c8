// The Playground request as curl / OpenAI SDK / Anthropic SDK code, with the gateway URL they point at.
import { useState } from 'preact/hooks';
import { CopyButton } from '../components/copy';
import { TextField } from '../components/field';
import type { ChatRequest } from '../playground-stream';
import { anthropicSnippet, curlSnippet, openAISnippet } from '../snippets';

const kinds = [
  { id: 'curl', label: 'curl', make: curlSnippet },
  { id: 'openai', label: 'OpenAI SDK (TS)', make: openAISnippet },
  { id: 'anthropic', label: 'Anthropic SDK (TS)', make: anthropicSnippet },
] as const;

export function Snippets({ gateway, onGateway, request }: { gateway: string; onGateway: (url: string) => void; request: ChatRequest }) {
  const [kind, setKind] = useState<(typeof kinds)[number]['id']>('curl');
  const current = kinds.find((k) => k.id === kind)!;
  const base = gateway.replace(/\/+$/, '') || 'http://localhost:8080';
  const code = current.make(base, request);
  return (
    <section class="card snippets" aria-labelledby="snippets-title">
      <div class="block-head">
        <h2 id="snippets-title">Copy as code</h2>
        <CopyButton text={code} what={`The ${current.label} snippet`} label={`Copy ${current.label}`} />
      </div>
      <div class="grid">
        <TextField label="Public gateway URL" name="gateway" value={gateway} onValue={onGateway} hint="The snippets read the key from SWITCHYARD_API_KEY." wide autocomplete="off" />
      </div>
      <div role="tablist" aria-label="Snippet language" class="tabs">
        {kinds.map((k, i) => (
          <button
            type="button"
            role="tab"
            id={`snippet-tab-${k.id}`}
            aria-selected={k.id === kind}
            aria-controls="snippet-panel"
            tabIndex={k.id === kind ? 0 : -1}
            onClick={() => setKind(k.id)}
            onKeyDown={(e) => {
              const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
              if (!step) return;
              const next = kinds[(i + step + kinds.length) % kinds.length]!;
              setKind(next.id);
              document.getElementById(`snippet-tab-${next.id}`)?.focus();
            }}
          >
            {k.label}
          </button>
        ))}
      </div>
      <pre class="code-block" id="snippet-panel" role="tabpanel" aria-labelledby={`snippet-tab-${kind}`} tabIndex={0}>
        {code}
      </pre>
    </section>
  );
}
