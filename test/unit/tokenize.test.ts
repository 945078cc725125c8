import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Tiktoken } from 'js-tiktoken/lite';
import { RankTable } from '../../src/guards/rank-table.js';
import o200kBase from 'js-tiktoken/ranks/o200k_base';
import cl100kBase from 'js-tiktoken/ranks/cl100k_base';
import { TokenCounter } from '../../src/guards/tokenizer.js';
import { imageSizeFromDataUrl, imageTokens, imageTokensForSize } from '../../src/guards/media-tokens.js';
import { extractPromptText } from '../../src/guards/prompt-text.js';

const samples = JSON.parse(readFileSync(new URL('../../../test/fixtures/guards/token-samples.json', import.meta.url), 'utf8')) as string[];
const o200k = new TokenCounter('o200k_base');
const cl100k = new TokenCounter('cl100k_base');
const refO200k = new Tiktoken(o200kBase);
const refCl100k = new Tiktoken(cl100kBase);

test('token ids equal js-tiktoken on varied text (o200k_base and cl100k_base)', () => {
  for (const text of samples) {
    assert.deepEqual(o200k.encode(text), refO200k.encode(text, [], []), text);
    assert.deepEqual(cl100k.encode(text), refCl100k.encode(text, [], []), text);
    assert.equal(o200k.count(text).count, refO200k.encode(text, [], []).length);
  }
});

test('long single pre-tokens are merged exactly (compared with js-tiktoken where it is still fast)', () => {
  const cases = ['a'.repeat(700), Buffer.alloc(600).toString('base64'), 'ab'.repeat(300), '9'.repeat(500), '!'.repeat(400), 'x'.repeat(333) + 'y'.repeat(333)];
  let seed = 7;
  let random = '';
  for (let i = 0; i < 900; i++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    random += 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/'[seed % 64];
  }
  cases.push(random);
  for (const text of cases) {
    assert.deepEqual(o200k.encode(text), refO200k.encode(text), text.slice(0, 20));
    assert.deepEqual(cl100k.encode(text), refCl100k.encode(text), text.slice(0, 20));
  }
});

test("the issue's worst cases finish (js-tiktoken: ~14 s and ~15 s on this box)", () => {
  const started = performance.now();
  const as = o200k.count('a'.repeat(8000));
  const zeros = o200k.count(Buffer.alloc(6144).toString('base64')); // 8 KB of base64 of zeros
  const elapsed = performance.now() - started;
  assert.equal(as.exact, true);
  assert.equal(zeros.exact, true);
  assert.equal(as.count, 1000);
  assert.equal(zeros.count, 1024);
  // Quadratic merging takes seconds here; the heap merge takes milliseconds. Generous bound for a busy CI box.
  assert.ok(elapsed < 3000, `took ${elapsed} ms`);
});

test('past the deadline the remainder is estimated, not counted', () => {
  const text = 'word '.repeat(40_000);
  const result = o200k.count(text, performance.now() - 1);
  assert.equal(result.exact, false);
  assert.ok(result.count > 0 && result.count <= Math.ceil(text.length / 4) + 20000);
});

function pngDataUrl(width: number, height: number): string {
  const header = Buffer.alloc(33);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(header, 0);
  header.writeUInt32BE(13, 8);
  header.write('IHDR', 12, 'latin1');
  header.writeUInt32BE(width, 16);
  header.writeUInt32BE(height, 20);
  return `data:image/png;base64,${Buffer.concat([header, Buffer.alloc(5000)]).toString('base64')}`;
}

