// One Playground answer pane: the text as it streams, then TTFT, tokens, cost and the deployment that answered.
import { Badge } from '../components/status';
import { fmtCount, fmtMs, fmtUsd } from '../format';
import type { AnswerState } from '../playground-stream';
import { costOf, type PriceTable } from '../prices';

interface AnswerProps {
  index: number;
  model: string;
  answer: AnswerState;
  prices: PriceTable;
}

/** Names a price may be listed under: the client's model, the answering model, the deployment's upstream model. */
function priceNames(model: string, a: AnswerState): string[] {
  const upstream = a.deployment?.includes('/') ? a.deployment.slice(a.deployment.indexOf('/') + 1) : undefined;
  return [model, a.responseModel, upstream].filter((n): n is string => Boolean(n));
}

export function AnswerPane({ index, model, answer: a, prices }: AnswerProps) {
  const cost = a.usage ? costOf(prices, priceNames(model, a), a.usage) : undefined;
  const tone = a.error ? 'bad' : a.running ? 'warn' : a.status ? 'ok' : 'muted';
  return (
    <section class="card answer" id={`answer-${index}`} aria-labelledby={`answer-${index}-title`} aria-busy={a.running}>
      <div class="block-head">
        <h2 id={`answer-${index}-title`}>{model || 'No model chosen'}</h2>
        <Badge tone={tone}>{a.running ? 'streaming' : a.error ? 'error' : a.status ? `${a.status}${a.finish ? ` · ${a.finish}` : ''}` : 'idle'}</Badge>
      </div>
      <dl class="facts compact answer-facts">
        <dt>Deployment</dt>
        <dd>
          <code class="answer-deployment">{a.deployment ?? '–'}</code>
          {a.attempts && a.attempts !== '1' && <span class="muted"> ({a.attempts} attempts)</span>}
        </dd>
        <dt>TTFT</dt>
        <dd class="answer-ttft">{fmtMs(a.ttftMs)}</dd>
        <dt>Total</dt>
        <dd>{fmtMs(a.elapsedMs)}</dd>
        <dt>Tokens</dt>
        <dd class="answer-tokens">{a.usage ? `${fmtCount(a.usage.prompt_tokens)} in · ${fmtCount(a.usage.completion_tokens)} out` : '–'}</dd>
        <dt>Cost</dt>
        <dd class="answer-cost">{a.usage ? (cost === undefined ? 'no price' : fmtUsd(cost)) : '–'}</dd>
      </dl>
      {a.error && (
        <p class="banner error" role="alert">
          {a.error}
        </p>
      )}
      <div class="answer-text" aria-live={a.running ? 'off' : 'polite'}>
        {a.text}
        {a.running && <span class="cursor" aria-hidden="true" />}
      </div>
      {a.toolCalls.length > 0 && (
        <div class="tool-calls">
          <h3>Tool calls</h3>
          {a.toolCalls.map((t) => (
            <pre class="code-block">
              {t.name}({t.arguments})
            </pre>
          ))}
        </div>
      )}
    </section>
  );
}
