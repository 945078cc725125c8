// The guards' response filter: restore pseudonyms, then run the output guards, over a streamed answer
// (OpenAI chat chunks, one text pipeline per choice index) or a whole non-streamed body. Pure: no I/O,
// so it is tested with a list of events in and a list of events out.
import type { ChunkEvent, ResponseFilter } from '../pipeline/stage.js';
import { OutputGuardWindow, type CompiledOutputGuard, type TextStage } from './output-guard.js';
import { PlaceholderRestorer } from './restore.js';

export interface GuardResponseOptions {
  /** placeholder → original value, from the request's redaction. */
  pseudonyms: ReadonlyMap<string, string>;
  outputGuards: readonly CompiledOutputGuard[];
  /** Called once with the guard name when an output guard masks or stops text. */
  onTrigger?: (guard: string, action: 'mask' | 'stop') => void;
}

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One text pipeline (restore, then output guards): a choice's content, or one tool call's arguments. */
class ChoiceText {
  private readonly stages: TextStage[];
  private readonly windows: OutputGuardWindow[];
  private reported = false;
  stopped = false;
  finished = false;
  /** Per tool-call index: the pipeline of its streamed arguments. */
  private readonly toolCalls = new Map<number, ChoiceText>();

  constructor(private readonly options: GuardResponseOptions) {
    this.windows = options.outputGuards.map((g) => new OutputGuardWindow(g));
    this.stages = options.pseudonyms.size > 0 ? [new PlaceholderRestorer(options.pseudonyms), ...this.windows] : [...this.windows];
  }

  push(text: string): string {
    let out = text;
    for (const stage of this.stages) out = stage.push(out);
    this.afterStages();
    return out;
  }

  end(): string {
    let out = '';
    for (const stage of this.stages) out = stage.push(out) + stage.end();
    this.afterStages();
    return out;
  }

  /**
   * Streamed tool-call deltas through their pipelines; the same array when nothing changed. A stop in
   * one call's arguments stops the choice: what follows it in this delta is dropped.
   */
  pushToolCalls(calls: unknown[]): unknown[] {
    return mapArguments(calls, (callIndex, args) => {
      const index = callIndex ?? 0;
      let pipeline = this.toolCalls.get(index);
      if (!pipeline) {
        pipeline = new ChoiceText(this.options);
        this.toolCalls.set(index, pipeline);
      }
      const out = pipeline.push(args);
      if (pipeline.stopped) this.stopped = true;
      return { args: out, stopped: this.stopped };
    }, this.stopped);
  }

  /** Argument text still held back (a possible placeholder or match at a chunk's end), as tool-call deltas. */
  endToolCalls(): Json[] {
    const out: Json[] = [];
    for (const [index, pipeline] of this.toolCalls) {
      if (this.stopped) break;
      const rest = pipeline.end();
      if (pipeline.stopped) this.stopped = true;
      if (rest !== '') out.push({ index, function: { arguments: rest } });
    }
    this.toolCalls.clear();
    return out;
  }

  private afterStages(): void {
    if (this.stages.some((s) => s.stopped)) this.stopped = true;
    if (this.reported || !this.options.onTrigger) return;
    const hit = this.windows.findIndex((w) => w.triggered);
    if (hit >= 0) {
      this.reported = true;
      const guard = this.options.outputGuards[hit]!;
      this.options.onTrigger(guard.name, guard.action);
    }
  }
}

/**
 * Tool calls with their arguments passed through `next` (given the call's `index` field, if any); the
 * same array when nothing changed. Once `next` reports a stop (or `stoppedBefore`), the calls after it
 * are dropped.
 */
function mapArguments(
  calls: unknown[],
  next: (index: number | undefined, args: string) => { args: string; stopped: boolean },
  stoppedBefore = false,
): unknown[] {
  let changed = false;
  let stopped = stoppedBefore;
  const out: unknown[] = [];
  for (const call of calls) {
    if (stopped) {
      changed = true;
      break;
    }
    if (!isRecord(call) || !isRecord(call.function) || typeof call.function.arguments !== 'string') {
      out.push(call);
      continue;
    }
    const result = next(typeof call.index === 'number' ? call.index : undefined, call.function.arguments);
    stopped = result.stopped;
    if (result.args === call.function.arguments) {
      out.push(call);
      continue;
    }
    changed = true;
    out.push({ ...call, function: { ...call.function, arguments: result.args } });
  }
  return changed ? out : calls;
}

/** Whole tool calls (non-streamed), each through its own pipeline; a stop truncates that call and drops the ones after it. */
function guardToolCalls(calls: unknown[], options: GuardResponseOptions): { calls: unknown[]; stopped: boolean } {
  let stopped = false;
  const out = mapArguments(calls, (_index, args) => {
    const text = new ChoiceText(options);
    const guarded = text.push(args) + text.end();
    stopped = text.stopped;
    return { args: guarded, stopped };
  });
  return { calls: out, stopped };
}

