// A normal-looking completion that declines the request, for prompt guards with action "refuse":
// SDKs get a well-formed answer (finish_reason "stop") instead of an error.
import { randomUUID } from 'node:crypto';

export interface SyntheticResponse {
  status: number;
  contentType: string;
  body: string;
}

export function refusalResponse(model: string, message: string, stream: boolean): SyntheticResponse {
  const id = `chatcmpl-guard-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  if (!stream) {
    return {
      status: 200,
      contentType: 'application/json',
      body: JSON.stringify({
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: message, refusal: null }, finish_reason: 'stop', logprobs: null }],
        usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
      }),
    };
  }
  const chunk = (delta: object, finish: string | null) =>
    `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] })}\n\n`;
  return {
    status: 200,
    contentType: 'text/event-stream; charset=utf-8',
    body: chunk({ role: 'assistant', content: message }, null) + chunk({}, 'stop') + 'data: [DONE]\n\n',
  };
}
