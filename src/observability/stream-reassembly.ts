// Rebuilds the final answer (text, tool calls, finish reason, usage) from streamed chat/completions
// chunks, so the audit record of a stream looks like a non-streamed response.
import type { ChunkEvent, ResponseFilter } from '../pipeline/stage.js';

export interface ReassembledToolCall {
  id: string | undefined;
  type: string;
  function: { name: string; arguments: string };
}

export interface ReassembledChoice {
  index: number;
  message: { role: string; content: string | null; tool_calls?: ReassembledToolCall[]; refusal?: string };
  finish_reason: string | null;
}

export interface ReassembledResponse {
  id: string | undefined;
  object: 'chat.completion' | 'text_completion';
  model: string | undefined;
  choices: ReassembledChoice[];
  usage: Record<string, unknown> | undefined;
}

interface ChoiceParts {
  role: string;
  text: string[];
  refusal: string[];
  tools: Map<number, { id: string | undefined; type: string; name: string[]; args: string[] }>;
  finish: string | null;
  sawContent: boolean;
}

/** An observing filter: passes every event through untouched and keeps what it needs to rebuild the answer. */
export class StreamReassembler implements ResponseFilter {
  readonly mutates = false;
  private id: string | undefined;
  private model: string | undefined;
  private object: ReassembledResponse['object'] = 'chat.completion';
  private usage: Record<string, unknown> | undefined;
  private readonly choices = new Map<number, ChoiceParts>();

  onEvent(event: ChunkEvent): ChunkEvent {
    const json = event.json;
    if (json !== undefined) this.take(json);
    return event;
  }

  private take(json: Record<string, unknown>): void {
    if (typeof json.id === 'string') this.id ??= json.id;
    if (typeof json.model === 'string') this.model ??= json.model;
    if (json.object === 'text_completion') this.object = 'text_completion';
    if (json.usage && typeof json.usage === 'object') this.usage = json.usage as Record<string, unknown>;
    if (!Array.isArray(json.choices)) return;
    for (const raw of json.choices as unknown[]) {
      if (!raw || typeof raw !== 'object') continue;
      const c = raw as Record<string, unknown>;
      const parts = this.choice(typeof c.index === 'number' ? c.index : 0);
      if (typeof c.finish_reason === 'string') parts.finish = c.finish_reason;
      if (typeof c.text === 'string') {
        parts.text.push(c.text);
        parts.sawContent = true;
      }
      const delta = c.delta as Record<string, unknown> | undefined;
      if (delta && typeof delta === 'object') this.takeDelta(parts, delta);
    }
  }

  private takeDelta(parts: ChoiceParts, delta: Record<string, unknown>): void {
    if (typeof delta.role === 'string') parts.role = delta.role;
    if (typeof delta.content === 'string') {
      parts.text.push(delta.content);
      parts.sawContent = true;
    }
    if (typeof delta.refusal === 'string') parts.refusal.push(delta.refusal);
    if (!Array.isArray(delta.tool_calls)) return;
    for (const rawCall of delta.tool_calls as unknown[]) {
      if (!rawCall || typeof rawCall !== 'object') continue;
      const call = rawCall as Record<string, unknown>;
      const index = typeof call.index === 'number' ? call.index : parts.tools.size;
      let tool = parts.tools.get(index);
      if (tool === undefined) {
        tool = { id: undefined, type: 'function', name: [], args: [] };
        parts.tools.set(index, tool);
      }
      if (typeof call.id === 'string') tool.id = call.id;
      if (typeof call.type === 'string') tool.type = call.type;
      const fn = call.function as Record<string, unknown> | undefined;
      if (fn && typeof fn === 'object') {
        if (typeof fn.name === 'string') tool.name.push(fn.name);
        if (typeof fn.arguments === 'string') tool.args.push(fn.arguments);
      }
    }
  }

  private choice(index: number): ChoiceParts {
    let parts = this.choices.get(index);
    if (parts === undefined) {
      parts = { role: 'assistant', text: [], refusal: [], tools: new Map(), finish: null, sawContent: false };
      this.choices.set(index, parts);
    }
    return parts;
  }

  /** The answer as a non-streamed response would have carried it. */
  result(): ReassembledResponse {
    const choices = [...this.choices.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([index, p]): ReassembledChoice => {
        const message: ReassembledChoice['message'] = { role: p.role, content: p.sawContent ? p.text.join('') : null };
        if (p.tools.size > 0) {
          message.tool_calls = [...p.tools.entries()]
            .sort((a, b) => a[0] - b[0])
            .map(([, t]) => ({ id: t.id, type: t.type, function: { name: t.name.join(''), arguments: t.args.join('') } }));
        }
        if (p.refusal.length > 0) message.refusal = p.refusal.join('');
        return { index, message, finish_reason: p.finish };
      });
    return { id: this.id, object: this.object, model: this.model, choices, usage: this.usage };
  }
}
