// The file store survives kill -9 in the middle of a write: the document on disk is always a whole one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LimitsFileStore } from '../../src/limits/file-store.js';

const writer = fileURLToPath(new URL('./helpers/limits-store-writer.js', import.meta.url));

async function killMidWrite(dir: string, afterMs: number): Promise<void> {
  const child = spawn(process.execPath, [writer, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`writer exited early with ${code}`)));
  });
  await new Promise((r) => setTimeout(r, afterMs));
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

test('kill -9 of a process rewriting the store leaves a complete, readable document', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-store-'));
  try {
    const store = new LimitsFileStore(dir);
    let lastCount = 0;
    for (const delay of [3, 17, 41, 66, 90]) {
      await killMidWrite(dir, delay);
      const doc = store.read();
      assert.equal(doc.keys.length, 300);
      assert.equal(doc.keys[299]!.name, 'team-299');
      const count = Object.values(doc.usage)[0]!.totalRequests!;
      assert.ok(count >= 1, `some write completed (${count})`);
      lastCount = count;
    }
    assert.ok(lastCount > 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a missing store reads as empty; a corrupt one is an error, never silently emptied', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-store-'));
  try {
    const store = new LimitsFileStore(dir);
    assert.deepEqual(store.read(), { version: 1, keys: [], usage: {} });
    mkdirSync(join(dir, 'limits'), { recursive: true });
    writeFileSync(store.path, '{"version":1,"keys":[');
    assert.throws(() => store.read(), SyntaxError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
