import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EV } from '../../../src/profile/format/index.js';
import {
  INLINE_NUMBERED,
  INLINE_TEXT,
  InlineReader,
  MAX_INLINE_CHARS,
} from '../../../src/profile/recorder/inline-text.js';
import type { Batch } from '../../../src/profile/recorder/protocol.js';
import { RequestTracker } from '../../../src/profile/recorder/requests.js';
import { EventRing, RECORD_SLOTS } from '../../../src/profile/recorder/ring.js';

/** The strings used once of `batch`'s records: field `field` of each record, decoded. */
function inlineStrings(batch: Batch | undefined, field: number): unknown[] {
  if (batch === undefined) return [];
  const records = new Float64Array(batch.buffer, 0, batch.count * RECORD_SLOTS);
  const reader = new InlineReader(new Uint8Array(batch.buffer, batch.textOffset, batch.textBytes));
  const out: unknown[] = [];
  for (let r = 0; r < batch.count; r++) {
    const value = records[r * RECORD_SLOTS + 2 + field] as number;
    if (value >= 0) continue;
    out.push(
      reader.kind(value) === INLINE_NUMBERED
        ? { kind: INLINE_NUMBERED, prefixId: reader.prefixId(value), value: reader.number(value) }
        : { kind: INLINE_TEXT, text: reader.text(value) },
    );
  }
  return out;
}

describe('event ring', () => {
  it("records a source's held-back events when it ships on request, never from inside a full buffer's hand-over", () => {
    const shipped: Batch[] = [];
    const ring = new EventRing({ recordsPerBuffer: 4, buffers: 4, ship: (b) => shipped.push(b) > 0 });
    const held: number[] = [];
    let flushes = 0;
    const undefer = ring.deferred(() => {
      flushes++;
      for (const t of held) ring.put(EV.requestClose, t, 1, 200, 5, 0);
      held.length = 0;
    });
    // Filling a buffer hands it over without asking the source: its events would land in a full one.
    for (let i = 0; i < 4; i++) ring.put(EV.gc, i, 1, 0, 0);
    assert.equal(shipped.length, 1);
    assert.equal(flushes, 0);
    // Six held-back events: the flush fills one buffer (handed over from inside the flush) and
    // starts the next, which the requested ship then sends.
    held.push(10, 11, 12, 13, 14, 15);
    ring.ship();
    assert.equal(flushes, 1);
    assert.deepEqual(
      shipped.map((b) => b.count),
      [4, 4, 2],
    );
    const last = new Float64Array(shipped[2]?.buffer as SharedArrayBuffer);
    assert.deepEqual([last[0], last[1], last[RECORD_SLOTS + 1]], [EV.requestClose, 14, 15]);
    undefer();
    held.push(20);
    ring.ship();
    assert.equal(flushes, 1, 'unregistered');
  });

  it('ships full buffers with their strings, drops and counts when every buffer is out, and recovers', () => {
    const shipped: Batch[] = [];
    const ring = new EventRing({ recordsPerBuffer: 4, buffers: 2, ship: (b) => shipped.push(b) > 0 });
    const op = ring.intern('GetItem');
    assert.equal(ring.intern('GetItem'), op, 'interned once');
    for (let i = 0; i < 8; i++) ring.put(EV.requestOpen, i, i + 1, ring.inline(`req-${i}`), op, 0, 0);
    assert.equal(shipped.length, 2);
    assert.deepEqual(shipped[0]?.defs, [op, 'GetItem']);
    assert.deepEqual(
      inlineStrings(shipped[0], 1),
      ['req-0', 'req-1', 'req-2', 'req-3'].map((text) => ({ kind: INLINE_TEXT, text })),
    );
    const first = new Float64Array(shipped[0]?.buffer as SharedArrayBuffer);
    assert.deepEqual([...first.subarray(0, RECORD_SLOTS)], [EV.requestOpen, 0, 1, -1, op, 0, 0, 0]);

    // Both buffers are with the writer: these are dropped, and their strings are not kept.
    for (let i = 8; i < 11; i++) ring.put(EV.requestOpen, i, i + 1, ring.inline(`req-${i}`), op, 0, 0);
    assert.equal(ring.dropped, 3);
    assert.equal(ring.recorded, 8);

    ring.release(shipped[0]?.buffer as SharedArrayBuffer);
    ring.put(EV.gc, 20, 5, 4, 0);
    ring.ship();
    const third = shipped[2];
    assert.equal(third?.count, 1);
    assert.equal(third?.dropped, 3, 'the next batch says how many were lost');
    assert.equal(third?.droppedAtMs, 8);
    assert.equal(third?.textBytes, 0, 'the dropped events left no strings behind');
  });

  it('carries strings used once as bytes with their buffer: ASCII, UTF-8, numbered ids, cut when too long', () => {
    const shipped: Batch[] = [];
    const ring = new EventRing({ recordsPerBuffer: 8, buffers: 2, ship: (b) => shipped.push(b) > 0 });
    const prefix = ring.intern('abc-');
    const long = 'x'.repeat(MAX_INLINE_CHARS + 100);
    for (const [id, path] of [
      [ring.numbered(prefix, 41), ring.inline('/items/plain')],
      [ring.numbered(prefix, 2 ** 40 + 3), ring.inline('/caf\u00e9/\u{1f600}?q=\u00fc')],
      [ring.inline('client-id-7'), ring.inline(long)],
    ] as const)
      ring.put(EV.requestOpen, 1, 1, id, 0, 0, path);
    ring.ship();
    assert.deepEqual(inlineStrings(shipped[0], 1), [
      { kind: INLINE_NUMBERED, prefixId: prefix, value: 41 },
      { kind: INLINE_NUMBERED, prefixId: prefix, value: 2 ** 40 + 3 },
      { kind: INLINE_TEXT, text: 'client-id-7' },
    ]);
    assert.deepEqual(inlineStrings(shipped[0], 4), [
      { kind: INLINE_TEXT, text: '/items/plain' },
      { kind: INLINE_TEXT, text: '/caf\u00e9/\u{1f600}?q=\u00fc' },
      { kind: INLINE_TEXT, text: 'x'.repeat(MAX_INLINE_CHARS) },
    ]);
  });

  it('ships early when long strings fill the text area, so an event and its strings share a buffer', () => {
    const shipped: Batch[] = [];
    const ring = new EventRing({ recordsPerBuffer: 4096, buffers: 8, ship: (b) => shipped.push(b) > 0 });
    const path = `/${'p'.repeat(1000)}`;
    for (let i = 0; i < 400; i++) ring.put(EV.requestOpen, i, i + 1, ring.inline(`id-${i}`), 0, 0, ring.inline(path));
    ring.ship();
    assert.ok(shipped.length >= 3, `${shipped.length} batches`);
    let seen = 0;
    for (const batch of shipped) {
      assert.ok(batch.count < 4096 && batch.textBytes <= 128 * 1024);
      const ids = inlineStrings(batch, 1) as { text: string }[];
      const paths = inlineStrings(batch, 4) as { text: string }[];
      assert.equal(ids.length, batch.count);
      for (const [i, id] of ids.entries()) assert.equal(id.text, `id-${seen + i}`);
      assert.ok(paths.every((p) => p.text === path));
      seen += batch.count;
    }
    assert.equal(seen, 400);
    assert.equal(ring.dropped, 0);
  });
});

