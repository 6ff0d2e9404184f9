import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EV } from '../../../src/profile/format/index.js';
import type { Batch } from '../../../src/profile/recorder/protocol.js';
import { RequestTracker } from '../../../src/profile/recorder/requests.js';
import { EventRing, RECORD_SLOTS } from '../../../src/profile/recorder/ring.js';

describe('event ring', () => {
  it('ships full buffers with their strings, drops and counts when every buffer is out, and recovers', () => {
    const shipped: Batch[] = [];
    const ring = new EventRing({ recordsPerBuffer: 4, buffers: 2, ship: (b) => shipped.push(b) > 0 });
    const op = ring.intern('GetItem');
    assert.equal(ring.intern('GetItem'), op, 'interned once');
    for (let i = 0; i < 8; i++) ring.put(EV.requestOpen, i, i + 1, ring.inline(`req-${i}`), op, 0, 0);
    assert.equal(shipped.length, 2);
    assert.deepEqual(shipped[0]?.defs, [op, 'GetItem']);
    assert.deepEqual(shipped[0]?.inline, ['req-0', 'req-1', 'req-2', 'req-3']);
    const first = new Float64Array(shipped[0]?.buffer as ArrayBuffer);
    assert.deepEqual([...first.subarray(0, RECORD_SLOTS)], [EV.requestOpen, 0, 1, -1, op, 0, 0, 0]);

    // Both buffers are with the writer: these are dropped, and their strings are not kept.
    for (let i = 8; i < 11; i++) ring.put(EV.requestOpen, i, i + 1, ring.inline(`req-${i}`), op, 0, 0);
    assert.equal(ring.dropped, 3);
    assert.equal(ring.recorded, 8);

    ring.release(shipped[0]?.buffer as ArrayBuffer);
    ring.put(EV.gc, 20, 5, 4, 0);
    ring.ship();
    const third = shipped[2];
    assert.equal(third?.count, 1);
    assert.equal(third?.dropped, 3, 'the next batch says how many were lost');
    assert.equal(third?.droppedAtMs, 8);
    assert.deepEqual(third?.inline, []);
  });
});

describe('request tracker', () => {
  it('gives the p99 of the durations since the last call, from 20 requests on', () => {
    const tracker = new RequestTracker();
    for (let i = 1; i <= 10; i++) tracker.recordDuration(i);
    assert.equal(tracker.takeP99(), undefined);
    for (let i = 1; i <= 100; i++) tracker.recordDuration(i);
    assert.equal(tracker.takeP99(), 99);
    assert.equal(tracker.takeP99(), undefined, 'forgotten after each call');
  });

  it('names the request that ran since a time, the service record preferred', () => {
    const tracker = new RequestTracker();
    tracker.touch(1, 5, 100);
    assert.equal(tracker.ranSince(90), 5);
    tracker.touch(0, 6, 101);
    assert.equal(tracker.ranSince(90), 6);
    assert.equal(tracker.ranSince(102), 0);
  });
});
