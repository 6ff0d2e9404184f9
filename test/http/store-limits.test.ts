/** The bounded memory store through HTTP: a full store answers 507, recorded; reads keep working. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MemoryStore } from '../../src/store/memory-store.js';
import { appsClosedAfter, startTestApp } from '../helpers/app.js';
import { call } from '../helpers/http.js';
import { metric } from '../helpers/ndjson.js';

describe('a full memory store', () => {
  const start = appsClosedAfter();

  test('PUTs beyond the bound get 507 SVC_ERR_STORE_FULL, each recorded; GETs and shrinking overwrites work', async () => {
    const store = new MemoryStore({ maxBytes: 64, maxItems: 1000 });
    const app = await start({ store });
    const statuses: number[] = [];
    // Keys k0..k9 (2 bytes) with 10-byte values: 12 bytes each, so 5 fit in 64.
    for (let i = 0; i < 10; i++) {
      statuses.push((await call(`${app.url}/items/k${i}`, { method: 'PUT', body: 'x'.repeat(10) })).status);
    }
    assert.deepEqual(statuses, [204, 204, 204, 204, 204, 507, 507, 507, 507, 507]);
    const refused = await call(`${app.url}/items/k9`, { method: 'PUT', body: 'xxxxx' });
    assert.equal(refused.status, 507);
    const body = JSON.parse(refused.text) as Record<string, unknown>;
    assert.equal(body.code, 'SVC_ERR_STORE_FULL');
    assert.equal(body.error, 'Insufficient Storage');
    assert.match(
      String(body.message),
      /^the item store is full: 7 more bytes would exceed --store-max-bytes \(60 of 64 used\)$/,
    );

    const get = await call(`${app.url}/items/k4`);
    assert.equal(get.status, 200);
    assert.equal(get.text, 'x'.repeat(10));
    const shrink = await call(`${app.url}/items/k0`, { method: 'PUT', body: 'small' });
    assert.equal(shrink.status, 204);
    assert.equal((await call(`${app.url}/items/k0`)).text, 'small');
    assert.ok(store.bytes <= 64);
    assert.equal(store.size, 5);

    const records = await app.settledRequests(14);
    const summary = records.map((r) => [
      r.properties?.Operation,
      r.properties?.StatusCode,
      r.properties?.ErrorKind,
      metric(r, 'ServerError'),
    ]);
    assert.deepEqual(summary.slice(5, 11), Array(6).fill(['SetItem', '507', 'StoreFull', 1]));
    assert.deepEqual(summary.slice(11), [
      ['GetItem', '200', undefined, 0],
      ['SetItem', '204', undefined, 0],
      ['GetItem', '200', undefined, 0],
    ]);
    assert.equal(metric(records[5] ?? { timestamp: 0 }, 'Success'), 0, '507 is a server error');
    assert.equal(metric(records[5] ?? { timestamp: 0 }, 'PayloadBytes'), 10);
    assert.equal(metric(records[10] ?? { timestamp: 0 }, 'PayloadBytes'), 5);
  });

  test('distinct 1 MiB values: the store stops at its bound instead of growing the heap', async () => {
    const maxBytes = 8 * 1024 * 1024;
    const store = new MemoryStore({ maxBytes, maxItems: 100000 });
    const app = await start({ store });
    const value = 'v'.repeat(1024 * 1024 - 16);
    const counts = new Map<number, number>();
    for (let i = 0; i < 40; i++) {
      // Distinct values, as in the crash report: each PUT would add a fresh 1 MiB string.
      const status = (await call(`${app.url}/items/big-${i}`, { method: 'PUT', body: `${i}`.padStart(8) + value }))
        .status;
      counts.set(status, (counts.get(status) ?? 0) + 1);
    }
    assert.deepEqual([...counts.entries()].sort(), [
      [204, 8],
      [507, 32],
    ]);
    assert.ok(store.bytes <= maxBytes, `${store.bytes} bytes held`);
    assert.equal(store.size, 8);
    assert.equal((await app.settledRequests(40)).length, 40);
  });
});

describe('what a stored key holds on to', () => {
  test('a key does not keep its request URL (and query string) alive', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const store = new MemoryStore({ maxBytes: 1024 * 1024 * 1024, maxItems: 100000 });
    const app = await startTestApp({ store });
    try {
      const query = 'q'.repeat(8000);
      // Warm up first, so code and caches do not count as stored bytes.
      for (let i = 0; i < 50; i++)
        await call(`${app.url}/items/warm-up-key-${i}?${query}`, { method: 'PUT', body: 'v' });
      app.metrics.entries.length = 0;
      gc();
      const before = process.memoryUsage().heapUsed;
      const count = 2000;
      for (let i = 0; i < count; i++) {
        await call(`${app.url}/items/a-long-enough-key-${i}?${query}`, { method: 'PUT', body: 'v' });
      }
      app.metrics.entries.length = 0;
      gc();
      const perItem = (process.memoryUsage().heapUsed - before) / count;
      // A key that kept its URL alive would cost over 8000 bytes an item; measured ~1 KB otherwise.
      assert.ok(perItem < 4000, `${Math.round(perItem)} bytes of heap per stored item`);
    } finally {
      await app.close();
    }
  });
});
