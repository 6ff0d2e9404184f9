import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HttpError } from '../../src/errors.js';
import { heldBytes, MEMORY_STORE_DEFAULTS, MemoryStore } from '../../src/store/memory-store.js';

const full = (err: unknown): boolean => {
  assert.ok(err instanceof HttpError);
  assert.equal(err.statusCode, 507);
  assert.equal(err.code, 'SVC_ERR_STORE_FULL');
  return true;
};

/** What the store should be counting, recomputed from what it holds. */
async function recount(store: MemoryStore, keys: readonly string[]): Promise<number> {
  let bytes = 0;
  for (const key of keys) {
    const value = await store.get(key);
    if (value !== undefined) bytes += heldBytes(key) + heldBytes(value);
  }
  return bytes;
}

describe('memory store bounds', () => {
  test('defaults: 64 MiB and 100000 items', () => {
    assert.deepEqual(new MemoryStore().limits, { maxBytes: 64 * 1024 * 1024, maxItems: 100000 });
    assert.equal(MEMORY_STORE_DEFAULTS.maxBytes, 67108864);
  });

  test('bytes are counted as V8 holds the characters: 1 per ASCII character, 2 per UTF-16 unit otherwise', () => {
    assert.equal(heldBytes(''), 0);
    assert.equal(heldBytes('abc'), 3);
    assert.equal(heldBytes('ключ'), 8);
    assert.equal(heldBytes('a😀'), 6);
    assert.equal(heldBytes('é'), 2, 'Latin-1 counted high, never low');
  });

  test('a new key over the byte bound is refused; the store is unchanged and reads keep working', async () => {
    const store = new MemoryStore({ maxBytes: 20, maxItems: 100 });
    await store.set('k1', '12345678'); // 10
    await store.set('k2', '12345678'); // 20: exactly full
    assert.equal(store.bytes, 20);
    await assert.rejects(store.set('k3', ''), full, 'even an empty value: its key has bytes');
    assert.equal(store.bytes, 20);
    assert.equal(store.size, 2);
    assert.equal(await store.get('k3'), undefined);
    assert.equal(await store.get('k1'), '12345678');
  });

  test('overwriting with a smaller or equal value works when full; a larger one only if it fits', async () => {
    const store = new MemoryStore({ maxBytes: 20, maxItems: 100 });
    await store.set('k1', '12345678');
    await store.set('k2', '12345678');
    await store.set('k1', 'abcdefgh'); // equal
    await store.set('k2', 'x'); // smaller: frees 7
    assert.equal(store.bytes, 13);
    await assert.rejects(store.set('k1', 'x'.repeat(16)), full, '8 more bytes would make 21');
    assert.equal(await store.get('k1'), 'abcdefgh', 'a refused overwrite keeps the old value');
    await store.set('k1', 'x'.repeat(15)); // 7 more bytes: exactly full
    assert.equal(store.bytes, 20);
    assert.equal(await store.get('k1'), 'x'.repeat(15));
  });

  test('the item bound refuses new keys only', async () => {
    const store = new MemoryStore({ maxBytes: 1000, maxItems: 2 });
    await store.set('a', '1');
    await store.set('b', '2');
    await assert.rejects(store.set('c', '3'), (err: unknown) => {
      full(err);
      assert.match((err as Error).message, /2 items, the most --store-max-items allows/);
      return true;
    });
    await store.set('a', 'overwritten');
    assert.equal(await store.get('a'), 'overwritten');
    assert.equal(store.size, 2);
  });

  test('after any sequence of writes the count matches the contents and never exceeds the bound', async () => {
    const maxBytes = 500;
    const store = new MemoryStore({ maxBytes, maxItems: 30 });
    const keys = Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? `ключ-${i}` : `key-${i}`));
    let refused = 0;
    // A deterministic mix of new keys, growing and shrinking overwrites, ASCII and not.
    for (let round = 0; round < 2000; round++) {
      const key = keys[(round * 7) % keys.length] ?? '';
      const length = (round * 13) % 40;
      const value = (round % 5 === 0 ? 'ж' : 'v').repeat(length);
      try {
        await store.set(key, value);
      } catch (err) {
        full(err);
        refused++;
      }
      assert.ok(store.bytes <= maxBytes, `round ${round}: ${store.bytes} bytes`);
      assert.ok(store.size <= 30);
    }
    assert.ok(refused > 0, 'the bound was reached');
    assert.equal(store.bytes, await recount(store, keys));
  });
});
