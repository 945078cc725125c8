import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChunkEvent, ResponseFilter } from '../../src/pipeline/stage.js';
import { createGuardResponseFilter } from '../../src/guards/response-filter.js';
import { compileOutputGuard } from '../../src/guards/output-guard.js';
import type { OutputGuardConfig } from '../../src/guards/config.js';

type Json = Record<string, unknown>;

function chunk(content: string | undefined, finish: string | null = null, index = 0, extraDelta: Json = {}): ChunkEvent {
  const delta: Json = { ...extraDelta };
  if (content !== undefined) delta.content = content;
  const json = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index, delta, finish_reason: finish }] };
  return { json, data: JSON.stringify(json) };
}

const done: ChunkEvent = { data: '[DONE]', json: undefined };
const usage: ChunkEvent = (() => {
  const json = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } };
  return { json, data: JSON.stringify(json) };
})();

function run(filter: ResponseFilter, events: ChunkEvent[]): ChunkEvent[] {
  const out: ChunkEvent[] = [];
  for (const e of events) {
    const r = filter.onEvent!(e);
    if (r === null) continue;
    out.push(...(Array.isArray(r) ? r : [r]));
  }
  out.push(...(filter.onEnd?.() ?? []));
  for (const e of out) if (e.json) assert.equal(e.data, JSON.stringify(e.json), 'data must match json');
  return out;
}

function choiceOf(e: ChunkEvent, index = 0): Json | undefined {
  return ((e.json?.choices as Json[] | undefined) ?? []).find((c) => (c.index ?? 0) === index);
}

function textOf(events: ChunkEvent[], index = 0): string {
  return events.map((e) => (choiceOf(e, index)?.delta as Json | undefined)?.content ?? '').join('');
}

function finishOf(events: ChunkEvent[], index = 0): unknown {
  return events.map((e) => choiceOf(e, index)?.finish_reason).filter((f) => f != null).at(-1);
}

/** The stream as upstream would send it: a role chunk, the text in the given pieces, a finish chunk, usage, [DONE]. */
function stream(pieces: string[]): ChunkEvent[] {
  return [chunk('', null, 0, { role: 'assistant' }), ...pieces.map((p) => chunk(p)), chunk(undefined, 'stop'), usage, done];
}

/** Every way of cutting `text` into two pieces, and into three for short texts. */
function* splits(text: string): Generator<string[]> {
  for (let i = 0; i <= text.length; i++) yield [text.slice(0, i), text.slice(i)];
  if (text.length <= 40) {
    for (let i = 1; i < text.length; i++) for (let j = i + 1; j < text.length; j++) yield [text.slice(0, i), text.slice(i, j), text.slice(j)];
  }
  yield [...text]; // one character (code unit pair) per chunk
}

function outputGuard(overrides: Partial<OutputGuardConfig>): OutputGuardConfig {
  return { name: 'out', patterns: [], case_insensitive: true, action: 'mask', replacement: '[REDACTED]', window_chars: 32, ...overrides };
}

const pseudonyms = new Map([
  ['<EMAIL_1>', 'bob@example.com'],
  ['<PHONE_12>', '+1 415 555 2671'],
]);

test('placeholders are restored whatever the chunk boundaries', () => {
  const text = 'Mail <EMAIL_1> or call <PHONE_12>; 😀 <NOT_1> <b <EMAIL_1>';
  const expected = 'Mail bob@example.com or call +1 415 555 2671; 😀 <NOT_1> <b bob@example.com';
  let cases = 0;
  for (const pieces of splits(text)) {
    const filter = createGuardResponseFilter({ pseudonyms, outputGuards: [] })!;
    const out = run(filter, stream(pieces));
    assert.equal(textOf(out), expected, JSON.stringify(pieces));
    assert.equal(finishOf(out), 'stop');
    assert.equal(out.at(-1), done);
    assert.ok(out.includes(usage), 'usage chunk passes through untouched');
    cases++;
  }
  assert.ok(cases > 50);
});

test('a held-back partial placeholder is flushed when the stream ends without a finish chunk', () => {
  const filter = createGuardResponseFilter({ pseudonyms, outputGuards: [] })!;
  const out = run(filter, [chunk('see <EMA'), chunk('IL_1> and <EM')]);
  assert.equal(textOf(out), 'see bob@example.com and <EM');
});

