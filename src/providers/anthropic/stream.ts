// Anthropic Messages SSE events → canonical chat.completion.chunks, one state machine per response.
import { errors } from '../../shared/errors.js';
import type { CanonicalError, ChatChunk, ChunkDelta, FinishReason, JsonObject } from '../../translate/canonical.js';
import type { ProviderTarget, StreamDecoder, UpstreamEvent } from '../../translate/provider.js';
import { canonicalThinking } from './response.js';
import { canonicalUsage, emptyUsage, finishReasonOf, jsonToolName, mergeUsage, type AnthropicUsage } from './wire.js';

/** What the decoder remembers of an open content block, by its Anthropic index. */
type OpenBlock =
  | { kind: 'text' }
  | { kind: 'thinking'; thinking: string; signature: string }
  | { kind: 'tool'; toolIndex: number }
  /** The JSON-mode tool: its input is streamed as the answer's text. */
  | { kind: 'json' }
  | { kind: 'other' };

type Out = Array<ChatChunk | CanonicalError>;

const isObject = (value: unknown): value is JsonObject => value !== null && typeof value === 'object' && !Array.isArray(value);
const text = (value: unknown): string => (typeof value === 'string' ? value : '');

export class AnthropicStreamDecoder implements StreamDecoder {
  private id: string;
  private model: string;
  private started = false;
  private finished = false;
  private readonly blocks = new Map<number, OpenBlock>();
  private toolCount = 0;
  private usage: AnthropicUsage = emptyUsage;

  constructor(private readonly target: ProviderTarget) {
    this.id = `chatcmpl-${target.requestId}`;
    this.model = target.upstreamModel;
  }

  get complete(): boolean {
    return this.finished;
  }

  push(event: UpstreamEvent): Out {
    if (this.finished) return [];
    const data = this.parse(event.data);
    const type = typeof data.type === 'string' ? data.type : event.event;
    const out: Out = [];
    switch (type) {
      case 'message_start':
        this.start(data.message, out);
        break;
      case 'content_block_start':
        this.blockStart(Number(data.index), isObject(data.content_block) ? data.content_block : {}, out);
        break;
      case 'content_block_delta':
        this.blockDelta(Number(data.index), isObject(data.delta) ? data.delta : {}, out);
        break;
      case 'content_block_stop':
        this.blockStop(Number(data.index), out);
        break;
      case 'message_delta': {
        this.usage = mergeUsage(this.usage, data.usage);
        const finish = finishReasonOf(isObject(data.delta) ? data.delta.stop_reason : undefined, this.toolCount > 0);
        if (finish !== null) this.emit(out, {}, finish);
        break;
      }
      case 'message_stop':
        this.begin(out);
        out.push({ id: this.id, object: 'chat.completion.chunk', created: this.target.created, model: this.model, choices: [], usage: canonicalUsage(this.usage) });
        this.finished = true;
        break;
      case 'error':
        out.push(canonicalStreamError(data.error));
        break;
      default:
      // ping, and event types added later: nothing to relay.
    }
    return out;
  }

  /** A stream cut before message_stop stays incomplete: no finish_reason or usage is made up here. */
  end(): Out {
    return [];
  }

  private parse(raw: string): JsonObject {
    let data: unknown;
    try {
      data = JSON.parse(raw);
    } catch {
      data = undefined;
    }
    if (!isObject(data)) {
      throw errors.upstreamInvalidResponse(this.target.provider.name, `an SSE event's data is not a JSON object (${Buffer.byteLength(raw)} bytes).`);
    }
    return data;
  }

  private start(message: unknown, out: Out): void {
    if (isObject(message)) {
      if (typeof message.id === 'string') this.id = message.id;
      if (typeof message.model === 'string') this.model = message.model;
      this.usage = mergeUsage(this.usage, message.usage);
    }
    this.begin(out);
  }

  /** The role chunk, once, before anything else (also when a stream lacks its message_start). */
  private begin(out: Out): void {
    if (this.started) return;
    this.started = true;
    this.emit(out, { role: 'assistant', content: '' });
  }

  private emit(out: Out, delta: ChunkDelta, finish: FinishReason | null = null): void {
    this.begin(out);
    out.push({ id: this.id, object: 'chat.completion.chunk', created: this.target.created, model: this.model, choices: [{ index: 0, delta, finish_reason: finish }] });
  }

  private blockStart(index: number, block: JsonObject, out: Out): void {
    this.begin(out);
    switch (block.type) {
      case 'text':
        this.blocks.set(index, { kind: 'text' });
        if (text(block.text) !== '') this.emit(out, { content: text(block.text) });
        break;
      case 'thinking':
        this.blocks.set(index, { kind: 'thinking', thinking: text(block.thinking), signature: text(block.signature) });
        if (text(block.thinking) !== '') this.emit(out, { reasoning_content: text(block.thinking) });
        break;
      case 'redacted_thinking':
        this.blocks.set(index, { kind: 'other' });
        this.emit(out, { thinking_blocks: [{ type: 'redacted_thinking', data: text(block.data) }] });
        break;
      case 'tool_use':
        if (block.name === jsonToolName) {
          this.blocks.set(index, { kind: 'json' });
          break;
        }
        this.blocks.set(index, { kind: 'tool', toolIndex: this.toolCount });
        this.emit(out, {
          tool_calls: [{ index: this.toolCount, id: text(block.id), type: 'function', function: { name: text(block.name), arguments: '' } }],
        });
        this.toolCount++;
        break;
      default:
        // Server tool use and its results have no canonical form.
        this.blocks.set(index, { kind: 'other' });
    }
  }

  private blockDelta(index: number, delta: JsonObject, out: Out): void {
    const block = this.blocks.get(index);
    if (block === undefined) return;
    switch (delta.type) {
      case 'text_delta':
        if (block.kind === 'text' && text(delta.text) !== '') this.emit(out, { content: text(delta.text) });
        break;
      case 'thinking_delta':
        if (block.kind === 'thinking' && text(delta.thinking) !== '') {
          block.thinking += text(delta.thinking);
          this.emit(out, { reasoning_content: text(delta.thinking) });
        }
        break;
      case 'signature_delta':
        if (block.kind === 'thinking') block.signature += text(delta.signature);
        break;
      case 'input_json_delta': {
        const piece = text(delta.partial_json);
        if (piece === '') break;
        if (block.kind === 'tool') this.emit(out, { tool_calls: [{ index: block.toolIndex, function: { arguments: piece } }] });
        else if (block.kind === 'json') this.emit(out, { content: piece });
        break;
      }
      default:
      // citations_delta and later delta types: nothing canonical.
    }
  }

  private blockStop(index: number, out: Out): void {
    const block = this.blocks.get(index);
    this.blocks.delete(index);
    if (block?.kind === 'thinking') this.emit(out, { thinking_blocks: [canonicalThinking(block.thinking, block.signature)] });
  }
}

/** Anthropic's mid-stream `error` event's inner object → the canonical error. */
export function canonicalStreamError(raw: unknown): CanonicalError {
  const error = isObject(raw) ? raw : {};
  return {
    error: {
      message: typeof error.message === 'string' ? error.message : 'The provider reported an error mid-stream.',
      type: typeof error.type === 'string' ? error.type : 'api_error',
      param: null,
      code: null,
    },
  };
}
