// Finds the code samples in README.md and docs/*.md that are marked runnable (```sh runnable).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DocSample {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: 'sh' | 'ts' | 'yaml';
  code: string;
}

const fence = /^```(sh|bash|ts|typescript|yaml)\s+runnable\s*$/;
const langOf: Record<string, DocSample['lang']> = { sh: 'sh', bash: 'sh', ts: 'ts', typescript: 'ts', yaml: 'yaml' };

export function samplesIn(file: string, text: string): DocSample[] {
  const samples: DocSample[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = fence.exec(lines[i]);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i].startsWith('```'); i++) body.push(lines[i]);
    if (i >= lines.length) throw new Error(`${file}:${start + 1}: runnable sample has no closing fence`);
    samples.push({ file, line: start + 1, lang: langOf[open[1]], code: body.join('\n') + '\n' });
  }
  return samples;
}

/** Every runnable sample of README.md and docs/*.md under `root`. */
export function docSamples(root: string): DocSample[] {
  const files = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join('docs', f))];
  return files.flatMap((f) => samplesIn(f, readFileSync(join(root, f), 'utf8')));
}
