/** The lane allocator keeps slices of one track nested, whatever overlaps it is given. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { LaneAllocator, startOrder } from '../../../src/profile/export/lanes.js';
import { checkNesting } from './trace-event-checks.js';

describe('LaneAllocator', () => {
  it('puts a partly overlapping slice on a second lane and a nested one on the first', () => {
    const lanes = new LaneAllocator();
    assert.equal(lanes.place(0, 100), 0);
    assert.equal(lanes.place(10, 50), 0, 'inside the first');
    assert.equal(lanes.place(90, 150), 1, 'starts inside, ends outside');
    assert.equal(lanes.place(150, 160), 0, 'after everything on lane 0');
    assert.equal(lanes.place(140, 145), 1, 'before the last start of lane 0, inside lane 1');
    assert.equal(lanes.laneCount, 2);
  });

  it('the nesting check itself refuses two slices of one track that partly overlap', () => {
    const x = (ts: number, dur: number, tid = 1) => ({ ph: 'X', name: 'x', pid: 1, tid, ts, dur });
    assert.throws(() => checkNesting([x(0, 100), x(50, 100)]), /overlaps .* partly/);
    assert.equal(checkNesting([x(0, 100), x(50, 50), x(50, 100, 2)]), 2);
  });

  it('any set of intervals, placed in start order, nests on every lane', () => {
    const interval = fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 300 }));
    fc.assert(
      fc.property(fc.array(interval, { maxLength: 60 }), (pairs) => {
        const start = Float64Array.from(pairs.map(([s]) => s));
        const end = Float64Array.from(pairs.map(([s, d]) => s + d));
        const lanes = new LaneAllocator();
        const events = [...startOrder(start, end)].map((i) => {
          const ts = start[i] as number;
          const dur = (end[i] as number) - ts;
          return { ph: 'X', name: 'x', pid: 1, tid: lanes.place(ts, ts + dur), ts, dur };
        });
        checkNesting(events);
      }),
    );
  });
});
