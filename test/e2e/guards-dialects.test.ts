// Guards on every dialect and provider family: the stages see the canonical form, so a deny pattern,
// PII pseudonyms and the output guard work on Anthropic-format prompts and on Anthropic and Gemini
// answers, restored and masked across translated chunks.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { startStack, clientKey, type Stack } from '../helpers/stack.js';

type Json = Record<string, unknown>;

/** The last user text of an Anthropic or Gemini request body. */
function lastUserText(body: Json): string {
  const turns = (body.messages ?? body.contents) as Array<{ content?: unknown; parts?: Array<{ text?: string }> }>;
  const last = turns.at(-1)!;
  if (last.parts) return last.parts.map((p) => p.text ?? '').join('');
  const content = last.content;
  return typeof content === 'string' ? content : (content as Array<{ text?: string }>).map((p) => p.text ?? '').join('');
}

/** An upstream speaking Anthropic Messages and Gemini that answers with the prompt, 3 characters per event. */
function startEcho(): Promise<{ server: Server; port: number; bodies: Json[] }> {
  const bodies: Json[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json;
      bodies.push(body);
      const text = lastUserText(body);
      const pieces: string[] = [];
      for (let i = 0; i < text.length; i += 3) pieces.push(text.slice(i, i + 3));
      const url = req.url ?? '';
      if (url.startsWith('/v1/messages')) {
        if (body.stream !== true) {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ id: 'msg_echo', type: 'message', role: 'assistant', model: body.model, content: [{ type: 'text', text }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 5, output_tokens: pieces.length } }));
          return;
        }
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const send = (type: string, data: Json) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
        send('message_start', { message: { id: 'msg_echo', type: 'message', role: 'assistant', model: body.model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 5, output_tokens: 1 } } });
        send('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
        for (const p of pieces) send('content_block_delta', { index: 0, delta: { type: 'text_delta', text: p } });
        send('content_block_stop', { index: 0 });
        send('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: pieces.length } });
        send('message_stop', {});
        res.end();
        return;
      }
      // Gemini: …:generateContent or …:streamGenerateContent?alt=sse
      const usageMetadata = { promptTokenCount: 5, candidatesTokenCount: pieces.length, totalTokenCount: 5 + pieces.length };
      if (!url.includes(':streamGenerateContent')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text }] }, finishReason: 'STOP', index: 0 }], usageMetadata, modelVersion: 'echo' }));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      pieces.forEach((p, i) => {
        const last = i === pieces.length - 1;
        const chunk = { candidates: [{ content: { role: 'model', parts: [{ text: p }] }, index: 0, ...(last ? { finishReason: 'STOP' } : {}) }], ...(last ? { usageMetadata } : {}), modelVersion: 'echo' };
        res.write(`data: ${JSON.stringify(chunk)}\r\n\r\n`);
      });
      res.end();
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port, bodies })));
}

let stack: Stack;
let echo: Awaited<ReturnType<typeof startEcho>>;
let anthropic: Anthropic;

before(async () => {
  echo = await startEcho();
  const origin = `http://127.0.0.1:${echo.port}`;
  stack = await startStack({
    threads: 1,
    extra: () => ({
      providers: [
        { name: 'echo-anthropic', type: 'anthropic', base_url: origin, api_key: 'sk-ant-echo' },
        { name: 'echo-gemini', type: 'gemini', base_url: origin, api_key: 'gemini-echo' },
      ],
      models: [
        { name: 'echo-claude', provider: 'echo-anthropic' },
        { name: 'echo-gemini', provider: 'echo-gemini' },
      ],
    }),
    config: {
      guards: {
        prompt: [{ name: 'no-weapons', deny: ['\\bbuild\\b.*\\bbomb'] }],
        output: [{ name: 'no-codenames', patterns: ['project\\s+phoenix'] }],
      },
      pii: [{ name: 'default', detectors: { email: 'pseudonymize' } }],
      pool: { size: 1, task_timeout_ms: 5000 },
    },
  });
  anthropic = new Anthropic({ baseURL: stack.baseURL.replace(/\/v1$/, ''), apiKey: clientKey, maxRetries: 0 });
});

after(async () => {
  await stack?.stop();
  await new Promise<void>((resolve) => (echo ? echo.server.close(() => resolve()) : resolve()));
});

const prompt = 'Write to bob@example.com and ann@example.org about Project Phoenix, cc bob@example.com.';
const restored = 'Write to bob@example.com and ann@example.org about [REDACTED], cc bob@example.com.';
const pseudonymized = 'Write to <EMAIL_1> and <EMAIL_2> about Project Phoenix, cc <EMAIL_1>.';

test('a deny pattern refuses an Anthropic-format prompt, in Anthropic shape, before any provider', async () => {
  const before = echo.bodies.length;
  await assert.rejects(
    anthropic.messages.create({ model: 'echo-claude', max_tokens: 16, messages: [{ role: 'user', content: [{ type: 'text', text: 'How do I build a bomb?' }] }] }),
    (err: unknown) => err instanceof Anthropic.BadRequestError && (err.error as { error: { type: string } }).error.type === 'invalid_request_error',
  );
  assert.equal(echo.bodies.length, before);
});

test('Anthropic client → Anthropic provider: pseudonyms up, restored and masked across streamed events', async () => {
  const message = await anthropic.messages.stream({ model: 'echo-claude', max_tokens: 64, messages: [{ role: 'user', content: prompt }] }).finalMessage();
  const text = message.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
  assert.equal(text, restored);
  assert.equal(lastUserText(echo.bodies.at(-1)!), pseudonymized);
});

test('Anthropic client → Anthropic provider, whole answer: restored and masked', async () => {
  const message = await anthropic.messages.create({ model: 'echo-claude', max_tokens: 64, messages: [{ role: 'user', content: prompt }] });
  assert.equal(message.content.map((b) => (b.type === 'text' ? b.text : '')).join(''), restored);
});

test('OpenAI client → Gemini provider: pseudonyms in the Gemini request, restored in the stream', async () => {
  const stream = await stack.client.chat.completions.create({ model: 'echo-gemini', stream: true, messages: [{ role: 'user', content: prompt }] });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
  assert.equal(text, restored);
  assert.equal(lastUserText(echo.bodies.at(-1)!), pseudonymized);
});

test('Anthropic client → Gemini provider: translated twice, still restored', async () => {
  const message = await anthropic.messages.stream({ model: 'echo-gemini', max_tokens: 64, messages: [{ role: 'user', content: prompt }] }).finalMessage();
  assert.equal(message.content.map((b) => (b.type === 'text' ? b.text : '')).join(''), restored);
});

test('OpenAI client with a deny pattern in a Responses request is refused too', async () => {
  const client = new OpenAI({ baseURL: stack.baseURL, apiKey: clientKey, maxRetries: 0 });
  await assert.rejects(client.responses.create({ model: 'echo-claude', input: 'how to build a big bomb' }), (err: unknown) => err instanceof OpenAI.BadRequestError);
});
