import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { seededRandom as seeded } from '../../src/load/random.js';
import {
  defineRecord,
  EmfFormatter,
  field,
  JsonFormatter,
  MemorySink,
  openRecord,
  RecordEmitter,
} from '../../src/record/index.js';

const Hit = defineRecord('Hit', { Bytes: field.bytes(), Route: field.property() }, { sampled: true });
const Rare = defineRecord('Rare', { Code: field.metric() });

function run(rate: number, count: number) {
  const sink = new MemorySink();
  const archive = new MemorySink();
  const emitter = new RecordEmitter(new JsonFormatter(), sink, { sampleRate: rate, archive, random: seeded(42) });
  for (let i = 0; i < count; i++) {
    const record = openRecord(Hit, emitter, 1);
    record.values.Bytes = 100;
    record.values.Route = 'r';
    record.close();
  }
  const kept = sink.records<{ metrics: { Bytes: { values?: number[]; counts?: number[]; value?: number } } }>();
  return { emitter, kept, archive };
}

describe('sampling', () => {
  test('kept records carry their weight, so the weighted count and sum are unbiased', () => {
    const { emitter, kept, archive } = run(0.1, 20000);
    const weights = kept.map((r) => r.metrics.Bytes.counts?.[0] ?? 0);
    assert.ok(
      weights.every((w) => w === 10),
      'rate 0.1 weighs every kept record 10',
    );
    const estimate = weights.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(estimate - 20000) / 20000 < 0.05, `estimated ${estimate} records from ${kept.length} kept`);
    assert.deepEqual(kept[0]?.metrics.Bytes, { values: [100], counts: [10], unit: 'Bytes' });
    assert.equal(emitter.stats().emitted + emitter.stats().sampledOut, 20000);
    assert.equal(archive.entries.length, 20000, 'the archive gets every record');
    assert.match(
      archive.entries[0] ?? '',
      /"Bytes":\{"value":100,"unit":"Bytes"\}/,
      'archived records are not weighted',
    );
  });

  test('a rate whose inverse is not whole weighs 3 or 4 at random, averaging 1/rate', () => {
    const { kept } = run(0.3, 30000);
    const weights = kept.map((r) => r.metrics.Bytes.counts?.[0] ?? 0);
    assert.deepEqual([...new Set(weights)].sort(), [3, 4]);
    const mean = weights.reduce((a, b) => a + b, 0) / weights.length;
    assert.ok(Math.abs(mean - 1 / 0.3) < 0.05, `mean weight ${mean}`);
  });

  test('only record types marked sampled are thinned; a rate of 1 changes nothing', () => {
    const sink = new MemorySink();
    const emitter = new RecordEmitter(new JsonFormatter(), sink, { sampleRate: 0.01, random: seeded(1) });
    for (let i = 0; i < 100; i++) openRecord(Rare, emitter, 1).close();
    assert.equal(sink.entries.length, 100);
    const { kept } = run(1, 50);
    assert.equal(kept.length, 50);
    assert.equal(kept[0]?.metrics.Bytes.value, 100);
    assert.throws(
      () => new RecordEmitter(new JsonFormatter(), sink, { sampleRate: 0 }),
      /sampleRate must be in \(0, 1\]/,
    );
  });

  test('a record sampling leaves out is still validated: invalid counts as invalid, not as sampled', () => {
    const sink = new MemorySink();
    const formatter = new EmfFormatter({ namespace: 'N', dimensions: [['Route']] });
    const emitter = new RecordEmitter(formatter, sink, { sampleRate: 0.5, random: seeded(3) });
    for (let i = 0; i < 100; i++) {
      const record = openRecord(Hit, emitter, 1);
      record.values.Bytes = 1;
      record.values.Route = ''; // a blank dimension: strict EMF refuses it
      record.close();
    }
    assert.deepEqual(emitter.stats(), { emitted: 0, invalid: 100, sampledOut: 0 });
  });
});
