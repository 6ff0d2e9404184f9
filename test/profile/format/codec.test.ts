import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  decodeSegment,
  EV,
  EVENTS,
  encodeHeader,
  eventRows,
  gunzip,
  indexSegment,
  SegmentEncoder,
  SegmentReader,
  stackFrames,
} from '../../../src/profile/format/index.js';
import { concat, TEST_HEADER } from './hand-encoded.js';

/** Two blocks: a stall and GC in the first, a request and CPU samples in the second. */
function sampleSegment(): { bytes: Uint8Array; blocks: Uint8Array[] } {
  const encoder = new SegmentEncoder();
  encoder.event(EV.stall, 1000, [300_000, 7, 2, 1200, 350_000, 290_000]);
  encoder.event(EV.gc, 500, [4000, 2, 0]); // earlier than the previous event: deltas may be negative
  const first = encoder.takeBlock() as Uint8Array;
  const id = encoder.string('req-1');
  const op = encoder.string('GetItem');
  encoder.event(EV.requestOpen, 2_000_000, [7, id, op, encoder.string('GET'), encoder.string('/items/a')]);
  const root = encoder.stack(0, 'main', 'file:///app.js', 0, 0);
  const leaf = encoder.stack(root, 'burnNamed', 'file:///app.js', 9, 4);
  assert.equal(encoder.stack(root, 'burnNamed', 'file:///app.js', 9, 4), leaf, 'stacks are interned');
  encoder.event(EV.cpuSample, 2_000_100, [leaf]);
  encoder.event(EV.mark, 2_000_200, [0, encoder.string('m'), -5]);
  encoder.event(EV.clockSync, 2_000_300, [1_700_000_002_000]);
  const second = encoder.takeBlock() as Uint8Array;
  return { bytes: concat([encodeHeader(TEST_HEADER), first, second]), blocks: [first, second] };
}

