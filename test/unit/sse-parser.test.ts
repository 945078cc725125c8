// The SSE parser: the same events whatever the chunking, exact raw bytes, CRLF, multi-line data, event: lines, rest().
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SseParser, type SseEvent } from '../../src/sse/parser.js';
import { dataEvent, doneEvent, errorEvent } from '../../src/sse/writer.js';

const stream = [
  'data: {"id":"1","choices":[{"delta":{"content":"héllo ✓"}}]}\n\n',
  'event: ping\ndata: x\n\n',
  'data: line one\ndata: line two\n\n',
  'data: crlf\r\n\r\n',
  'event: message_start\r\ndata: {"a":1}\r\n\r\n',
  ': a comment line\n\n',
  'data:nospace\n\n',
  'data\n\n',
  'id: 7\nretry: 100\ndata: with other fields\n\n',
  'data: [DONE]\n\n',
].join('');

const expected = [
  { event: undefined, data: '{"id":"1","choices":[{"delta":{"content":"héllo ✓"}}]}' },
  { event: 'ping', data: 'x' },
  { event: undefined, data: 'line one\nline two' },
  { event: undefined, data: 'crlf' },
  { event: 'message_start', data: '{"a":1}' },
  { event: undefined, data: '' },
  { event: undefined, data: 'nospace' },
  { event: undefined, data: '' },
  { event: undefined, data: 'with other fields' },
  { event: undefined, data: '[DONE]' },
];

function view(events: SseEvent[]) {
  return events.map((e) => ({ event: e.event, data: e.data }));
}

function parseInChunks(bytes: Buffer, cuts: number[]): { events: SseEvent[]; raw: string[]; rest: Buffer | undefined } {
  const parser = new SseParser();
  const events: SseEvent[] = [];
  const raw: string[] = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    for (const e of parser.push(bytes.subarray(from, cut))) {
      events.push(e);
      // Copy now: a later push may reuse the memory the raw view points into.
      raw.push(e.raw.toString('utf8'));
    }
    from = cut;
  }
  return { events, raw, rest: parser.rest() };
}

describe('SseParser', () => {
  const bytes = Buffer.from(stream);

  test('one chunk: every event, with its fields', () => {
    const { events, raw, rest } = parseInChunks(bytes, []);
    assert.deepEqual(view(events), expected);
    assert.equal(raw.join(''), stream, 'the raw bytes of the events are the input, byte for byte');
    assert.equal(rest, undefined);
  });

  test('split at every byte offset: the same events and the same raw bytes', () => {
    for (let cut = 0; cut <= bytes.length; cut++) {
      const { events, raw, rest } = parseInChunks(bytes, [cut]);
      assert.deepEqual(view(events), expected, `split at ${cut}`);
      assert.equal(raw.join(''), stream, `split at ${cut}`);
      assert.equal(rest, undefined, `split at ${cut}`);
    }
  });

  test('one byte at a time (multi-byte UTF-8 split across pushes)', () => {
    const cuts = Array.from({ length: bytes.length - 1 }, (_, i) => i + 1);
    const { events, raw } = parseInChunks(bytes, cuts);
    assert.deepEqual(view(events), expected);
    assert.equal(raw.join(''), stream);
  });

  test('three-way splits keep working', () => {
    for (let a = 0; a < bytes.length; a += 7) {
      for (let b = a; b < bytes.length; b += 11) {
        assert.deepEqual(view(parseInChunks(bytes, [a, b]).events), expected, `cuts ${a},${b}`);
      }
    }
  });

  test('raw of events from one push is contiguous, so a relay can write them as one slice', () => {
    const parser = new SseParser();
    parser.push(Buffer.from('data: a'));
    const events = parser.push(Buffer.from('\n\ndata: b\n\ndata: c\n\n'));
    assert.equal(events.length, 3);
    for (let i = 1; i < events.length; i++) {
      assert.equal(events[i].raw.buffer, events[0].raw.buffer);
      assert.equal(events[i].raw.byteOffset, events[i - 1].raw.byteOffset + events[i - 1].raw.length);
    }
  });

  test('rest() holds an incomplete last event and is cleared once it completes', () => {
    const parser = new SseParser();
    assert.deepEqual(view(parser.push(Buffer.from('data: one\n\ndata: tw'))), [{ event: undefined, data: 'one' }]);
    assert.equal(parser.rest()?.toString(), 'data: tw');
    assert.deepEqual(view(parser.push(Buffer.from('o\n'))), []);
    assert.equal(parser.rest()?.toString(), 'data: two\n');
    assert.deepEqual(view(parser.push(Buffer.from('\n'))), [{ event: undefined, data: 'two' }]);
    assert.equal(parser.rest(), undefined);
  });

  test('an empty push yields nothing and keeps the pending bytes', () => {
    const parser = new SseParser();
    parser.push(Buffer.from('data: x'));
    assert.deepEqual(parser.push(Buffer.alloc(0)), []);
    assert.equal(parser.rest()?.toString(), 'data: x');
  });
});