export function createGuardResponseFilter(options: GuardResponseOptions): ResponseFilter | undefined {
  if (options.pseudonyms.size === 0 && options.outputGuards.length === 0) return undefined;
  const choices = new Map<number, ChoiceText>();
  let template: Json | undefined;

  const textOf = (index: number): ChoiceText => {
    let text = choices.get(index);
    if (!text) {
      text = new ChoiceText(options);
      choices.set(index, text);
    }
    return text;
  };

  /** Events carrying whatever the choices still hold (stream ended without finish_reason, or [DONE]). */
  const flushAll = (): ChunkEvent[] => {
    const out: ChunkEvent[] = [];
    for (const [index, text] of choices) {
      if (text.finished || text.stopped) continue;
      const rest = text.end();
      const calls = text.endToolCalls();
      text.finished = true;
      if (rest === '' && calls.length === 0 && !text.stopped) continue;
      const delta: Json = calls.length > 0 ? { content: rest, tool_calls: calls } : { content: rest };
      const json: Json = {
        ...(template ?? { object: 'chat.completion.chunk' }),
        choices: [{ index, delta, finish_reason: text.stopped ? 'content_filter' : null }],
      };
      out.push({ json, data: JSON.stringify(json) });
    }
    return out;
  };

  return {
    mutates: true,

    onEvent(event: ChunkEvent): ChunkEvent | ChunkEvent[] | null {
      const json = event.json;
      if (!json) return [...flushAll(), event];
      const list = json.choices;
      if (!Array.isArray(list) || list.length === 0) return event;
      const { choices: _omit, ...rest } = json;
      template = rest;
      let changed = false;
      const kept: Json[] = [];
      for (const choice of list) {
        if (!isRecord(choice)) {
          kept.push(choice as Json);
          continue;
        }
        const index = typeof choice.index === 'number' ? choice.index : 0;
        const text = textOf(index);
        if (text.stopped || text.finished) {
          changed = true; // the answer of this choice already ended
          continue;
        }
        const delta = isRecord(choice.delta) ? choice.delta : {};
        const content = delta.content;
        let released = typeof content === 'string' ? text.push(content) : undefined;
        const calls = Array.isArray(delta.tool_calls) ? delta.tool_calls : undefined;
        let restoredCalls = calls ? text.pushToolCalls(calls) : undefined;
        let finish = choice.finish_reason;
        if (finish != null && !text.stopped) {
          released = (released ?? '') + text.end();
          const held = text.endToolCalls();
          if (held.length > 0) restoredCalls = [...(restoredCalls ?? []), ...held];
          text.finished = true;
        }
        if (text.stopped) finish = 'content_filter';
        if (released === content && restoredCalls === calls && finish === choice.finish_reason) {
          kept.push(choice);
          continue;
        }
        changed = true;
        const { content: _c, tool_calls: _t, ...otherDelta } = delta;
        if (restoredCalls !== undefined) otherDelta.tool_calls = restoredCalls;
        // Drop a choice that only carried text which is now held back.
        if (released === '' && finish == null && Object.keys(otherDelta).length === 0) continue;
        const newDelta = released === undefined ? otherDelta : { ...otherDelta, content: released };
        kept.push({ ...choice, delta: newDelta, finish_reason: finish ?? null });
      }
      if (!changed) return event;
      if (kept.length === 0) return null;
      const out = { ...json, choices: kept };
      return { json: out, data: JSON.stringify(out) };
    },

    onEnd(): ChunkEvent[] {
      return flushAll();
    },

    onBody(body: Json): Json | void {
      const list = body.choices;
      if (!Array.isArray(list)) return;
      let changed = false;
      const next = list.map((choice: unknown) => {
        if (!isRecord(choice) || !isRecord(choice.message)) return choice;
        const message = choice.message;
        const calls = Array.isArray(message.tool_calls) ? message.tool_calls : undefined;
        const guarded = calls ? guardToolCalls(calls, options) : undefined;
        const restoredCalls = guarded?.calls;
        if (typeof message.content !== 'string') {
          if (restoredCalls === calls) return choice;
          changed = true;
          return {
            ...choice,
            message: { ...message, tool_calls: restoredCalls },
            finish_reason: guarded?.stopped ? 'content_filter' : choice.finish_reason,
          };
        }
        const text = new ChoiceText(options);
        const content = text.push(message.content) + text.end();
        const stopped = text.stopped || guarded?.stopped === true;
        if (content === message.content && restoredCalls === calls && !stopped) return choice;
        changed = true;
        return {
          ...choice,
          message: restoredCalls === calls ? { ...message, content } : { ...message, content, tool_calls: restoredCalls },
          finish_reason: stopped ? 'content_filter' : choice.finish_reason,
        };
      });
      if (changed) return { ...body, choices: next };
    },
  };
}