test('output guard masks a match split at every offset, and no part of it leaks', () => {
  const guard = compileOutputGuard(outputGuard({ patterns: ['secret-[0-9]+', 'project\\s+phoenix'] }));
  const text = 'The code is SECRET-12345, about Project  Phoenix. 日本 secret-9!';
  const expected = 'The code is [REDACTED], about [REDACTED]. 日本 [REDACTED]!';
  for (const pieces of splits(text)) {
    const filter = createGuardResponseFilter({ pseudonyms: new Map(), outputGuards: [guard] })!;
    const out = run(filter, stream(pieces));
    assert.equal(textOf(out), expected, JSON.stringify(pieces));
    assert.equal(finishOf(out), 'stop');
  }
});

test('output guard in stop mode ends the answer with finish_reason content_filter', () => {
  const guard = compileOutputGuard(outputGuard({ patterns: ['forbidden\\s+plan'], action: 'stop' }));
  const text = 'All fine so far, then the forbidden  plan follows and more text.';
  for (const pieces of splits(text)) {
    const triggered: string[] = [];
    const filter = createGuardResponseFilter({ pseudonyms: new Map(), outputGuards: [guard], onTrigger: (g, a) => triggered.push(`${g}:${a}`) })!;
    const out = run(filter, stream(pieces));
    assert.equal(textOf(out), 'All fine so far, then the ', JSON.stringify(pieces));
    assert.equal(finishOf(out), 'content_filter');
    assert.equal(out.filter((e) => choiceOf(e)?.finish_reason != null).length, 1, 'exactly one finish');
    assert.deepEqual(triggered, ['out:stop']);
    assert.equal(out.at(-1), done);
  }
});

test('restore runs before the output guard, which sees the restored text', () => {
  const guard = compileOutputGuard(outputGuard({ patterns: ['bob@example\\.com'], replacement: '[EMAIL HIDDEN]' }));
  const text = 'Hi <EMAIL_1>, and <PHONE_12>.';
  for (const pieces of splits(text)) {
    const filter = createGuardResponseFilter({ pseudonyms, outputGuards: [guard] })!;
    assert.equal(textOf(run(filter, stream(pieces))), 'Hi [EMAIL HIDDEN], and +1 415 555 2671.');
  }
});

test('unicode: emoji and combining marks around a split match', () => {
  const guard = compileOutputGuard(outputGuard({ patterns: ['café(?:\\s|\\pZ)*noir'], window_chars: 12 }));
  const text = '👨‍👩‍👧 un CAFÉ noir 😀 puis café\u00a0noir ✓';
  for (const pieces of splits(text)) {
    const filter = createGuardResponseFilter({ pseudonyms: new Map(), outputGuards: [guard] })!;
    assert.equal(textOf(run(filter, stream(pieces))), '👨‍👩‍👧 un [REDACTED] 😀 puis [REDACTED] ✓', JSON.stringify(pieces));
  }
});

test('an adversarial pattern for backtracking engines runs in linear time (RE2)', () => {
  const guard = compileOutputGuard(outputGuard({ patterns: ['(a+)+$'], window_chars: 64 }));
  const text = 'a'.repeat(30_000) + 'b';
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += 1000) pieces.push(text.slice(i, i + 1000));
  const filter = createGuardResponseFilter({ pseudonyms: new Map(), outputGuards: [guard] })!;
  const started = performance.now();
  const out = run(filter, stream(pieces));
  assert.equal(textOf(out), text);
  assert.ok(performance.now() - started < 5000);
});

test('several choices are guarded independently', () => {
  const guard = compileOutputGuard(outputGuard({ patterns: ['bad'], action: 'stop' }));
  const filter = createGuardResponseFilter({ pseudonyms, outputGuards: [guard] })!;
  const out = run(filter, [
    chunk('hello <EMA', null, 0),
    chunk('good ', null, 1),
    chunk('IL_1> ok', null, 0),
    chunk('then b', null, 1),
    chunk('ad end', null, 1),
    chunk(undefined, 'stop', 0),
    chunk(undefined, 'stop', 1),
    done,
  ]);
  assert.equal(textOf(out, 0), 'hello bob@example.com ok');
  assert.equal(finishOf(out, 0), 'stop');
  assert.equal(textOf(out, 1), 'good then ');
  assert.equal(finishOf(out, 1), 'content_filter');
});

