import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Histogram } from '../../src/load/histogram.js';

describe('latency histogram', () => {
  test('percentiles are within 0.1% of the exact values (3 significant digits)', () => {
    const h = new Histogram();
    const values: number[] = [];
    let x = 7;
    for (let i = 0; i < 100000; i++) {
      x = (x * 48271) % 2147483647;
      const v = Math.floor((x / 2147483647) ** 3 * 5_000_000); // skewed, 0–5 s in µs
      values.push(v);
      h.record(v);
    }
    values.sort((a, b) => a - b);
    for (const p of [50, 90, 99, 99.9]) {
      const exact = values[Math.ceil((p / 100) * values.length) - 1] as number;
      const got = h.percentileUs(p);
      assert.ok(got >= exact, `p${p}: ${got} understates ${exact}`);
      assert.ok(got - exact <= Math.max(1, exact * 0.001), `p${p}: ${got} vs ${exact}`);
    }
    assert.equal(h.percentileUs(100), values.at(-1));
    assert.equal(h.maxUs, values.at(-1));
    assert.equal(h.minUs, values[0]);
    assert.equal(h.count, 100000);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    assert.ok(Math.abs(h.meanUs - mean) < 1);
  });

  test('small values are exact; huge ones are capped; merging adds counts', () => {
    const a = new Histogram();
    for (const v of [0, 1, 2, 3, 1000, 2047]) a.record(v);
    assert.deepEqual(
      [0, 20, 40, 60, 80, 100].map((p) => a.percentileUs(p)),
      [0, 1, 2, 3, 1000, 2047],
    );
    const b = new Histogram();
    b.record(1e12);
    a.add(b);
    assert.equal(a.count, 7);
    assert.equal(a.maxUs, 0xffffffff);
    const bins = a.bins(4, 2048);
    assert.equal(
      bins.reduce((n, bin) => n + bin.count, 0),
      7,
    );
  });
});