describe('request tracker', () => {
  it('gives the p99 of the durations since the last p99, from 20 requests on or after 10 s', () => {
    const first = new RequestTracker();
    for (const ms of [500, 600]) first.recordDuration(ms);
    assert.equal(first.takeP99(1000), undefined, 'durations from before the first check');
    assert.equal(first.takeP99(10_999), undefined);
    assert.deepEqual(first.takeP99(11_000), { p99Ms: 600, windowMs: 10_000 });

    const tracker = new RequestTracker();
    assert.equal(tracker.takeP99(0), undefined, 'nothing recorded');
    for (let i = 1; i <= 10; i++) tracker.recordDuration(i);
    assert.equal(tracker.takeP99(1000), undefined, '10 requests in a second: kept for the next check');
    for (let i = 1; i <= 100; i++) tracker.recordDuration(i);
    // 110 durations: 1..10 twice, 11..100 once; the 109th of them sorted.
    assert.deepEqual(tracker.takeP99(2000), { p99Ms: 99, windowMs: 2000 });
    assert.equal(tracker.takeP99(3000), undefined, 'forgotten once given');

    // A quiet service, an hour without requests, then three slow ones: the p99 of what there was
    // once 10 s have passed since the last check without any, not over the hour.
    assert.equal(tracker.takeP99(3_603_000), undefined);
    for (const ms of [800, 1200, 900]) tracker.recordDuration(ms);
    assert.equal(tracker.takeP99(3_604_000), undefined);
    assert.equal(tracker.takeP99(3_612_999), undefined);
    assert.deepEqual(tracker.takeP99(3_613_000), { p99Ms: 1200, windowMs: 10_000 });
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
