/** The benchmarks' small statistics: the slope that says whether RSS still grows. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { median, slope } from '../../../bench/lib/stats.js';

describe('bench stats', () => {
  it('slope: the least-squares line through noisy points, in y units per x unit', () => {
    const xs = [5, 5.5, 6, 6.5, 7, 7.5, 8];
    assert.ok(Math.abs(slope(xs, [100, 102, 101, 103, 102, 104, 103]) - 1) < 1e-3);
    assert.equal(
      slope(
        xs,
        xs.map(() => 180),
      ),
      0,
    );
    assert.ok(Number.isNaN(slope([1], [2])));
    assert.ok(Number.isNaN(slope([3, 3], [1, 2])));
  });

  it('median of odd and even counts', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 2, 3]), 2.5);
  });
});
