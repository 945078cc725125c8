// ConverseStream events (decoded event-stream messages) → canonical chat.completion.chunks.
import { errors } from '../../shared/errors.js';
import type { CanonicalError, ChatChunk, ChunkDelta, FinishReason, JsonObject } from '../../translate/canonical.js';
import type { ProviderTarget, StreamDecoder, UpstreamEvent } from '../../translate/provider.js';
import { isException, streamException } from './errors.js';
import { jsonToolName } from './request.js';
import { canonicalUsage, finishReasonOf, isObject, thinkingBlockOf } from './response.js';

type Out = Array<ChatChunk | CanonicalError>;

/** What a content block (by contentBlockIndex) turned out to be. */
type Block =
  | { kind: 'text' }
  | { kind: 'json' }
  | { kind: 'tool'; index: number }
  | { kind: 'reasoning'; text: string; signature: string; redacted: string | undefined };

/**
 * Text and reasoning blocks arrive without a contentBlockStart (only toolUse blocks have one), so a delta
 * names its block's kind. Reasoning streams as reasoning_content; at the block's stop its thinking block
 * (text and signature, or the redacted data) follows in thinking_blocks. metadata is the terminal event.
 */
export class ConverseStreamDecoder implements StreamDecoder {
  complete = false;
  private started = false;
  private readonly blocks = new Map<number, Block>();
  private toolCount = 0;
  private readonly id: string;

  constructor(private readonly target: ProviderTarget) {
    this.id = `chatcmpl-${target.requestId}`;
  }

  push(event: UpstreamEvent): Out {
    const type = event.event;
    if (type === undefined || this.complete) return [];
    if (isException(type)) return [streamException(type, event.data)];
    switch (type) {
      case 'messageStart':
        return this.start();
      case 'contentBlockStart':
        return this.blockStart(this.parse(event));
      case 'contentBlockDelta':
        return this.blockDelta(this.parse(event));
      case 'contentBlockStop':
        return this.blockStop(this.parse(event));
      case 'messageStop':
        return [...this.start(), this.chunk({}, finishReasonOf(this.parse(event).stopReason, this.toolCount > 0))];
      case 'metadata':
        this.complete = true;
        return [{ ...this.chunk({}), choices: [], usage: canonicalUsage(this.parse(event).usage) }];
      default:
        return [];
    }
  }

  end(): Out {
    return [];
  }

  private parse(event: UpstreamEvent): JsonObject {
    let parsed: unknown;
    try {
      parsed = JSON.parse(event.data);
    } catch {
      parsed = undefined;
    }
    if (!isObject(parsed)) throw errors.upstreamInvalidResponse(this.target.provider.name, `a ${event.event} event is not a JSON object.`);
    return parsed;
  }

  private chunk(delta: ChunkDelta, finish: FinishReason | null = null): ChatChunk {
    return {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.target.created,
      model: this.target.upstreamModel,
      choices: [{ index: 0, delta, finish_reason: finish }],
    };
  }

  /** The role chunk, once, before anything else. */
  private start(): Out {
    if (this.started) return [];
    this.started = true;
    return [this.chunk({ role: 'assistant', content: '' })];
  }

  private blockStart(data: JsonObject): Out {
    const start = isObject(data.start) ? data.start : {};
    const use = isObject(start.toolUse) ? start.toolUse : undefined;
    if (use === undefined) return [];
    const index = Number(data.contentBlockIndex);
    if (use.name === jsonToolName) {
      this.blocks.set(index, { kind: 'json' });
      return this.start();
    }
    const toolIndex = this.toolCount++;
    this.blocks.set(index, { kind: 'tool', index: toolIndex });
    const call = { index: toolIndex, id: String(use.toolUseId), type: 'function' as const, function: { name: String(use.name), arguments: '' } };
    return [...this.start(), this.chunk({ tool_calls: [call] })];
  }

  private blockDelta(data: JsonObject): Out {
    const index = Number(data.contentBlockIndex);
    const delta = isObject(data.delta) ? data.delta : {};
    if (typeof delta.text === 'string') {
      if (!this.blocks.has(index)) this.blocks.set(index, { kind: 'text' });
      return [...this.start(), this.chunk({ content: delta.text })];
    }
    if (isObject(delta.toolUse)) {
      const block = this.blocks.get(index);
      const input = typeof delta.toolUse.input === 'string' ? delta.toolUse.input : '';
      if (block?.kind === 'json') return [this.chunk({ content: input })];
      if (block?.kind !== 'tool') {
        throw errors.upstreamInvalidResponse(this.target.provider.name, `a toolUse delta for content block ${index}, which did not start as a toolUse.`);
      }
      return [this.chunk({ tool_calls: [{ index: block.index, function: { arguments: input } }] })];
    }
    if (isObject(delta.reasoningContent)) return this.reasoningDelta(index, delta.reasoningContent);
    return [];
  }

  private reasoningDelta(index: number, reasoning: JsonObject): Out {
    let block = this.blocks.get(index);
    if (block?.kind !== 'reasoning') {
      block = { kind: 'reasoning', text: '', signature: '', redacted: undefined };
      this.blocks.set(index, block);
    }
    if (typeof reasoning.signature === 'string') block.signature += reasoning.signature;
    if (typeof reasoning.redactedContent === 'string') block.redacted = (block.redacted ?? '') + reasoning.redactedContent;
    if (typeof reasoning.text !== 'string') return this.start();
    block.text += reasoning.text;
    return [...this.start(), this.chunk({ reasoning_content: reasoning.text })];
  }

  private blockStop(data: JsonObject): Out {
    const index = Number(data.contentBlockIndex);
    const block = this.blocks.get(index);
    this.blocks.delete(index);
    if (block?.kind !== 'reasoning') return [];
    const reasoning: JsonObject =
      block.redacted !== undefined
        ? { redactedContent: block.redacted }
        : { reasoningText: block.signature === '' ? { text: block.text } : { text: block.text, signature: block.signature } };
    const thought = thinkingBlockOf(reasoning);
    // Without a signature there is nothing a client must send back: the text already went as reasoning_content.
    if (thought === undefined || (thought.type === 'thinking' && thought.signature === undefined)) return [];
    return [this.chunk({ thinking_blocks: [thought] })];
  }
}
