/**
 * Format version 2: delta-coded fields and numbered strings decode to exactly what version 1 did,
 * across blocks, windows and segments; version 1 files (the old encoder path) still decode.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ByteReader } from '../../../src/profile/format/bytes.js';
import {
  BLOCK_HEADER_BYTES,
  DEF_NUMBERED,
  DEF_STACK,
  DEF_STRING,
  decodeSegment,
  EV,
  EVENTS,
  encodeHeader,
  eventRows,
  FORMAT_VERSION,
  readHeader,
  SegmentEncoder,
} from '../../../src/profile/format/index.js';
import { concat, TEST_HEADER } from './hand-encoded.js';

/** The definition kinds of a block, in order (to see which strings went in as numbered ones). */
function defKinds(block: Uint8Array): number[] {
  const head = new ByteReader(block, 4);
  const defsBytes = head.u32();
  const reader = new ByteReader(block, BLOCK_HEADER_BYTES, BLOCK_HEADER_BYTES + defsBytes);
  const kinds: number[] = [];
  while (reader.offset < reader.end) {
    const kind = reader.u8();
    kinds.push(kind);
    if (kind === DEF_STRING) reader.string();
    else if (kind === DEF_NUMBERED) {
      reader.varint();
      reader.svarint();
    } else if (kind === DEF_STACK) for (let i = 0; i < 5; i++) reader.varint();
  }
  return kinds;
}

/** Request events as the recorder writes them: numbers counting up, closes out of order. */
function writeRequests(encoder: SegmentEncoder, from: number, count: number, timeUs: number): void {
  for (let n = from; n < from + count; n++) {
    const id = encoder.stringOnce(`0123456789abc-${n}`);
    const path = encoder.stringOnce(`/items/key-${(n * 7919) % 1000}`);
    encoder.event(EV.requestOpen, timeUs + n * 10, [n, id, encoder.string('GetItem'), encoder.string('GET'), path]);
    // Closes lag and swap pairs: the request field's deltas go negative.
    const closing = n % 2 === 0 ? n + 1 : n - 1;
    encoder.event(EV.requestClose, timeUs + n * 10 + 5, [closing, 200, 400 + (n % 7), 0]);
  }
}

function requestRows(bytes: Uint8Array): { open: unknown[]; close: unknown[] } {
  const segment = decodeSegment(bytes);
  assert.equal(segment.truncated, false);
  return { open: eventRows(segment, 'requestOpen'), close: eventRows(segment, 'requestClose') };
}

