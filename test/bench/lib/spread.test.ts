import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bootstrapMedianCi, quantile } from '../../../bench/lib/spread.js';

test('quantile interpolates between sorted values and ignores NaN', () => {
  const values = [4, 1, Number.NaN, 3, 2];
  assert.equal(quantile(values, 0), 1);
  assert.equal(quantile(values, 0.5), 2.5);
  assert.equal(quantile(values, 0.25), 1.75);
  assert.equal(quantile(values, 1), 4);
  assert.ok(Number.isNaN(quantile([], 0.5)));
});

test('bootstrapMedianCi holds the median, is repeatable, and narrows with more data', () => {
  const noisy = (n: number) => Array.from({ length: n }, (_, i) => 1 + (((i * 37) % 11) - 5) / 100);
  const [low, high] = bootstrapMedianCi(noisy(9));
  assert.ok(low <= 1 && 1 <= high, `[${low}, ${high}] holds the median 1`);
  assert.deepEqual(bootstrapMedianCi(noisy(9)), [low, high]);
  const [low2, high2] = bootstrapMedianCi(noisy(99));
  assert.ok(high2 - low2 < high - low, `${high2 - low2} < ${high - low}`);
  assert.deepEqual(bootstrapMedianCi([0.97, 0.97, 0.97]), [0.97, 0.97]);
});
