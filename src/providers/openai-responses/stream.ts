// Responses API stream events as canonical chunks: text, refusal and reasoning deltas, function calls by
// output item, and on response.completed / .incomplete the finish reason and a usage chunk; an `error`
// event or response.failed becomes one canonical error.
import { errors } from '../../shared/errors.js';
import type { CanonicalError, ChatChunk, ChunkDelta, FinishReason, JsonObject } from '../../translate/canonical.js';
import type { ProviderTarget, StreamDecoder, UpstreamEvent } from '../../translate/provider.js';
import { canonicalUsage, failedError, finishOf, isObject } from './response-fields.js';

type Out = Array<ChatChunk | CanonicalError>;

interface CallState {
  index: number;
  /** Argument text sent on so far, to fill in from a .done event when no deltas came. */
  sent: string;
}

export class ResponsesStreamDecoder implements StreamDecoder {
  complete = false;
  private id: string;
  private model: string;
  private created: number;
  private roleSent = false;
  private failed = false;
  private readonly calls = new Map<string, CallState>();
  /** Text sent per message item, for a .done event that comes without deltas. */
  private readonly texts = new Map<string, string>();

  constructor(private readonly target: ProviderTarget) {
    this.id = `chatcmpl-${target.requestId}`;
    this.model = target.upstreamModel;
    this.created = target.created;
  }

  push(event: UpstreamEvent): Out {
    if (this.complete || event.data === '' || event.data === '[DONE]') return [];
    let data: unknown;
    try {
      data = JSON.parse(event.data);
    } catch {
      throw errors.upstreamInvalidResponse(this.target.provider.name, 'a Responses stream event is not JSON.');
    }
    if (!isObject(data)) throw errors.upstreamInvalidResponse(this.target.provider.name, 'a Responses stream event is not a JSON object.');
    const type = typeof data.type === 'string' ? data.type : event.event;
    switch (type) {
      case 'response.created':
        if (isObject(data.response)) this.identify(data.response);
        return this.delta({});
      case 'response.output_text.delta':
        return this.text(data, 'content');
      case 'response.refusal.delta':
        return this.text(data, 'refusal');
      case 'response.reasoning_summary_text.delta':
      case 'response.reasoning_text.delta':
        return typeof data.delta === 'string' && data.delta !== '' ? this.delta({ reasoning_content: data.delta }) : [];
      case 'response.output_text.done':
        return this.missingText(data);
      case 'response.output_item.added':
        return isObject(data.item) && data.item.type === 'function_call' ? this.openCall(data.item) : [];
      case 'response.function_call_arguments.delta':
        return this.callArguments(data.item_id, data.delta, false);
      case 'response.function_call_arguments.done':
        return this.callArguments(data.item_id, data.arguments, true);
      case 'response.output_item.done':
        return isObject(data.item) && data.item.type === 'function_call' ? this.callArguments(data.item.id, data.item.arguments, true) : [];
      case 'response.completed':
      case 'response.incomplete':
        return isObject(data.response) ? this.finish(data.response) : [];
      case 'response.failed':
        this.complete = true;
        return this.failed || !isObject(data.response) ? [] : this.fail(failedError(data.response, this.target.provider.name));
      case 'error':
        return this.failed ? [] : this.fail(streamError(data));
      default:
        return [];
    }
  }

  end(): Out {
    return [];
  }

  private identify(response: JsonObject): void {
    if (typeof response.id === 'string') this.id = response.id;
    if (typeof response.model === 'string') this.model = response.model;
    if (typeof response.created_at === 'number') this.created = response.created_at;
  }

  private chunk(delta: ChunkDelta, finish: FinishReason | null = null): ChatChunk {
    return { id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [{ index: 0, delta, finish_reason: finish }] };
  }

  /** A delta, preceded by the role chunk the canonical stream starts with. */
  private delta(delta: ChunkDelta): Out {
    if (this.roleSent) return Object.keys(delta).length === 0 ? [] : [this.chunk(delta)];
    this.roleSent = true;
    return [this.chunk({ role: 'assistant', ...delta })];
  }

  private text(data: JsonObject, key: 'content' | 'refusal'): Out {
    if (typeof data.delta !== 'string' || data.delta === '') return [];
    if (typeof data.item_id === 'string') this.texts.set(data.item_id, (this.texts.get(data.item_id) ?? '') + data.delta);
    return this.delta({ [key]: data.delta });
  }

  private missingText(data: JsonObject): Out {
    if (typeof data.item_id !== 'string' || typeof data.text !== 'string' || this.texts.has(data.item_id) || data.text === '') return [];
    this.texts.set(data.item_id, data.text);
    return this.delta({ content: data.text });
  }

  private openCall(item: JsonObject): Out {
    if (typeof item.id !== 'string' || this.calls.has(item.id)) return [];
    const state: CallState = { index: this.calls.size, sent: '' };
    this.calls.set(item.id, state);
    const name = typeof item.name === 'string' ? item.name : '';
    const callId = typeof item.call_id === 'string' ? item.call_id : item.id;
    const out = this.delta({ tool_calls: [{ index: state.index, id: callId, type: 'function', function: { name, arguments: '' } }] });
    return typeof item.arguments === 'string' && item.arguments !== '' ? [...out, ...this.callArguments(item.id, item.arguments, false)] : out;
  }

  /** An arguments piece, or (`final`) the whole arguments, of which only what was not sent yet goes on. */
  private callArguments(itemId: unknown, text: unknown, final: boolean): Out {
    const state = typeof itemId === 'string' ? this.calls.get(itemId) : undefined;
    if (state === undefined || typeof text !== 'string') return [];
    const piece = final ? (text.startsWith(state.sent) ? text.slice(state.sent.length) : '') : text;
    if (piece === '') return [];
    state.sent += piece;
    return this.delta({ tool_calls: [{ index: state.index, function: { arguments: piece } }] });
  }

  private finish(response: JsonObject): Out {
    this.complete = true;
    const out = this.delta({});
    out.push(this.chunk({}, finishOf(response, this.calls.size > 0) ?? 'stop'));
    if (isObject(response.usage)) {
      out.push({ id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [], usage: canonicalUsage(response.usage) });
    }
    return out;
  }

  private fail(error: CanonicalError): Out {
    this.failed = true;
    return [error];
  }
}

/** An `error` event: OpenAI sends {code, message, param} at the top level, or nested under `error`. */
function streamError(data: JsonObject): CanonicalError {
  const source = isObject(data.error) ? data.error : data;
  const code = typeof source.code === 'string' ? source.code : null;
  return {
    error: {
      message: typeof source.message === 'string' ? source.message : 'The provider reported an error in the stream.',
      type: typeof source.type === 'string' && source.type !== 'error' ? source.type : (code ?? 'api_error'),
      param: typeof source.param === 'string' ? source.param : null,
      code,
    },
  };
}