test('events without text or placeholders (role, plain tool calls) pass unchanged', () => {
  const filter = createGuardResponseFilter({ pseudonyms, outputGuards: [] })!;
  const toolCall = chunk(undefined, null, 0, { tool_calls: [{ index: 0, function: { arguments: '{}' } }] });
  assert.equal(filter.onEvent!(toolCall), toolCall);
});

/** Streamed tool calls: the first chunk names the call, the arguments follow in the given pieces, per tool call index. */
function toolCallStream(calls: Array<{ index: number; name: string; pieces: string[] }>): ChunkEvent[] {
  const events: ChunkEvent[] = [chunk(undefined, null, 0, { role: 'assistant', content: null })];
  for (const call of calls) {
    events.push(chunk(undefined, null, 0, { tool_calls: [{ index: call.index, id: `call_${call.index}`, type: 'function', function: { name: call.name, arguments: '' } }] }));
    for (const piece of call.pieces) events.push(chunk(undefined, null, 0, { tool_calls: [{ index: call.index, function: { arguments: piece } }] }));
  }
  return [...events, chunk(undefined, 'tool_calls'), usage, done];
}

/** The arguments a client accumulates per tool call index (as the SDKs do: concatenation). */
function argumentsOf(events: ChunkEvent[]): Map<number, string> {
  const out = new Map<number, string>();
  for (const e of events) {
    const calls = ((choiceOf(e)?.delta as Json | undefined)?.tool_calls as Json[] | undefined) ?? [];
    for (const call of calls) {
      const args = (call.function as Json | undefined)?.arguments;
      if (typeof args === 'string') out.set(call.index as number, (out.get(call.index as number) ?? '') + args);
    }
  }
  return out;
}

test('placeholders in streamed tool-call arguments are restored whatever the chunk boundaries', () => {
  const args = '{"to":"<EMAIL_1>","phone":"<PHONE_12>","note":"<b>"}';
  const expected = '{"to":"bob@example.com","phone":"+1 415 555 2671","note":"<b>"}';
  let cases = 0;
  for (const pieces of splits(args)) {
    const filter = createGuardResponseFilter({ pseudonyms, outputGuards: [] })!;
    const out = run(filter, toolCallStream([{ index: 0, name: 'send_mail', pieces }, { index: 1, name: 'lookup', pieces: ['{"q":"<EMA', 'IL_1>"}'] }]));
    const accumulated = argumentsOf(out);
    assert.equal(accumulated.get(0), expected, JSON.stringify(pieces));
    assert.equal(accumulated.get(1), '{"q":"bob@example.com"}');
    assert.equal(finishOf(out), 'tool_calls');
    cases++;
  }
  assert.ok(cases > 50);
});

test('output guards scan streamed tool-call arguments too: a mask at every split, and a stop ends the choice', () => {
  const mask = compileOutputGuard(outputGuard({ patterns: ['project\\s+phoenix'] }));
  const args = '{"topic":"Project Phoenix budget","to":"<EMAIL_1>"}';
  for (const pieces of splits(args)) {
    const filter = createGuardResponseFilter({ pseudonyms, outputGuards: [mask] })!;
    const out = run(filter, toolCallStream([{ index: 0, name: 'send_mail', pieces }]));
    assert.equal(argumentsOf(out).get(0), '{"topic":"[REDACTED] budget","to":"bob@example.com"}', JSON.stringify(pieces));
    assert.equal(finishOf(out), 'tool_calls');
  }
  const stop = compileOutputGuard(outputGuard({ patterns: ['rm\\s+-rf'], action: 'stop' }));
  const triggered: string[] = [];
  const filter = createGuardResponseFilter({ pseudonyms: new Map(), outputGuards: [stop], onTrigger: (g, a) => triggered.push(`${g}:${a}`) })!;
  const out = run(filter, toolCallStream([{ index: 0, name: 'shell', pieces: ['{"cmd":"ls; r', 'm -rf /"}'] }, { index: 1, name: 'other', pieces: ['{}'] }]));
  const accumulated = argumentsOf(out);
  assert.equal(accumulated.get(0), '{"cmd":"ls; ', 'nothing of the match leaks');
  // The window holds arguments back, so the stop is decided before any of them leave: the second call's
  // arguments never reach the client (its name, sent before, does).
  assert.equal(accumulated.get(1) ?? '', '', 'arguments after the stop are dropped');
  assert.equal(finishOf(out), 'content_filter');
  assert.deepEqual(triggered, ['out:stop']);
});

