// mapInOrder (render/limits.ts): the ledger scan and the render plan read many files at once
// through it; results must keep the items' order and never run more than the limit at a time.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mapInOrder } from '../../server/src/render/limits';

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('mapInOrder', () => {
  it('keeps the order of the items whatever order they finish in, at most `limit` at a time', async () => {
    let running = 0;
    let most = 0;
    const items = Array.from({ length: 40 }, (_, i) => i);
    const out = await mapInOrder(items, 5, async (n, i) => {
      running++;
      most = Math.max(most, running);
      await tick((n * 7) % 5); // later items often finish first
      running--;
      return `${i}:${n * 2}`;
    });
    assert.deepEqual(
      out,
      items.map((n) => `${n}:${n * 2}`),
    );
    assert.equal(most, 5);
  });

  it('runs one at a time with limit 1, and an empty list gives an empty list', async () => {
    const order: number[] = [];
    await mapInOrder([3, 1, 2], 1, async (n) => {
      order.push(n);
      await tick(n);
      order.push(-n);
    });
    assert.deepEqual(order, [3, -3, 1, -1, 2, -2]);
    assert.deepEqual(await mapInOrder([], 4, async () => 1), []);
  });

  it('a failure rejects the whole and starts no further item', async () => {
    const started: number[] = [];
    await assert.rejects(
      mapInOrder([0, 1, 2, 3, 4, 5], 2, async (n) => {
        started.push(n);
        await tick(1);
        if (n === 1) throw new Error('unreadable');
        return n;
      }),
      /unreadable/,
    );
    await tick(20);
    assert.ok(started.length < 6, `started ${started.join(',')}`);
  });
});
