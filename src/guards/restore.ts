// Puts pseudonymised values back into generated text. A placeholder can arrive split across chunks
// ("<EMA" + "IL_1>"), so a trailing "<…" that could still become a placeholder is held back.
import type { TextStage } from './output-guard.js';

const placeholderPattern = /<[A-Z][A-Z0-9_]*_[0-9]+>/g;
const partialPlaceholder = /^<[A-Z0-9_]*$/;

export class PlaceholderRestorer implements TextStage {
  private pending = '';
  readonly stopped = false;
  private readonly longest: number;

  constructor(private readonly originals: ReadonlyMap<string, string>) {
    let longest = 0;
    for (const placeholder of originals.keys()) longest = Math.max(longest, placeholder.length);
    this.longest = longest;
  }

  push(text: string): string {
    const raw = this.pending + text;
    let hold = raw.length;
    const lt = raw.lastIndexOf('<');
    if (lt >= 0 && raw.length - lt < this.longest && partialPlaceholder.test(raw.slice(lt))) hold = lt;
    this.pending = raw.slice(hold);
    return this.restore(raw.slice(0, hold));
  }

  end(): string {
    const rest = this.pending;
    this.pending = '';
    return this.restore(rest);
  }

  restore(text: string): string {
    if (text.indexOf('<') < 0) return text;
    return text.replace(placeholderPattern, (placeholder) => this.originals.get(placeholder) ?? placeholder);
  }
}