test('tool-call arguments held back at a stream cut without a finish chunk are flushed at the end', () => {
  const filter = createGuardResponseFilter({ pseudonyms, outputGuards: [] })!;
  const out = run(filter, [chunk(undefined, null, 0, { tool_calls: [{ index: 2, function: { arguments: '{"to":"<EMAIL_' } }] })]);
  assert.equal(argumentsOf(out).get(2), '{"to":"<EMAIL_');
});

test('non-streamed answers: restore, mask, stop', () => {
  const mask = compileOutputGuard(outputGuard({ patterns: ['secret-[0-9]+'] }));
  const stop = compileOutputGuard(outputGuard({ name: 'stopper', patterns: ['forbidden'], action: 'stop' }));
  const body = {
    id: 'x',
    object: 'chat.completion',
    choices: [
      { index: 0, message: { role: 'assistant', content: 'To <EMAIL_1>: secret-42.' }, finish_reason: 'stop' },
      { index: 1, message: { role: 'assistant', content: 'ok then forbidden words' }, finish_reason: 'stop' },
    ],
  };
  const out = createGuardResponseFilter({ pseudonyms, outputGuards: [mask, stop] })!.onBody!(body) as Json;
  const choices = out.choices as Array<{ message: { content: string }; finish_reason: string }>;
  assert.equal(choices[0]!.message.content, 'To bob@example.com: [REDACTED].');
  assert.equal(choices[0]!.finish_reason, 'stop');
  assert.equal(choices[1]!.message.content, 'ok then ');
  assert.equal(choices[1]!.finish_reason, 'content_filter');
  assert.equal(createGuardResponseFilter({ pseudonyms, outputGuards: [] })!.onBody!({ choices: [{ message: { content: 'nothing' } }] }), undefined);
});

test('non-streamed tool calls: placeholders restored in their arguments', () => {
  const body = {
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'a', type: 'function', function: { name: 'send', arguments: '{"to":"<EMAIL_1>"}' } },
            { id: 'b', type: 'function', function: { name: 'noop', arguments: '{}' } },
          ],
        },
        finish_reason: 'tool_calls',
      },
    ],
  };
  const out = createGuardResponseFilter({ pseudonyms, outputGuards: [] })!.onBody!(body) as Json;
  const calls = (out.choices as Array<{ message: { tool_calls: Array<{ function: { arguments: string } }> } }>)[0]!.message.tool_calls;
  assert.deepEqual(calls.map((c) => c.function.arguments), ['{"to":"bob@example.com"}', '{}']);
  assert.equal(body.choices[0]!.message.tool_calls[0]!.function.arguments, '{"to":"<EMAIL_1>"}', 'the input is not mutated');
});

test('non-streamed tool calls: output guards mask their arguments, and a stop truncates and ends the choice', () => {
  const mask = compileOutputGuard(outputGuard({ patterns: ['secret-[0-9]+'] }));
  const stop = compileOutputGuard(outputGuard({ name: 'stopper', patterns: ['drop\\s+table'], action: 'stop' }));
  const call = (id: string, args: string) => ({ id, type: 'function', function: { name: 'f', arguments: args } });
  const body = {
    choices: [
      { index: 0, message: { role: 'assistant', content: null, tool_calls: [call('a', '{"k":"secret-42"}')] }, finish_reason: 'tool_calls' },
      { index: 1, message: { role: 'assistant', content: null, tool_calls: [call('b', '{"sql":"DROP TABLE x"}'), call('c', '{}')] }, finish_reason: 'tool_calls' },
    ],
  };
  const out = createGuardResponseFilter({ pseudonyms: new Map(), outputGuards: [mask, stop] })!.onBody!(body) as Json;
  const choices = out.choices as Array<{ message: { tool_calls: Array<{ id: string; function: { arguments: string } }> }; finish_reason: string }>;
  assert.equal(choices[0]!.message.tool_calls[0]!.function.arguments, '{"k":"[REDACTED]"}');
  assert.equal(choices[0]!.finish_reason, 'tool_calls');
  assert.deepEqual(choices[1]!.message.tool_calls.map((c) => [c.id, c.function.arguments]), [['b', '{"sql":"']]);
  assert.equal(choices[1]!.finish_reason, 'content_filter');
});
