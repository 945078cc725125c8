// Every relative link in README.md and docs/*.md points at a file that exists, and every #anchor at a heading there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));

interface Link {
  file: string;
  line: number;
  target: string;
}

/** Lines outside fenced code blocks, with their 1-based numbers; inline code spans blanked out. */
function proseLines(text: string): Array<{ line: number; text: string }> {
  const out: Array<{ line: number; text: string }> = [];
  let fence: string | undefined;
  text.split('\n').forEach((raw, i) => {
    const opening = /^\s*(`{3,}|~{3,})/.exec(raw);
    if (opening) {
      if (fence === undefined) fence = opening[1][0];
      else if (opening[1][0] === fence) fence = undefined;
      return;
    }
    if (fence === undefined) out.push({ line: i + 1, text: raw.replace(/`[^`]*`/g, (span) => ' '.repeat(span.length)) });
  });
  return out;
}

/** GitHub's heading ids: lower case, punctuation dropped (not `-` or `_`), spaces to `-`, repeats numbered. */
export function headingAnchors(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fence: string | undefined;
  for (const raw of text.split('\n')) {
    const opening = /^\s*(`{3,}|~{3,})/.exec(raw);
    if (opening) {
      if (fence === undefined) fence = opening[1][0];
      else if (opening[1][0] === fence) fence = undefined;
      continue;
    }
    if (fence !== undefined) continue;
    for (const [, id] of raw.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(id);
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(raw);
    if (!heading) continue;
    const words = heading[1]
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/<[^>]+>/g, '')
      .replace(/(\*\*|__|\*)/g, '');
    const base = words.toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '').replace(/ /g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

export function linksIn(file: string, text: string): Link[] {
  const links: Link[] = [];
  for (const { line, text: prose } of proseLines(text)) {
    for (const match of prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) links.push({ file, line, target: match[1] });
    const reference = /^\s*\[[^\]]+\]:\s*(\S+)/.exec(prose);
    if (reference) links.push({ file, line, target: reference[1] });
  }
  return links;
}

/** Why the link does not resolve, or undefined when it does. External links are not checked. */
function problem(link: Link): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(link.target)) return undefined;
  const [pathPart, anchor] = link.target.split('#', 2) as [string, string | undefined];
  const path = pathPart === '' ? join(root, link.file) : normalize(join(root, dirname(link.file), decodeURIComponent(pathPart)));
  if (!relative(root, path) || relative(root, path).startsWith('..')) return `${link.target} leaves the repository`;
  if (!existsSync(path)) return `${link.target}: no file ${relative(root, path)}`;
  if (anchor === undefined || anchor === '') return undefined;
  if (statSync(path).isDirectory() || !path.endsWith('.md')) return undefined;
  return headingAnchors(readFileSync(path, 'utf8')).has(anchor) ? undefined : `${link.target}: no heading #${anchor} in ${relative(root, path)}`;
}

function documents(): string[] {
  return ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => join('docs', f))];
}

test('heading anchors follow GitHub: punctuation dropped, spaces hyphenated, repeats numbered', () => {
  const anchors = headingAnchors(
    ['# Worker pool (`pool`)', '## Node.js and platform support', '### Keys', '### Keys', '```', '# not a heading', '```', '## **Bold** [link](x.md) — dash'].join('\n'),
  );
  assert.deepEqual([...anchors].sort(), ['bold-link--dash', 'keys', 'keys-1', 'nodejs-and-platform-support', 'worker-pool-pool']);
});

test('links are found outside code, with their line', () => {
  const text = ['see [a](a.md#x) and `[b](b.md)`', '```', '[c](c.md)', '```', '[d]: d.md', '[e](https://example.com)'].join('\n');
  assert.deepEqual(
    linksIn('docs/t.md', text).map((l) => `${l.line}:${l.target}`),
    ['1:a.md#x', '5:d.md', '6:https://example.com'],
  );
});

test('a missing file and a missing anchor are problems; an existing heading is not', () => {
  assert.match(problem({ file: 'README.md', line: 1, target: 'docs/no-such-file.md' }) ?? '', /no file/);
  assert.match(problem({ file: 'README.md', line: 1, target: '#no-such-heading' }) ?? '', /no heading/);
  assert.equal(problem({ file: 'docs/routing.md', line: 1, target: '#keys' }), undefined);
});

for (const file of documents()) {
  test(`${file}: every relative link and anchor resolves`, () => {
    const broken = linksIn(file, readFileSync(join(root, file), 'utf8'))
      .map((link) => ({ link, why: problem(link) }))
      .filter((b) => b.why !== undefined)
      .map(({ link, why }) => `${link.file}:${link.line}: ${why}`);
    assert.deepEqual(broken, []);
  });
}
