// Canonical chunks → Anthropic's Messages SSE: message_start, then one content block at a time
// (start / deltas / stop, indexes counting up), then message_delta with the stop reason and usage, and
// message_stop. Anthropic cannot interleave blocks, so a change of kind closes the open block.
import type { ChatChunk, ChatUsage, ChunkDelta, FinishReason, CanonicalError, JsonObject, ThinkingBlock } from '../../translate/canonical.js';
import type { EncodeContext, StreamEncoder } from '../../translate/dialect.js';
import { anthropicErrorJson, anthropicErrorType } from './errors.js';
import { anthropicUsage, messageId, stopReason } from './response.js';

type ToolCallDelta = NonNullable<ChunkDelta['tool_calls']>[number];

type OpenBlock = { kind: 'text' } | { kind: 'thinking' } | { kind: 'tool'; call: number; id: string };

export function sseEvent(type: string, data: JsonObject): string {
  return `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
}

export class AnthropicStreamEncoder implements StreamEncoder {
  private started = false;
  /** message_stop or an error event was written: nothing more may follow. */
  private done = false;
  private nextIndex = 0;
  private openIndex = -1;
  private open: OpenBlock | null = null;
  private finish: FinishReason | null = null;
  private usage: ChatUsage | null = null;
  private hadToolCalls = false;
  private readonly closedCalls = new Set<number>();

  constructor(private readonly ctx: EncodeContext) {}

  push(chunk: ChatChunk): string {
    if (this.done) return '';
    let out = this.start(chunk.id);
    const choice = chunk.choices[0];
    if (choice !== undefined) {
      out += this.delta(choice.delta);
      if (choice.finish_reason) {
        this.finish = choice.finish_reason;
        out += this.closeBlock();
      }
    }
    if (chunk.usage) this.usage = chunk.usage;
    // The stop reason waits for the usage (which comes after it) so message_delta carries both.
    if (this.finish !== null && this.usage !== null) out += this.stop();
    return out;
  }

  end(): string {
    if (this.done) return '';
    return this.start(undefined) + this.stop();
  }

  error(body: CanonicalError, status: number): string {
    if (this.done) return '';
    this.done = true;
    return `event: error\ndata: ${anthropicErrorJson(anthropicErrorType(status, body), body.error.message)}\n\n`;
  }

  private start(upstreamId: string | undefined): string {
    if (this.started) return '';
    this.started = true;
    const message = {
      id: messageId(upstreamId, this.ctx.requestId),
      type: 'message',
      role: 'assistant',
      model: this.ctx.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      // The provider's count comes with message_delta; until then the gateway's, for clients that read it here.
      usage: { ...anthropicUsage(null), input_tokens: this.ctx.promptTokens ?? 0 },
    };
    return sseEvent('message_start', { type: 'message_start', message }) + sseEvent('ping', { type: 'ping' });
  }

  private stop(): string {
    this.done = true;
    const delta = { stop_reason: stopReason(this.finish, this.hadToolCalls), stop_sequence: null };
    return (
      this.closeBlock() +
      sseEvent('message_delta', { type: 'message_delta', delta, usage: anthropicUsage(this.usage) }) +
      sseEvent('message_stop', { type: 'message_stop' })
    );
  }

  private delta(delta: ChunkDelta): string {
    let out = '';
    if (delta.reasoning_content) out += this.ensureOpen('thinking') + this.blockDelta({ type: 'thinking_delta', thinking: delta.reasoning_content });
    for (const block of delta.thinking_blocks ?? []) out += this.thinkingBlock(block);
    const text = delta.content || delta.refusal;
    if (text) out += this.ensureOpen('text') + this.blockDelta({ type: 'text_delta', text });
    for (const call of delta.tool_calls ?? []) out += this.toolCall(call);
    return out;
  }

  /**
   * A thinking block ends the reasoning streamed before it: its signature closes the open thinking block.
   * With no open block its text was not streamed, so the block is sent whole.
   */
  private thinkingBlock(block: ThinkingBlock): string {
    if (block.type === 'redacted_thinking') {
      return this.closeBlock() + this.openBlock({ kind: 'thinking' }, { type: 'redacted_thinking', data: block.data }) + this.closeBlock();
    }
    let out = '';
    if (this.open?.kind !== 'thinking') {
      if (block.thinking === '' && !block.signature) return '';
      out += this.ensureOpen('thinking');
      if (block.thinking !== '') out += this.blockDelta({ type: 'thinking_delta', thinking: block.thinking });
    }
    if (block.signature) out += this.blockDelta({ type: 'signature_delta', signature: block.signature });
    return out + this.closeBlock();
  }

  private toolCall(call: ToolCallDelta): string {
    let out = '';
    const open = this.open;
    const continues = open?.kind === 'tool' && open.call === call.index && (call.id === undefined || call.id === open.id);
    if (!continues) {
      // Calls stream one after another (the canonical convention); a piece of a call already closed has
      // no block to go to and is dropped.
      if (this.closedCalls.has(call.index) && call.id === undefined) return '';
      out += this.closeBlock();
      const id = call.id ?? `toolu_${this.ctx.requestId.replace(/[^A-Za-z0-9_]/g, '')}_${call.index}`;
      this.hadToolCalls = true;
      out += this.openBlock({ kind: 'tool', call: call.index, id }, { type: 'tool_use', id, name: call.function?.name ?? '', input: {} });
    }
    const args = call.function?.arguments;
    if (args) out += this.blockDelta({ type: 'input_json_delta', partial_json: args });
    return out;
  }

  private ensureOpen(kind: 'text' | 'thinking'): string {
    if (this.open?.kind === kind) return '';
    const block = kind === 'text' ? { type: 'text', text: '' } : { type: 'thinking', thinking: '', signature: '' };
    return this.closeBlock() + this.openBlock({ kind }, block);
  }

  private openBlock(open: OpenBlock, contentBlock: JsonObject): string {
    this.open = open;
    this.openIndex = this.nextIndex++;
    return sseEvent('content_block_start', { type: 'content_block_start', index: this.openIndex, content_block: contentBlock });
  }

  private blockDelta(delta: JsonObject): string {
    return sseEvent('content_block_delta', { type: 'content_block_delta', index: this.openIndex, delta });
  }

  private closeBlock(): string {
    const open = this.open;
    if (open === null) return '';
    if (open.kind === 'tool') this.closedCalls.add(open.call);
    this.open = null;
    return sseEvent('content_block_stop', { type: 'content_block_stop', index: this.openIndex });
  }
}
