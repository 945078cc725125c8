// A canonical chunk stream as the Responses API's semantic events: response.created and .in_progress, then
// per output item .output_item.added … .output_item.done, then response.completed (or .incomplete) carrying
// the whole response with its usage. Reasoning text is streamed as a reasoning summary, the form the SDKs
// read. Every event has a `sequence_number` counting from 0 and an `event:` line naming its type.
import type { CanonicalError, ChatChunk, ChatUsage, ChunkDelta, FinishReason, JsonObject, ThinkingBlock } from '../../translate/canonical.js';
import type { EncodeContext, StreamEncoder } from '../../translate/dialect.js';
import {
  functionCallItem, incompleteReason, itemId, messageItem, outputTextPart, reasoningItem, responseObject, responsesUsage,
  type ResponseState, type ResponseStatus,
} from './response.js';

interface MessagePart {
  kind: 'output_text' | 'refusal';
  text: string;
}

type OpenItem =
  | { kind: 'message'; outputIndex: number; id: string; parts: MessagePart[] }
  | { kind: 'reasoning'; outputIndex: number; id: string; text: string; blocks: ThinkingBlock[]; sinceBlock: string };

interface FunctionCall {
  outputIndex: number;
  id: string;
  callId: string;
  name: string;
  args: string;
  open: boolean;
}

class ResponsesStreamEncoder implements StreamEncoder {
  private sequence = 0;
  private started = false;
  private finished = false;
  private nextOutputIndex = 0;
  private readonly output: JsonObject[] = [];
  private item: OpenItem | undefined;
  private readonly calls = new Map<number, FunctionCall>();
  private finish: FinishReason | null = null;
  private usage: ChatUsage | undefined;

  constructor(private readonly ctx: EncodeContext) {}

  push(chunk: ChatChunk): string {
    if (this.finished) return '';
    let out = this.start();
    for (const choice of chunk.choices) {
      if (choice.index !== 0) continue;
      out += this.delta(choice.delta);
      if (choice.finish_reason !== null && choice.finish_reason !== undefined) {
        this.finish = choice.finish_reason;
        out += this.closeAll();
      }
    }
    if (chunk.usage) {
      this.usage = chunk.usage;
      if (this.finish !== null) out += this.terminal();
    }
    return out;
  }

  end(): string {
    if (this.finished) return '';
    return this.start() + this.closeAll() + this.terminal();
  }

  error(body: CanonicalError, _status: number): string {
    if (this.finished) return '';
    let out = this.start();
    const e = body.error;
    // The reference documents a flat {code, message, param}; OpenAI's live streams nest it under `error`,
    // which is what the openai SDK raises on. Both are sent, so either reader finds it.
    out += this.event('error', { code: e.code, message: e.message, param: e.param, error: { type: e.type, code: e.code, message: e.message, param: e.param } });
    this.finished = true;
    const state: ResponseState = { status: 'failed', output: this.finalOutput(), usage: null, error: { code: e.code ?? e.type, message: e.message } };
    return out + this.event('response.failed', { response: responseObject(this.ctx, state) });
  }

  private event(type: string, fields: JsonObject): string {
    const data = JSON.stringify({ type, sequence_number: this.sequence++, ...fields });
    return `event: ${type}\ndata: ${data}\n\n`;
  }

  private start(): string {
    if (this.started) return '';
    this.started = true;
    const state: ResponseState = { status: 'in_progress', output: [], usage: null };
    return (
      this.event('response.created', { response: responseObject(this.ctx, state) }) +
      this.event('response.in_progress', { response: responseObject(this.ctx, state) })
    );
  }

  private delta(delta: ChunkDelta): string {
    let out = '';
    if (typeof delta.reasoning_content === 'string' && delta.reasoning_content !== '') out += this.reasoningText(delta.reasoning_content);
    if (delta.thinking_blocks) for (const block of delta.thinking_blocks) out += this.thinkingBlock(block);
    if (typeof delta.content === 'string' && delta.content !== '') out += this.messageText('output_text', delta.content);
    if (typeof delta.refusal === 'string' && delta.refusal !== '') out += this.messageText('refusal', delta.refusal);
    if (delta.tool_calls) for (const call of delta.tool_calls) out += this.toolCall(call);
    return out;
  }

  private reasoningText(text: string): string {
    let out = '';
    let item = this.item;
    if (item?.kind !== 'reasoning') {
      out += this.openReasoning();
      item = this.item as Extract<OpenItem, { kind: 'reasoning' }>;
    }
    if (item.text === '') {
      out += this.event('response.reasoning_summary_part.added', { item_id: item.id, output_index: item.outputIndex, summary_index: 0, part: { type: 'summary_text', text: '' } });
    }
    item.text += text;
    item.sinceBlock += text;
    return out + this.event('response.reasoning_summary_text.delta', { item_id: item.id, output_index: item.outputIndex, summary_index: 0, delta: text });
  }

  /** A block boundary: its signature (or a redacted block) kept for encrypted_content. */
  private thinkingBlock(block: ThinkingBlock): string {
    let out = '';
    if (this.item?.kind !== 'reasoning') out += this.openReasoning();
    const item = this.item as Extract<OpenItem, { kind: 'reasoning' }>;
    item.blocks.push(block.type === 'thinking' && block.thinking === '' ? { ...block, thinking: item.sinceBlock } : block);
    item.sinceBlock = '';
    return out;
  }

