// Output guard over generated text. Streamed text passes through a sliding window: everything but the
// last `window_chars` characters is released once checked, so a match split across chunks is still
// whole when it is scanned, and no part of a match is released before the match is decided.
import RE2 from 're2';
import type { OutputGuardConfig } from './config.js';

export interface CompiledOutputGuard {
  readonly name: string;
  readonly action: 'mask' | 'stop';
  readonly replacement: string;
  readonly window: number;
  /** All patterns as one alternation, global. Shared by every stream on the thread (always reset lastIndex). */
  readonly scanner: RE2;
}

export function compileOutputGuard(config: OutputGuardConfig): CompiledOutputGuard {
  const source = config.patterns.map((p) => `(?:${p})`).join('|');
  return {
    name: config.name,
    action: config.action,
    replacement: config.replacement,
    window: config.window_chars,
    scanner: new RE2(source, config.case_insensitive ? 'gi' : 'g'),
  };
}

/** A text transformer over a stream of text pieces: push returns what may be released now, end flushes. */
export interface TextStage {
  push(text: string): string;
  end(): string;
  /** True once the stage ended the answer (output guard in stop mode). */
  readonly stopped: boolean;
}

/** Never split a surrogate pair between released and held text. */
function safeCut(text: string, cut: number): number {
  if (cut > 0 && cut < text.length) {
    const code = text.charCodeAt(cut - 1);
    if (code >= 0xd800 && code <= 0xdbff) return cut - 1;
  }
  return cut;
}

export class OutputGuardWindow implements TextStage {
  private pending = '';
  stopped = false;
  /** Set when the guard masked or stopped something. */
  triggered = false;

  constructor(private readonly guard: CompiledOutputGuard) {}

  push(text: string): string {
    if (this.stopped) return '';
    this.pending += text;
    return this.release(false);
  }

  end(): string {
    if (this.stopped) return '';
    return this.release(true);
  }

  /** Whole-text use (non-streamed answers). */
  apply(text: string): string {
    return this.push(text) + this.end();
  }

  private release(final: boolean): string {
    const text = this.pending;
    let cut = final ? text.length : safeCut(text, Math.max(0, text.length - this.guard.window));
    const scanner = this.guard.scanner;
    scanner.lastIndex = 0;
    let out = '';
    let cursor = 0;
    for (let m = scanner.exec(text); m !== null; m = scanner.exec(text)) {
      const start = m.index;
      const end = start + m[0].length;
      if (end === start) {
        scanner.lastIndex++;
        continue;
      }
      if (start >= cut) break;
      if (this.guard.action === 'stop') {
        this.stopped = true;
        this.triggered = true;
        this.pending = '';
        return out + text.slice(cursor, start);
      }
      if (end > cut && !final) {
        // The match could still grow with the next chunk: hold it back whole.
        cut = start;
        break;
      }
      this.triggered = true;
      out += text.slice(cursor, start) + this.guard.replacement;
      cursor = end;
    }
    if (cursor > cut) cut = cursor;
    out += text.slice(cursor, cut);
    this.pending = text.slice(cut);
    return out;
  }
}