describe('trace format version 2', () => {
  it('delta fields: the same decoded values as version 1, across blocks and windows, in fewer bytes', () => {
    const v2 = new SegmentEncoder();
    const v1 = new SegmentEncoder(EVENTS, { version: 1 });
    const blocks2: Uint8Array[] = [];
    const blocks1: Uint8Array[] = [];
    for (const [from, timeUs] of [
      [1, 0],
      [201, 1_000_000],
      [401, 2_000_000],
    ] as const) {
      writeRequests(v2, from, 200, timeUs);
      writeRequests(v1, from, 200, timeUs);
      blocks2.push(v2.takeBlock() as Uint8Array);
      blocks1.push(v1.takeBlock() as Uint8Array);
    }
    // Big values, a decrease, fractions and negatives stored as version 1 stores them (floored, clamped).
    for (const encoder of [v2, v1]) {
      encoder.event(EV.clockSync, 3_000_000, [1_796_000_000_123]);
      encoder.event(EV.clockSync, 3_000_001, [1_796_000_010_456]);
      encoder.event(EV.clockSync, 3_000_002, [5]);
      encoder.event(EV.clockSync, 3_000_003, [2 ** 51 + 1]);
      encoder.event(EV.httpInEnd, 3_000_004, [7.9, 200]);
      encoder.event(EV.httpInEnd, 3_000_005, [-3, 200]);
      encoder.event(EV.httpInEnd, 3_000_006, [0, 0]);
    }
    blocks2.push(v2.takeBlock() as Uint8Array);
    blocks1.push(v1.takeBlock() as Uint8Array);
    const bytes2 = concat([encodeHeader(TEST_HEADER), ...blocks2]);
    const bytes1 = concat([encodeHeader(TEST_HEADER, 1), ...blocks1]);

    const rows2 = requestRows(bytes2);
    assert.deepEqual(rows2, requestRows(bytes1));
    assert.equal(rows2.open.length, 600);
    assert.deepEqual(rows2.open[250], {
      time: 1_002_510,
      request: 251,
      requestId: '0123456789abc-251',
      operation: 'GetItem',
      method: 'GET',
      path: `/items/key-${(251 * 7919) % 1000}`,
    });
    assert.deepEqual(rows2.close[250], {
      time: 1_002_515,
      request: 250,
      status: 200,
      durationUs: 400 + (251 % 7),
      errorKind: '',
    });
    const last2 = decodeSegment(bytes2);
    assert.deepEqual(
      eventRows(last2, 'clockSync').map((r) => r.wallMs),
      [1_796_000_000_123, 1_796_000_010_456, 5, 2 ** 51 + 1],
    );
    assert.deepEqual(
      eventRows(last2, 'httpInEnd').map((r) => [r.request, r.status]),
      [
        [7, 200],
        [0, 200],
        [0, 0],
      ],
    );
    assert.deepEqual(eventRows(last2, 'clockSync'), eventRows(decodeSegment(bytes1), 'clockSync'));
    assert.deepEqual(eventRows(last2, 'httpInEnd'), eventRows(decodeSegment(bytes1), 'httpInEnd'));

    // A window that skips the first blocks: deltas start again in every block.
    const windowed = decodeSegment(bytes2, { fromUs: 2_000_000, toUs: 2_999_999 });
    assert.equal(windowed.skippedEvents, 800 + 7);
    assert.deepEqual(eventRows(windowed, 'requestOpen'), rows2.open.slice(400));
    assert.deepEqual(eventRows(windowed, 'requestClose'), rows2.close.slice(400));

    const eventsBytes = (block: Uint8Array) => new ByteReader(block, 8).u32();
    const perRequest2 = eventsBytes(blocks2[1] as Uint8Array) / 200;
    const perRequest1 = eventsBytes(blocks1[1] as Uint8Array) / 200;
    assert.ok(perRequest2 <= perRequest1 - 2, `events: ${perRequest2} B/request (v2) vs ${perRequest1} (v1)`);
  });

  it('numbered strings round-trip exactly; anything that would not stays a plain string', () => {
    const encoder = new SegmentEncoder();
    const first = [
      'req-1', // a prefix seen once is not remembered: plain
      'req-2', // seen again: numbered from here on
      'req-3',
      'req-10',
      'req-4', // a negative delta
      'x-007', // leading zeros: String(7) would not give it back
      'x-7',
      'x-7', // the same text again is another string id (stringOnce never dedupes)
      'n-9007199254740993', // past 2^53: not a safe integer
      'n-4503599627370496', // 2^52: the zigzag of a delta could exceed 2^53
      'n-4503599627370495',
      'n-1',
      '42', // no prefix: prefix id 0
      '7',
      '0',
      'a-0',
      'a-00',
      'a-0',
      '-5',
      '-6',
      'é-1',
      'é-2',
      'no digits',
      'no digits',
      '12345678901234567890',
    ];
    const ids1 = first.map((s) => encoder.stringOnce(s));
    const block1 = encoder.takeBlock() as Uint8Array;
    // Next block: numbers start again from 0 for every prefix.
    const second = ['req-5', 'req-11', 'req-6', 'x-8', 'n-2', '8', 'é-3', 'a-1'];
    const ids2 = second.map((s) => encoder.stringOnce(s));
    encoder.event(EV.requestOpen, 10, [1, ids2[0] as number, 0, 0, ids2[1] as number]);
    const block2 = encoder.takeBlock() as Uint8Array;

    const segment = decodeSegment(concat([encodeHeader(TEST_HEADER), block1, block2]));
    assert.deepEqual(
      ids1.map((id) => segment.strings[id]),
      first,
    );
    assert.deepEqual(
      ids2.map((id) => segment.strings[id]),
      second,
    );
    assert.deepEqual(eventRows(segment, 'requestOpen')[0], {
      time: 10,
      request: 1,
      requestId: 'req-5',
      operation: '',
      method: '',
      path: 'req-11',
    });

    const kinds = defKinds(block1);
    const numbered = kinds.filter((k) => k === DEF_NUMBERED).length;
    // req-2, -3, -10, -4; the second x-7; n-1; 42, 7, 0; the second a-0; -6; é-2 (their prefixes as plain strings)
    assert.equal(numbered, 12, `definition kinds ${kinds.join(',')}`);
    assert.ok(
      defKinds(block2).every((k) => k === DEF_NUMBERED),
      'prefixes are remembered for the segment',
    );
  });

  it('a new segment (rotation) defines its prefixes again; a full string table falls back to plain strings', () => {
    const a = new SegmentEncoder();
    const idsA = ['s-1', 's-2', 's-3'].map((s) => a.stringOnce(s));
    const segmentA = decodeSegment(concat([encodeHeader(TEST_HEADER), a.takeBlock() as Uint8Array]));
    assert.deepEqual(
      idsA.map((id) => segmentA.strings[id]),
      ['s-1', 's-2', 's-3'],
    );

    const b = new SegmentEncoder();
    const idsB = ['s-4', 's-5', 's-6'].map((s) => b.stringOnce(s));
    const blockB = b.takeBlock() as Uint8Array;
    const segmentB = decodeSegment(concat([encodeHeader(TEST_HEADER), blockB]));
    assert.deepEqual(
      idsB.map((id) => segmentB.strings[id]),
      ['s-4', 's-5', 's-6'],
    );
    assert.deepEqual(defKinds(blockB), [DEF_STRING, DEF_STRING, DEF_NUMBERED, DEF_NUMBERED]);

    // The segment's table holds 50,000 strings at most: past that, no new prefix is remembered.
    const full = new SegmentEncoder();
    for (let i = 0; i < 50_000; i++) full.string(`op${i}`);
    const idsFull = ['t-1', 't-2', 't-3'].map((s) => full.stringOnce(s));
    const blockFull = full.takeBlock() as Uint8Array;
    assert.equal(full.stringCount, 50_000);
    const segmentFull = decodeSegment(concat([encodeHeader(TEST_HEADER), blockFull]));
    assert.deepEqual(
      idsFull.map((id) => segmentFull.strings[id]),
      ['t-1', 't-2', 't-3'],
    );
    assert.equal(segmentFull.strings[50_000], 'op49999');
  });

  it('a version 1 segment from the old encoder path still decodes; newer versions are refused', () => {
    const v1 = new SegmentEncoder(EVENTS, { version: 1 });
    const id = v1.stringOnce('0123456789abc-41');
    const id2 = v1.stringOnce('0123456789abc-42');
    v1.event(EV.requestOpen, 1000, [41, id, v1.string('GetItem'), v1.string('GET'), v1.stringOnce('/items/a')]);
    v1.event(EV.requestOpen, 1010, [42, id2, v1.string('GetItem'), v1.string('GET'), v1.stringOnce('/items/b')]);
    v1.event(EV.requestClose, 1020, [42, 200, 10, 0]);
    v1.event(EV.clockSync, 1030, [1_796_000_000_000]);
    const block = v1.takeBlock() as Uint8Array;
    assert.ok(!defKinds(block).includes(DEF_NUMBERED));
    const bytes = concat([encodeHeader(TEST_HEADER, 1), block]);
    const header = readHeader(bytes)?.header;
    assert.equal(header?.version, 1);
    assert.equal(new ByteReader(bytes, 8).u32(), 1, 'the preamble says version 1');
    assert.ok(header?.events.every((spec) => spec.fields.every((f) => f.delta === undefined)));

    const segment = decodeSegment(bytes);
    assert.deepEqual(
      eventRows(segment, 'requestOpen').map((r) => [r.request, r.requestId, r.path]),
      [
        [41, '0123456789abc-41', '/items/a'],
        [42, '0123456789abc-42', '/items/b'],
      ],
    );
    assert.deepEqual(eventRows(segment, 'requestClose'), [
      { time: 1020, request: 42, status: 200, durationUs: 10, errorKind: '' },
    ]);
    assert.equal(eventRows(segment, 'clockSync')[0]?.wallMs, 1_796_000_000_000);

    const newer = encodeHeader(TEST_HEADER, FORMAT_VERSION + 1);
    assert.throws(
      () => decodeSegment(newer),
      new RegExp(`version ${FORMAT_VERSION + 1} is newer than this reader \\(${FORMAT_VERSION}\\)`),
    );
  });
});