describe('SseParser on one huge event', () => {
  /** Bytes Buffer.concat and Buffer.from copied while `fn` ran. */
  function bytesCopied(fn: () => void): number {
    const { concat, from } = Buffer;
    let copied = 0;
    Buffer.concat = ((list: readonly Uint8Array[], total?: number) => {
      const out = concat(list, total);
      copied += out.length;
      return out;
    }) as typeof Buffer.concat;
    Buffer.from = ((...args: Parameters<typeof Buffer.from>) => {
      const out = (from as (...a: unknown[]) => Buffer)(...args);
      copied += out.length;
      return out;
    }) as typeof Buffer.from;
    try {
      fn();
    } finally {
      Buffer.concat = concat;
      Buffer.from = from;
    }
    return copied;
  }

  test('an event without a blank line for 4 MiB costs copies linear in its size, not quadratic', () => {
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const chunks = 64;
    let events: SseEvent[] = [];
    const parser = new SseParser();
    const copied = bytesCopied(() => {
      parser.push(Buffer.from('data: '));
      for (let i = 0; i < chunks; i++) parser.push(chunk);
      events = parser.push(Buffer.from('\n\n'));
    });
    const size = 6 + chunks * chunk.length + 2;
    assert.equal(events.length, 1);
    assert.equal(events[0].data.length, chunks * chunk.length);
    // Each byte is copied when held and once more when the event is joined; joining on every push copied ~32x here.
    assert.ok(copied <= 2 * size + 64, `copied ${copied} bytes for a ${size}-byte event`);
  });

  test('pendingBytes counts what is held for an incomplete event', () => {
    const parser = new SseParser();
    parser.push(Buffer.from('data: {"a":1}\n\ndata: {"b"'));
    parser.push(Buffer.from(':2'));
    assert.equal(parser.pendingBytes, 'data: {"b":2'.length);
    parser.push(Buffer.from('}\n\n'));
    assert.equal(parser.pendingBytes, 0);
  });

  test('a multi-line event across many chunks, and a blank line split over three pushes', () => {
    const parser = new SseParser();
    const lines = Array.from({ length: 200 }, (_, i) => `data: line ${i}\r\n`).join('');
    const got: SseEvent[] = [];
    for (let i = 0; i < lines.length; i += 37) got.push(...parser.push(Buffer.from(lines.slice(i, i + 37))));
    assert.equal(got.length, 0);
    got.push(...parser.push(Buffer.from('\r')));
    assert.equal(got.length, 0, 'CR alone does not end it');
    got.push(...parser.push(Buffer.from('\n')));
    assert.equal(got.length, 1);
    assert.equal(got[0].data.split('\n').length, 200);
    assert.equal(got[0].raw.toString(), `${lines}\r\n`);
  });
});

describe('SseEvent data offsets', () => {
  test('one data: line: dataStart/dataEnd frame the data in raw; other events have -1', () => {
    const events = new SseParser().push(Buffer.from('data: {"a":1}\n\ndata:{}\r\n\r\ndata:\n\nevent: x\ndata: y\n\n'));
    const frames = events.map((e) => (e.dataStart < 0 ? null : e.raw.subarray(e.dataStart, e.dataEnd).toString()));
    assert.deepEqual(frames, ['{"a":1}', '{}', '', null]);
    assert.deepEqual(events.map((e) => e.data), ['{"a":1}', '{}', '', 'y']);
  });
});

describe('SSE writer', () => {
  test('dataEvent, doneEvent and errorEvent parse back to what they carry', () => {
    const parser = new SseParser();
    const body = { error: { message: 'boom', type: 'api_error', param: null, code: 'upstream_error' } };
    const events = parser.push(Buffer.from(dataEvent({ a: 'x\ny' }) + errorEvent(body) + doneEvent));
    assert.deepEqual(
      events.map((e) => e.data),
      ['{"a":"x\\ny"}', JSON.stringify(body), '[DONE]'],
    );
  });
});
