// Runs one Playground chat through POST /admin/playground/chat and reads the SSE answer event by event.
import { ApiError, send } from './api';
import type { Usage } from './prices';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  stream: boolean;
  stream_options?: { include_usage: boolean };
  temperature?: number;
  max_tokens?: number;
  tools?: unknown[];
  key_id?: string;
}

export interface ToolCall {
  id?: string;
  name: string;
  arguments: string;
}

/** What the page shows of an answer while it arrives and after. */
export interface AnswerState {
  text: string;
  toolCalls: ToolCall[];
  status: number | null;
  deployment: string | null;
  attempts: string | null;
  responseModel: string | null;
  ttftMs: number | null;
  elapsedMs: number | null;
  usage: Usage | null;
  finish: string | null;
  error: string | null;
  /** The request field a 400 named (shown next to that field). */
  param: string | null;
  running: boolean;
}

export const emptyAnswer: AnswerState = {
  text: '',
  toolCalls: [],
  status: null,
  deployment: null,
  attempts: null,
  responseModel: null,
  ttftMs: null,
  elapsedMs: null,
  usage: null,
  finish: null,
  error: null,
  param: null,
  running: false,
};

interface ChoiceDelta {
  content?: string | null;
  tool_calls?: Array<{ index: number; id?: string; function?: { name?: string; arguments?: string } }>;
}

interface ChoiceMessage {
  content?: string | null;
  tool_calls?: Array<{ id?: string; function: { name: string; arguments: string } }>;
}

interface Chunk {
  model?: string;
  choices?: Array<{ delta?: ChoiceDelta; message?: ChoiceMessage; finish_reason?: string | null }>;
  usage?: Usage | null;
  error?: { message?: string; code?: string };
}

/** Splits an SSE byte stream into the data of each event. */
async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = event
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).replace(/^ /, ''))
        .join('\n');
      if (data) yield data;
    }
  }
}

function applyToolDeltas(calls: ToolCall[], deltas: NonNullable<ChoiceDelta['tool_calls']>): ToolCall[] {
  const next = calls.slice();
  for (const d of deltas) {
    const current = next[d.index] ?? { name: '', arguments: '' };
    next[d.index] = { id: d.id ?? current.id, name: current.name + (d.function?.name ?? ''), arguments: current.arguments + (d.function?.arguments ?? '') };
  }
  return next;
}

/** Reads the SSE answer into the state: text and tool-call deltas, finish reason, usage, an error event. */
async function readStream(body: ReadableStream<Uint8Array>, started: number, now: () => AnswerState, set: (change: Partial<AnswerState>) => void): Promise<void> {
  for await (const data of sseData(body)) {
    if (data === '[DONE]') return;
    let chunk: Chunk;
    try {
      chunk = JSON.parse(data) as Chunk;
    } catch {
      continue;
    }
    if (chunk.error) {
      set({ error: chunk.error.message ?? 'The stream ended with an error.' });
      return;
    }
    const state = now();
    const choice = chunk.choices?.[0];
    const content = choice?.delta?.content ?? '';
    const tools = choice?.delta?.tool_calls;
    const change: Partial<AnswerState> = {};
    if ((content || tools) && state.ttftMs === null) change.ttftMs = performance.now() - started;
    if (content) change.text = state.text + content;
    if (tools) change.toolCalls = applyToolDeltas(state.toolCalls, tools);
    if (choice?.finish_reason) change.finish = choice.finish_reason;
    if (chunk.usage) change.usage = chunk.usage;
    if (chunk.model && !state.responseModel) change.responseModel = chunk.model;
    if (Object.keys(change).length) set(change);
  }
}

/** Sends `request`; calls `update` with the new state after every event. Resolves with the final state. */
export async function runChat(request: ChatRequest, update: (state: AnswerState) => void, signal: AbortSignal): Promise<AnswerState> {
  const started = performance.now();
  let state: AnswerState = { ...emptyAnswer, running: true };
  const set = (change: Partial<AnswerState>) => {
    state = { ...state, ...change };
    update(state);
  };
  set({});
  try {
    const response = await send('POST', '/admin/playground/chat', request, signal);
    const h = response.headers;
    set({ status: response.status, deployment: h.get('x-switchyard-deployment'), attempts: h.get('x-switchyard-attempts') });
    if (request.stream && response.body && (h.get('content-type') ?? '').includes('text/event-stream')) {
      await readStream(response.body, started, () => state, set);
    } else {
      const body = (await response.json()) as Chunk;
      const message = body.choices?.[0]?.message;
      set({
        ttftMs: performance.now() - started,
        text: message?.content ?? '',
        toolCalls: (message?.tool_calls ?? []).map((t) => ({ id: t.id, name: t.function.name, arguments: t.function.arguments })),
        usage: body.usage ?? null,
        finish: body.choices?.[0]?.finish_reason ?? null,
        responseModel: body.model ?? null,
      });
    }
  } catch (err) {
    if ((err as Error).name === 'AbortError') set({ error: 'Stopped.' });
    else {
      const apiError = err instanceof ApiError ? err : undefined;
      set({ error: (err as Error).message, status: apiError?.status ?? state.status, param: apiError?.param ?? null });
    }
  } finally {
    set({ running: false, elapsedMs: performance.now() - started });
  }
  return state;
}
