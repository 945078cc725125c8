// Experiment (docs/guardrails.md, "Large prompts stay bytes"): small prompts analysed on the event
// loop every 2 ms while 3 loops keep 100 KB prompts in a pool of 2 workers doing the same guard work,
// the prompt crossing either as strings (the 100 KB text out, the redacted 100 KB text back, as the
// pool did before) or as the request body's bytes (as it does now). Alternating rounds.
// npm run build && node bench/experiments/large-prompt-heap.mjs
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { Packr } from 'msgpackr';
import { GuardEngine } from '../../dist/src/guards/engine.js';
import { analyseRequestBody } from '../../dist/src/guards/request-analysis.js';
import { contractText } from '../../dist/bench/guards.js';

const setup = {
  prompt: [{ name: 'deny', deny: ['ignore (all )?previous instructions', 'system prompt'], allow: [], scope: 'conversation', roles: ['user'], case_insensitive: true, action: 'reject', refusal_message: '' }],
  pii: [{ name: 'all', detectors: { email: 'pseudonymize', phone: 'mask', credit_card: 'mask', iban: 'pseudonymize', secret: 'mask' }, custom: [], roles: ['user'] }],
  preload: ['o200k_base'],
  piiPrefilter: true,
  testHooks: false,
  media: { image_tokens_default: 765, audio_tokens_default: 600, file_tokens_default: 1000 },
};
const spec = () => ({ operation: 'chat.completions', encoding: 'o200k_base', guards: [0], pii: 0, countDeadlineEpochMs: Date.now() + 60_000 });

// Each worker answers both shapes with the same guard work.
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const { Packr } = require('msgpackr');
const packr = new Packr({ useRecords: false });
const load = Promise.all([import(workerData.engine), import(workerData.analysis)]);
parentPort.on('message', async ({ mode, bytes, spec }) => {
  const [{ GuardEngine }, { analyseRequest, analyseRequestBody }] = await load;
  globalThis.engine ??= new GuardEngine(workerData.setup);
  if (mode === 'strings') {
    const { text } = packr.unpack(bytes);
    const analysis = analyseRequest(engine, { messages: [{ role: 'user', content: text }] }, spec);
    const redacted = analysis.body ? JSON.parse(Buffer.from(analysis.body).toString()).messages[0].content : text;
    const out = packr.pack({ redacted: [[0, redacted]], pseudonyms: analysis.pseudonyms });
    const own = new Uint8Array(out); parentPort.postMessage(own, [own.buffer]);
  } else {
    const analysis = analyseRequestBody(engine, bytes, spec);
    const out = packr.pack({ ...analysis, body: null });
    const own = new Uint8Array(out); const body = analysis.body ?? new Uint8Array(0);
    parentPort.postMessage({ own, body }, [own.buffer, body.buffer]);
  }
});`;
const url = (p) => new URL(p, import.meta.url).href;
const workers = [0, 1].map(() => new Worker(workerSource, { eval: true, workerData: { setup, engine: url('../../dist/src/guards/engine.js'), analysis: url('../../dist/src/guards/request-analysis.js') } }));
const idle = [...workers];
const waiting = [];
const packr = new Packr({ useRecords: false });
function run(message, transfer) {
  return new Promise((resolve) => {
    const go = (w) => {
      w.once('message', (answer) => {
        const next = waiting.shift();
        if (next) next(w);
        else idle.push(w);
        resolve(answer);
      });
      w.postMessage(message, transfer);
    };
    const w = idle.pop();
    if (w) go(w);
    else waiting.push(go);
  });
}

const text = contractText(100 * 1024);
const body = Buffer.from(JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: text }] }));
const asStrings = async () => {
  const own = new Uint8Array(packr.pack({ text }));
  const answer = packr.unpack(await run({ mode: 'strings', bytes: own, spec: spec() }, [own.buffer]));
  return answer.redacted[0][1].length; // the redacted text, a 100 KB string on this thread, as before
};
const asBytes = async () => {
  const copy = new Uint8Array(body.length);
  copy.set(body);
  const { own, body: redacted } = await run({ mode: 'bytes', bytes: copy, spec: spec() }, [copy.buffer]);
  return packr.unpack(own).tokens + redacted.length;
};

const engine = new GuardEngine(setup);
const small = Buffer.from(JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'What is the notice period in section 4?' }] }));
const pct = (s, p) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
async function round(name, large) {
  const lag = monitorEventLoopDelay({ resolution: 1 });
  lag.enable();
  const samples = [];
  const until = performance.now() + 3000;
  let tasks = 0;
  const load = large ? Array.from({ length: 3 }, async () => { while (performance.now() < until) { await large(); tasks++; } }) : [];
  while (performance.now() < until) {
    const t = performance.now();
    await new Promise((resolve) => setImmediate(resolve));
    analyseRequestBody(engine, small, spec());
    samples.push(performance.now() - t);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  await Promise.all(load);
  lag.disable();
  samples.sort((a, b) => a - b);
  console.log(`${name.padEnd(8)} large tasks ${String(tasks).padStart(4)}  small p50 ${pct(samples, 50).toFixed(3)} ms  p99 ${pct(samples, 99).toFixed(3)} ms  loop lag p99 ${(lag.percentile(99) / 1e6).toFixed(2)} ms`);
}
await asStrings();
await asBytes();
for (let i = 0; i < 3; i++) {
  await round('idle', undefined);
  await round('strings', asStrings);
  await round('bytes', asBytes);
}
for (const w of workers) await w.terminate();
