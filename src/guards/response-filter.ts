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

/** One choice's text pipeline. */
class ChoiceText {
  private readonly stages: TextStage[];
  private readonly windows: OutputGuardWindow[];
  private reported = false;
  stopped = false;
  finished = false;

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

  private afterStages(): void {
    this.stopped = this.stages.some((s) => s.stopped);
    if (this.reported || !this.options.onTrigger) return;
    const hit = this.windows.findIndex((w) => w.triggered);
    if (hit >= 0) {
      this.reported = true;
      const guard = this.options.outputGuards[hit]!;
      this.options.onTrigger(guard.name, guard.action);
    }
  }
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
      text.finished = true;
      if (rest === '' && !text.stopped) continue;
      const json: Json = {
        ...(template ?? { object: 'chat.completion.chunk' }),
        choices: [{ index, delta: { content: rest }, finish_reason: text.stopped ? 'content_filter' : null }],
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
        let finish = choice.finish_reason;
        if (finish != null && !text.stopped) {
          released = (released ?? '') + text.end();
          text.finished = true;
        }
        if (text.stopped) finish = 'content_filter';
        if (released === content && finish === choice.finish_reason) {
          kept.push(choice);
          continue;
        }
        changed = true;
        const { content: _c, ...otherDelta } = delta;
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
        if (!isRecord(choice) || !isRecord(choice.message) || typeof choice.message.content !== 'string') return choice;
        const text = new ChoiceText(options);
        const content = text.push(choice.message.content) + text.end();
        if (content === choice.message.content && !text.stopped) return choice;
        changed = true;
        return {
          ...choice,
          message: { ...choice.message, content },
          finish_reason: text.stopped ? 'content_filter' : choice.finish_reason,
        };
      });
      if (changed) return { ...body, choices: next };
    },
  };
}