function jpegDataUrl(width: number, height: number): string {
  const app0 = Buffer.from([0xff, 0xe0, 0x00, 0x10, ...Buffer.from('JFIF\0'), 1, 1, 0, 0, 1, 0, 1, 0, 0]);
  const sof = Buffer.from([0xff, 0xc0, 0x00, 0x11, 0x08, height >> 8, height & 255, width >> 8, width & 255, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
  return `data:image/jpeg;base64,${Buffer.concat([Buffer.from([0xff, 0xd8]), app0, sof, Buffer.alloc(100)]).toString('base64')}`;
}

test('image tokens follow the published tile rule', () => {
  assert.equal(imageTokensForSize({ width: 1024, height: 1024 }), 765);
  assert.equal(imageTokensForSize({ width: 2048, height: 4096 }), 1105);
  assert.equal(imageTokensForSize({ width: 512, height: 512 }), 255);
  assert.equal(imageTokensForSize({ width: 100, height: 100 }), 255);
  assert.deepEqual(imageSizeFromDataUrl(pngDataUrl(1024, 1024)), { width: 1024, height: 1024 });
  assert.deepEqual(imageSizeFromDataUrl(jpegDataUrl(2048, 4096)), { width: 2048, height: 4096 });
  assert.equal(imageTokens(pngDataUrl(2048, 4096), 'high', 999), 1105);
  assert.equal(imageTokens(pngDataUrl(2048, 4096), 'low', 999), 85);
  assert.equal(imageTokens('https://example.com/cat.png', 'auto', 999), 999);
});

test('image, audio and file parts are never tokenized as text', () => {
  const hugeImage = pngDataUrl(1024, 1024) + 'A'.repeat(2_000_000);
  const body = {
    messages: [
      { role: 'system', content: 'Be brief.' },
      {
        role: 'user',
        name: 'ann',
        content: [
          { type: 'text', text: 'What is in this image?' },
          { type: 'image_url', image_url: { url: hugeImage, detail: 'high' } },
          { type: 'input_audio', input_audio: { data: 'UklGR'.repeat(1000), format: 'wav' } },
        ],
      },
    ],
  };
  const media = { image_tokens_default: 765, audio_tokens_default: 600, file_tokens_default: 1000 };
  const prompt = extractPromptText('chat.completions', body, media);
  assert.deepEqual(prompt.texts, ['Be brief.', 'What is in this image?']);
  assert.deepEqual(prompt.countOnly, ['ann']);
  // 2 messages × 3 + name 1 + priming 3 + image 765 + audio 600
  assert.equal(prompt.fixedTokens, 6 + 1 + 3 + 765 + 600);
  const total = prompt.fixedTokens + [...prompt.texts, ...prompt.countOnly].reduce((n, t) => n + o200k.count(t).count, 0);
  // OpenAI framing for text-only chats: same formula as the cookbook's num_tokens_from_messages.
  assert.equal(total, 1375 + o200k.count('Be brief.').count + o200k.count('What is in this image?').count + o200k.count('ann').count);
});

test('rank table: finds a token inside a longer text by range, and nothing that is not a token', () => {
  const tokens = ['a', 'b', 'ab', 'abc', '\u00ff\u0000', 'ba'];
  const table = new RankTable(tokens, [10, 11, 12, 13, 14, 15]);
  const text = 'xxabcx\u00ff\u0000';
  assert.equal(table.get(text, 2, 4), 12);
  assert.equal(table.get(text, 2, 5), 13);
  assert.equal(table.get(text, 3, 4), 11);
  assert.equal(table.get(text, 6, 8), 14, 'bytes above 0x7f and zero bytes');
  assert.equal(table.get(text, 0, 2), -1);
  assert.equal(table.get(text, 3, 5), -1, '"bc" is not a token though "b" and "c"-prefixed ones are near it');
  assert.equal(table.get(text, 0, 6), -1, 'longer than any token');
  assert.equal(table.get('', 0, 0), -1);
  // Every token found again, at scale (collisions in a table of 2× the size).
  const many = Array.from({ length: 50_000 }, (_, i) => `t${i.toString(36)}`);
  const big = new RankTable(many, many.map((_, i) => i * 3));
  for (let i = 0; i < many.length; i += 997) assert.equal(big.get(`..${many[i]}..`, 2, 2 + many[i]!.length), i * 3);
});
