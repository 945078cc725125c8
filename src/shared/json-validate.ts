// Tells whether bytes are one valid JSON text (RFC 8259) without building it: JSON.parse of a chat
// answer costs several µs in objects that are thrown away when all we need is "may this be embedded
// in a JSON line as it is". Bytes ≥ 0x80 are accepted inside strings as they are (UTF-8 is not
// re-checked: a reader decoding a bad sequence gets U+FFFD, still inside a string).

/** Deeper texts are reported invalid (callers then keep them as a string); JSON.parse goes deeper. */
export const maxJsonDepth = 512;
// One per thread: isJson never yields, so calls cannot interleave.
const stack = new Uint8Array(maxJsonDepth);

/** Whether b[start, end) is one JSON text; the range lets a caller check part of a buffer (an SSE event's data) without copying it. */
export function isJson(b: Uint8Array, start = 0, end = b.length): boolean {
  let i = ws(b, start, end);
  let depth = 0;
  for (;;) {
    // Expect a value at i.
    if (i >= end) return false;
    let c = b[i];
    if (c === 0x7b || c === 0x5b) {
      if (depth === maxJsonDepth) return false;
      stack[depth++] = c;
      i = ws(b, i + 1, end);
      if (i >= end) return false;
      if (c === 0x7b) {
        if (b[i] === 0x7d) {
          depth--;
          i++;
        } else {
          i = key(b, i, end);
          if (i < 0) return false;
          continue;
        }
      } else if (b[i] === 0x5d) {
        depth--;
        i++;
      } else continue;
    } else if (c === 0x22) {
      i = string(b, i, end);
      if (i < 0) return false;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      i = number(b, i, end);
      if (i < 0) return false;
    } else if (c === 0x74) {
      if (!literal(b, i, end, 'true')) return false;
      i += 4;
    } else if (c === 0x66) {
      if (!literal(b, i, end, 'false')) return false;
      i += 5;
    } else if (c === 0x6e) {
      if (!literal(b, i, end, 'null')) return false;
      i += 4;
    } else return false;

    // After a value: close containers or move to the next member.
    for (;;) {
      i = ws(b, i, end);
      if (depth === 0) return i === end;
      if (i >= end) return false;
      c = b[i];
      const open = stack[depth - 1];
      if (c === 0x2c) {
        i = ws(b, i + 1, end);
        if (open === 0x7b) {
          i = key(b, i, end);
          if (i < 0) return false;
        }
        break;
      }
      if ((open === 0x7b && c === 0x7d) || (open === 0x5b && c === 0x5d)) {
        depth--;
        i++;
        continue;
      }
      return false;
    }
  }
}

/** One JSON object: what every OpenAI-compatible answer and stream chunk is. */
export function isJsonObject(b: Uint8Array, start = 0, end = b.length): boolean {
  const i = ws(b, start, end);
  return i < end && b[i] === 0x7b && isJson(b, i, end);
}

function ws(b: Uint8Array, i: number, end: number): number {
  while (i < end) {
    const c = b[i];
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}

/** A member's name and its colon, from i; the index of its value, or -1. */
function key(b: Uint8Array, i: number, end: number): number {
  if (i >= end || b[i] !== 0x22) return -1;
  i = string(b, i, end);
  if (i < 0) return -1;
  i = ws(b, i, end);
  if (i >= end || b[i] !== 0x3a) return -1;
  return ws(b, i + 1, end);
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** 1 for the bytes that end a run of plain string content: controls, quote, backslash. */
const stringStop = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) stringStop[c] = 1;
stringStop[0x22] = 1;
stringStop[0x5c] = 1;

/** Index past the string whose quote is at i, or -1. */
function string(b: Uint8Array, i: number, end: number): number {
  i++;
  while (i < end) {
    while (i < end && stringStop[b[i]] === 0) i++;
    if (i >= end) return -1;
    const c = b[i];
    if (c === 0x22) return i + 1;
    if (c < 0x20) return -1;
    if (c === 0x5c) {
      const e = b[i + 1];
      if (e === 0x75) {
        if (i + 5 >= end || !isHex(b[i + 2]) || !isHex(b[i + 3]) || !isHex(b[i + 4]) || !isHex(b[i + 5])) return -1;
        i += 6;
      } else if (e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
        i += 2;
      } else return -1;
    } else i++;
  }
  return -1;
}

function digits(b: Uint8Array, i: number, end: number): number {
  const start = i;
  while (i < end && b[i] >= 0x30 && b[i] <= 0x39) i++;
  return i === start ? -1 : i;
}

/** Index past the number starting at i, or -1. */
function number(b: Uint8Array, i: number, end: number): number {
  if (b[i] === 0x2d) i++;
  if (i >= end) return -1;
  if (b[i] === 0x30) i++;
  else {
    i = digits(b, i, end);
    if (i < 0) return -1;
  }
  if (i < end && b[i] === 0x2e) {
    i = digits(b, i + 1, end);
    if (i < 0) return -1;
  }
  if (i < end && (b[i] === 0x65 || b[i] === 0x45)) {
    i++;
    if (i < end && (b[i] === 0x2b || b[i] === 0x2d)) i++;
    i = digits(b, i, end);
    if (i < 0) return -1;
  }
  return i;
}

function literal(b: Uint8Array, i: number, end: number, word: string): boolean {
  if (i + word.length > end) return false;
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word.charCodeAt(k)) return false;
  return true;
}
