// Gemini's SSE stream (each `data:` a whole GenerateContentResponse chunk) → canonical chunks. Gemini has
// no terminal event: the stream is complete once every candidate has a finishReason and usage is out.
import { errors } from '../../shared/errors.js';
import type { CanonicalError, ChatChunk, ChunkDelta, FinishReason } from '../../translate/canonical.js';
import type { ProviderTarget, StreamDecoder, UpstreamEvent } from '../../translate/provider.js';
import { googleErrorOf, mapGoogleError } from './errors.js';
import { blockedPrompt, candidatesOf, toolCallOf, usageOf } from './response.js';
import { finishReasonOf, isObject, type GeminiPart, type GeminiResponse, type GeminiUsage } from './wire.js';

interface ChoiceState {
  /** Tool calls of this choice so far: the next call's canonical index. */
  calls: number;
  finished: boolean;
}

type Out = Array<ChatChunk | CanonicalError>;

export class GeminiStreamDecoder implements StreamDecoder {
  complete = false;
  private id: string | undefined;
  private model: string | undefined;
  private readonly choices = new Map<number, ChoiceState>();
  /** Calls across all choices, for generated ids. */
  private calls = 0;
  private usage: GeminiUsage | undefined;
  /** Every choice has its finish_reason; only usage is still due. */
  private finished = false;
  private failed = false;

  constructor(private readonly target: ProviderTarget) {}

  push(event: UpstreamEvent): Out {
    if (this.failed || this.complete || event.data === '') return [];
    let parsed: unknown;
    try {
      parsed = JSON.parse(event.data);
    } catch {
      throw errors.upstreamInvalidResponse(this.target.provider.name, `an SSE event's data is not JSON (${event.data.length} characters).`);
    }
    const error = googleErrorOf(parsed);
    if (error !== undefined) {
      this.failed = true;
      return [mapGoogleError(error, typeof error.code === 'number' ? error.code : 500).body];
    }
    if (!isObject(parsed)) throw errors.upstreamInvalidResponse(this.target.provider.name, "an SSE event's data is not a JSON object.");
    const chunk = parsed as GeminiResponse;
    this.id ??= typeof chunk.responseId === 'string' && chunk.responseId !== '' ? chunk.responseId : `chatcmpl-${this.target.requestId}`;
    this.model ??= typeof chunk.modelVersion === 'string' && chunk.modelVersion !== '' ? chunk.modelVersion : this.target.upstreamModel;
    const out: Out = [];
    const candidates = candidatesOf(parsed, this.target.provider.name);
    candidates.forEach((candidate, position) => {
      const index = typeof candidate.index === 'number' ? candidate.index : position;
      const state = this.choice(index, out);
      for (const part of candidate.content?.parts ?? []) this.part(part, index, state, out);
      if (typeof candidate.finishReason === 'string' && !state.finished) {
        state.finished = true;
        out.push(this.chunk(index, {}, finishReasonOf(candidate.finishReason, state.calls > 0)));
      }
    });
    if (candidates.length === 0 && blockedPrompt(chunk)) {
      const state = this.choice(0, out);
      state.finished = true;
      out.push(this.chunk(0, {}, 'content_filter'));
    }
    this.finished = this.choices.size > 0 && [...this.choices.values()].every((s) => s.finished);
    const usage = isObject(chunk.usageMetadata) ? chunk.usageMetadata : undefined;
    if (usage !== undefined) this.usage = usage;
    // The values on the last chunk are the final ones: usage goes out once nothing else can follow it.
    if (this.finished && usage !== undefined) this.finish(out);
    return out;
  }

  end(): Out {
    if (this.failed || this.complete || !this.finished) return [];
    const out: Out = [];
    this.finish(out);
    return out;
  }

  private finish(out: Out): void {
    if (this.usage !== undefined) out.push({ ...this.base(), choices: [], usage: usageOf(this.usage) });
    this.complete = true;
  }

  private choice(index: number, out: Out): ChoiceState {
    let state = this.choices.get(index);
    if (state === undefined) {
      state = { calls: 0, finished: false };
      this.choices.set(index, state);
      out.push(this.chunk(index, { role: 'assistant', content: '' }));
    }
    return state;
  }

  private part(raw: unknown, index: number, state: ChoiceState, out: Out): void {
    if (!isObject(raw)) return;
    const part = raw as GeminiPart;
    if (isObject(part.functionCall)) {
      const call = toolCallOf(part, this.target, this.calls++);
      const at = state.calls++;
      out.push(this.chunk(index, { tool_calls: [{ index: at, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } }] }));
      out.push(this.chunk(index, { tool_calls: [{ index: at, function: { arguments: call.function.arguments } }] }));
    } else if (typeof part.text === 'string' && part.text !== '') {
      out.push(this.chunk(index, part.thought === true ? { reasoning_content: part.text } : { content: part.text }));
    }
  }

  private base(): Pick<ChatChunk, 'id' | 'object' | 'created' | 'model'> {
    return { id: this.id as string, object: 'chat.completion.chunk', created: this.target.created, model: this.model as string };
  }

  private chunk(index: number, delta: ChunkDelta, finish: FinishReason | null = null): ChatChunk {
    return { ...this.base(), choices: [{ index, delta, finish_reason: finish }] };
  }
}
