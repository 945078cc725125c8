// Reads and edits the top level of a JSON object body without re-serialising it, so unknown
// fields reach the upstream byte for byte. Input must already have passed JSON.parse.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

export function skipWhitespace(buf: Buffer, i: number): number {
  while (i < buf.length) {
    const c = buf[i];
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}

/** Index just past the string starting at the quote at i. */
function skipString(buf: Buffer, i: number): number {
  i++;
  while (i < buf.length) {
    const c = buf[i];
    if (c === BACKSLASH) i += 2;
    else if (c === QUOTE) return i + 1;
    else i++;
  }
  return i;
}

/** Index just past the JSON value starting at i. */
export function skipValue(buf: Buffer, i: number): number {
  const c = buf[i];
  if (c === QUOTE) return skipString(buf, i);
  if (c === OPEN_BRACE || c === OPEN_BRACKET) {
    let depth = 0;
    while (i < buf.length) {
      const d = buf[i];
      if (d === QUOTE) {
        i = skipString(buf, i);
        continue;
      }
      if (d === OPEN_BRACE || d === OPEN_BRACKET) depth++;
      else if (d === CLOSE_BRACE || d === CLOSE_BRACKET) {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    return i;
  }
  while (i < buf.length) {
    const d = buf[i];
    if (d === COMMA || d === CLOSE_BRACE || d === 0x20 || d === 0x0a || d === 0x0d || d === 0x09) break;
    i++;
  }
  return i;
}

export interface TopLevelLayout {
  /** Index of the opening brace. */
  open: number;
  /** key → [valueStart, valueEnd) byte range; a repeated key keeps its last occurrence, as JSON.parse does. */
  values: Map<string, [number, number]>;
}

export function scanTopLevel(buf: Buffer): TopLevelLayout {
  const values = new Map<string, [number, number]>();
  const open = skipWhitespace(buf, 0);
  let i = open + 1;
  for (;;) {
    i = skipWhitespace(buf, i);
    if (i >= buf.length || buf[i] === CLOSE_BRACE) break;
    if (buf[i] === COMMA) {
      i++;
      continue;
    }
    const keyEnd = skipString(buf, i);
    const keyRaw = buf.toString('utf8', i + 1, keyEnd - 1);
    const key = keyRaw.includes('\\') ? (JSON.parse(`"${keyRaw}"`) as string) : keyRaw;
    i = skipWhitespace(buf, keyEnd);
    if (buf[i] === COLON) i++;
    i = skipWhitespace(buf, i);
    const valueEnd = skipValue(buf, i);
    values.set(key, [i, valueEnd]);
    i = valueEnd;
  }
  return { open, values };
}

/**
 * Returns the body with top-level values replaced (key present) or added (key absent); values are
 * JSON text. Everything else is copied unchanged.
 */
export function editTopLevel(buf: Buffer, edits: ReadonlyMap<string, string>): Buffer {
  if (edits.size === 0) return buf;
  const layout = scanTopLevel(buf);
  const replacements: Array<[number, number, string]> = [];
  const additions: string[] = [];
  for (const [key, value] of edits) {
    const range = layout.values.get(key);
    if (range) replacements.push([range[0], range[1], value]);
    else additions.push(`${JSON.stringify(key)}:${value}`);
  }
  replacements.sort((a, b) => a[0] - b[0]);
  const parts: Buffer[] = [];
  let cursor = layout.open + 1;
  parts.push(buf.subarray(0, cursor));
  if (additions.length > 0) {
    parts.push(Buffer.from(additions.join(',') + (layout.values.size > 0 ? ',' : '')));
  }
  for (const [start, end, value] of replacements) {
    parts.push(buf.subarray(cursor, start), Buffer.from(value));
    cursor = end;
  }
  parts.push(buf.subarray(cursor));
  return Buffer.concat(parts);
}