  private openReasoning(): string {
    const out = this.closeAll();
    const outputIndex = this.nextOutputIndex++;
    const id = itemId('rs', this.ctx, outputIndex);
    this.item = { kind: 'reasoning', outputIndex, id, text: '', blocks: [], sinceBlock: '' };
    return out + this.event('response.output_item.added', { output_index: outputIndex, item: { id, type: 'reasoning', summary: [] } });
  }

  private messageText(kind: MessagePart['kind'], text: string): string {
    let out = '';
    if (this.item?.kind !== 'message') {
      out += this.closeAll();
      const outputIndex = this.nextOutputIndex++;
      const id = itemId('msg', this.ctx, outputIndex);
      this.item = { kind: 'message', outputIndex, id, parts: [] };
      out += this.event('response.output_item.added', { output_index: outputIndex, item: messageItem(id, 'in_progress', []) });
    }
    const item = this.item as Extract<OpenItem, { kind: 'message' }>;
    const where = (index: number): JsonObject => ({ item_id: item.id, output_index: item.outputIndex, content_index: index });
    let part = item.parts.at(-1);
    if (part?.kind !== kind) {
      if (part !== undefined) out += this.closePart(item, item.parts.length - 1);
      part = { kind, text: '' };
      item.parts.push(part);
      out += this.event('response.content_part.added', { ...where(item.parts.length - 1), part: partObject(part) });
    }
    part.text += text;
    const index = item.parts.length - 1;
    return out + (kind === 'output_text'
      ? this.event('response.output_text.delta', { ...where(index), delta: text, logprobs: [] })
      : this.event('response.refusal.delta', { ...where(index), delta: text }));
  }

  private closePart(item: Extract<OpenItem, { kind: 'message' }>, index: number): string {
    const part = item.parts[index];
    const where = { item_id: item.id, output_index: item.outputIndex, content_index: index };
    const done = part.kind === 'output_text'
      ? this.event('response.output_text.done', { ...where, text: part.text, logprobs: [] })
      : this.event('response.refusal.done', { ...where, refusal: part.text });
    return done + this.event('response.content_part.done', { ...where, part: partObject(part) });
  }

  private toolCall(call: NonNullable<ChunkDelta['tool_calls']>[number]): string {
    let out = '';
    let state = this.calls.get(call.index);
    if (state === undefined) {
      if (call.id === undefined) return '';
      if (this.item !== undefined) out += this.closeItem(this.item);
      const outputIndex = this.nextOutputIndex++;
      state = { outputIndex, id: itemId('fc', this.ctx, outputIndex), callId: call.id, name: call.function?.name ?? '', args: '', open: true };
      this.calls.set(call.index, state);
      out += this.event('response.output_item.added', { output_index: outputIndex, item: functionCallItem(state.id, 'in_progress', { id: state.callId, name: state.name, arguments: '' }) });
    }
    const piece = call.function?.arguments ?? '';
    if (piece === '') return out;
    state.args += piece;
    return out + this.event('response.function_call_arguments.delta', { item_id: state.id, output_index: state.outputIndex, delta: piece });
  }

  private itemStatus(): ResponseStatus {
    return incompleteReason(this.finish) === undefined ? 'completed' : 'incomplete';
  }

  private closeItem(item: OpenItem): string {
    this.item = undefined;
    const status = this.itemStatus();
    let out = '';
    let done: JsonObject;
    if (item.kind === 'message') {
      // Earlier parts were closed when the next one opened.
      if (item.parts.length > 0) out += this.closePart(item, item.parts.length - 1);
      done = messageItem(item.id, status, item.parts.map(partObject));
    } else {
      if (item.text !== '') {
        const where = { item_id: item.id, output_index: item.outputIndex, summary_index: 0 };
        out += this.event('response.reasoning_summary_text.done', { ...where, text: item.text });
        out += this.event('response.reasoning_summary_part.done', { ...where, part: { type: 'summary_text', text: item.text } });
      }
      done = reasoningItem(this.ctx, item.id, item.text, item.blocks);
    }
    this.output[item.outputIndex] = done;
    return out + this.event('response.output_item.done', { output_index: item.outputIndex, item: done });
  }

  /** Closes the open item and every open function call, in output order. */
  private closeAll(): string {
    let out = this.item === undefined ? '' : this.closeItem(this.item);
    const status = this.itemStatus();
    for (const call of [...this.calls.values()].sort((a, b) => a.outputIndex - b.outputIndex)) {
      if (!call.open) continue;
      call.open = false;
      out += this.event('response.function_call_arguments.done', { item_id: call.id, output_index: call.outputIndex, name: call.name, arguments: call.args });
      const done = functionCallItem(call.id, status, { id: call.callId, name: call.name, arguments: call.args });
      this.output[call.outputIndex] = done;
      out += this.event('response.output_item.done', { output_index: call.outputIndex, item: done });
    }
    return out;
  }

  private finalOutput(): JsonObject[] {
    return this.output.filter((item) => item !== undefined);
  }

  private terminal(): string {
    this.finished = true;
    const reason = incompleteReason(this.finish);
    const state: ResponseState = {
      status: reason === undefined ? 'completed' : 'incomplete',
      output: this.finalOutput(),
      usage: this.usage === undefined ? null : responsesUsage(this.usage),
      incompleteReason: reason,
    };
    return this.event(reason === undefined ? 'response.completed' : 'response.incomplete', { response: responseObject(this.ctx, state) });
  }
}

function partObject(part: MessagePart): JsonObject {
  return part.kind === 'output_text' ? outputTextPart(part.text) : { type: 'refusal', refusal: part.text };
}

export function responsesStreamEncoder(ctx: EncodeContext): StreamEncoder {
  return new ResponsesStreamEncoder(ctx);
}
