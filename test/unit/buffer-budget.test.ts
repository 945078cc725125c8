// The thread's budget for buffered upstream bytes, and what one relay holds within it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BufferBudget, HeldBytes } from '../../src/pipeline/buffer-budget.js';

describe('HeldBytes', () => {
  test('an announced body is taken at once and assembled in one buffer; release gives it all back', () => {
    const budget = new BufferBudget(100);
    const held = new HeldBytes(budget);
    assert.equal(held.expect(10), undefined);
    assert.equal(budget.inUse, 10);
    assert.equal(held.append(Buffer.from('hello ')), undefined);
    assert.equal(held.append(Buffer.from('you!')), undefined);
    assert.equal(held.body().toString(), 'hello you!');
    assert.equal(budget.inUse, 10);
    held.release();
    assert.equal(budget.inUse, 0);
  });

  test('more bytes than announced are still held, and counted', () => {
    const budget = new BufferBudget(100);
    const held = new HeldBytes(budget);
    held.expect(3);
    held.append(Buffer.from('abcd'));
    held.append(Buffer.from('ef'));
    assert.equal(held.body().toString(), 'abcdef');
    assert.equal(budget.inUse, 6);
  });

  test('too large for the whole budget, or no room now: told apart, and nothing is taken', () => {
    const budget = new BufferBudget(100);
    const other = new HeldBytes(budget);
    assert.equal(other.expect(60), undefined);
    const held = new HeldBytes(budget);
    assert.equal(held.expect(101), 'too_large');
    assert.equal(held.expect(50), 'full');
    assert.equal(held.append(Buffer.alloc(30)), undefined);
    assert.equal(held.append(Buffer.alloc(20)), 'full');
    assert.equal(budget.inUse, 90);
    other.release();
    assert.equal(held.append(Buffer.alloc(20)), undefined);
    assert.equal(held.append(Buffer.alloc(51)), 'too_large');
    assert.equal(budget.inUse, 50);
  });

  test('holdExactly follows a stream’s incomplete event up and down', () => {
    const budget = new BufferBudget(100);
    const held = new HeldBytes(budget);
    assert.equal(held.holdExactly(40), undefined);
    assert.equal(held.holdExactly(5), undefined);
    assert.equal(budget.inUse, 5);
    assert.equal(held.holdExactly(101), 'too_large');
    assert.equal(held.holdExactly(0), undefined);
    assert.equal(budget.inUse, 0);
  });
});