describe('trace format', () => {
  it('decodes what the encoder wrote: values, strings, stacks, signed fields, out-of-order times', () => {
    const segment = decodeSegment(sampleSegment().bytes);
    assert.equal(segment.truncated, false);
    assert.equal(segment.header.process.service, 's');
    assert.equal(segment.blocks.length, 2);
    assert.deepEqual(eventRows(segment, 'stall'), [
      { time: 1000, durationUs: 300_000, request: 7, inFlight: 2, cpuUs: 1200, cpuWindowUs: 350_000, lateUs: 290_000 },
    ]);
    assert.deepEqual(eventRows(segment, 'gc'), [{ time: 500, durationUs: 4000, kind: 2, flags: 0 }]);
    assert.deepEqual(eventRows(segment, 'requestOpen'), [
      { time: 2_000_000, request: 7, requestId: 'req-1', operation: 'GetItem', method: 'GET', path: '/items/a' },
    ]);
    assert.deepEqual(eventRows(segment, 'mark'), [{ time: 2_000_200, target: '', name: 'm', value: -5 }]);
    assert.deepEqual(eventRows(segment, 'clockSync'), [{ time: 2_000_300, wallMs: 1_700_000_002_000 }]);
    const sample = eventRows(segment, 'cpuSample')[0];
    assert.deepEqual(stackFrames(segment, Number(sample?.stack)), [
      { functionName: 'burnNamed', url: 'file:///app.js', line: 10, column: 5 },
      { functionName: 'main', url: 'file:///app.js', line: 1, column: 1 },
    ]);
    const columns = segment.events.stall;
    assert.ok(columns?.time instanceof Float64Array);
    assert.ok(columns?.fields.durationUs instanceof Float64Array);
  });

  it('decodes a file cut anywhere up to its last complete block, and says it was truncated', () => {
    const { bytes, blocks } = sampleSegment();
    const firstEnd = bytes.length - (blocks[1] as Uint8Array).length;
    for (const cut of [firstEnd + 1, firstEnd + 40, bytes.length - 1]) {
      const segment = decodeSegment(bytes.subarray(0, cut));
      assert.equal(segment.truncated, true, `cut at ${cut}`);
      assert.equal(segment.blocks.length, 1);
      assert.equal(segment.events.stall?.count, 1);
      assert.equal(segment.events.requestOpen, undefined);
    }
    const exact = decodeSegment(bytes.subarray(0, firstEnd));
    assert.equal(exact.truncated, false);
    assert.equal(exact.blocks.length, 1);
  });

  it('streams: chunks of any size give the same result, blocks announced as they complete', () => {
    const { bytes } = sampleSegment();
    const whole = decodeSegment(bytes);
    const reader = new SegmentReader();
    const announced: number[] = [];
    for (let i = 0; i < bytes.length; i += 7) {
      for (const block of reader.push(bytes.subarray(i, i + 7))) announced.push(block.events);
    }
    assert.deepEqual(announced, [2, 4]);
    assert.deepEqual(eventRows(reader.result(), 'requestOpen'), eventRows(whole, 'requestOpen'));
  });

  it('windows by block: strings still resolve, events outside the window are skipped', () => {
    const { bytes } = sampleSegment();
    const index = indexSegment(bytes);
    assert.deepEqual(
      index.blocks.map((b) => [b.events, b.minUs, b.maxUs]),
      [
        [2, 500, 1000],
        [4, 2_000_000, 2_000_300],
      ],
    );
    const late = decodeSegment(bytes, { fromUs: 1_500_000 });
    assert.equal(late.events.stall, undefined);
    assert.equal(late.skippedEvents, 2);
    assert.equal(eventRows(late, 'requestOpen')[0]?.requestId, 'req-1');
  });

  it('gunzip opens a sealed segment without Node imports; a gzip passed to the decoder is named', async () => {
    const { bytes } = sampleSegment();
    const gz = new Uint8Array(gzipSync(bytes));
    assert.throws(() => decodeSegment(gz), /gzip: decompress it first/);
    const segment = decodeSegment(await gunzip(gz));
    assert.equal(segment.events.cpuSample?.count, 1);
    assert.throws(() => decodeSegment(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9])), /not a dial9-node trace/);
  });

  it('keeps varints exact up to 2^53 (wall-clock ms, byte counts)', () => {
    const encoder = new SegmentEncoder();
    const big = 2 ** 52 + 3;
    encoder.event(EV.clockSync, 0, [big]);
    encoder.event(EV.mark, 1, [0, 0, -(2 ** 50)]);
    const segment = decodeSegment(concat([encodeHeader(TEST_HEADER), encoder.takeBlock() as Uint8Array]));
    assert.equal(eventRows(segment, 'clockSync')[0]?.wallMs, big);
    assert.equal(eventRows(segment, 'mark')[0]?.value, -(2 ** 50));
  });
});

describe('the decoder bundles for a browser', () => {
  it('imports nothing from Node', async () => {
    const { readFileSync } = await import('node:fs');
    for (const file of ['decoder', 'bytes', 'schema', 'gzip', 'header-check', 'index']) {
      const source = readFileSync(new URL(`../../../../src/profile/format/${file}.ts`, import.meta.url), 'utf8');
      const imports = [...source.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
      for (const name of imports) assert.match(String(name), /^\.\//, `${file}.ts imports ${name}`);
    }
  });
});

describe('docs/trace-format.md', () => {
  it('lists every event type with its id and fields, in schema order', async () => {
    const { readFileSync } = await import('node:fs');
    const doc = readFileSync(new URL('../../../../docs/trace-format.md', import.meta.url), 'utf8');
    for (const spec of EVENTS) {
      const row = doc.split('\n').find((line) => line.startsWith(`| ${spec.id} | \`${spec.name}\` |`));
      assert.ok(row, `a row for ${spec.name}`);
      let at = 0;
      for (const field of spec.fields) {
        const found = row.indexOf(`\`${field.name}\``, at);
        assert.ok(found >= 0 || row.includes(`${field.name}`), `${spec.name}.${field.name} in ${row}`);
        at = Math.max(at, found);
      }
    }
  });
});
