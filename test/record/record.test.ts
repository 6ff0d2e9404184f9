import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  defineRecord,
  field,
  highResolution,
  JsonFormatter,
  MemorySink,
  openRecord,
  optional,
  RecordEmitter,
} from '../../src/record/index.js';

const Child = defineRecord('Child', {
  Found: optional(field.flag()),
  Bytes: field.bytes(),
});
const Parent = defineRecord(
  'Parent',
  {
    Operation: field.property<'A' | 'B'>(),
    Error: optional(field.property()),
    Duration: field.duration(),
    Ok: field.flag(),
    Ratio: field.metric(),
    Samples: optional(field.metric('Milliseconds')),
  },
  { slots: { child: Child } },
);

function pipeline(globals: Record<string, string> = {}) {
  const sink = new MemorySink();
  const invalid: string[] = [];
  const emitter = new RecordEmitter(new JsonFormatter({ globals }), sink, {
    onInvalid: (type, err) => invalid.push(`${type.name}: ${(err as Error).message}`),
  });
  return { sink, emitter, invalid };
}

describe('record model', () => {
  test('the layout is known up front: own fields, then slot fields, in declaration order', () => {
    assert.deepEqual(
      Parent.layout.map((f) => [f.name, f.spec.kind, f.spec.unit ?? null, f.spec.optional]),
      [
        ['Operation', 'property', null, false],
        ['Error', 'property', null, true],
        ['Duration', 'metric', 'Milliseconds', false],
        ['Ok', 'flag', null, false],
        ['Ratio', 'metric', null, false],
        ['Samples', 'metric', 'Milliseconds', true],
        ['Found', 'flag', null, true],
        ['Bytes', 'metric', 'Bytes', false],
      ],
    );
    assert.equal(highResolution(field.count()).highResolution, true);
  });

  test('a name used twice, or an invalid name, is refused when the type is defined', () => {
    assert.throws(
      () => defineRecord('Bad', { Found: field.flag() }, { slots: { child: Child } }),
      /Bad: field Found is declared twice \(in Child\)/,
    );
    assert.throws(() => defineRecord('Bad', { 'has space': field.flag() }), /field name "has space" is not valid/);
  });

  test('required fields start at zero values; optional ones are absent until set', () => {
    assert.deepEqual(Parent.create(), { Operation: '', Duration: 0, Ok: false, Ratio: 0 });
  });

  test('JSON: metrique shape, units only when named, globals last, exact text', () => {
    const { sink, emitter } = pipeline({ service_name: 'svc' });
    const record = openRecord(Parent, emitter, 1705312800000);
    record.values.Operation = 'A';
    record.values.Duration = 42.5;
    record.values.Ok = true;
    record.values.Ratio = 0.25;
    assert.equal(record.close(), true);
    assert.deepEqual(sink.entries, [
      '{"timestamp":1705312800000,"metrics":{"Duration":{"value":42.5,"unit":"Milliseconds"},"Ok":{"value":1},"Ratio":{"value":0.25}},"properties":{"Operation":"A","service_name":"svc"}}\n',
    ]);
  });

  test('JSON: several observations, NaN, infinities, escaping, empty sections omitted', () => {
    const { sink, emitter } = pipeline();
    const Only = defineRecord('Only', {
      Values: optional(field.metric('Milliseconds')),
      Note: optional(field.property()),
    });
    const a = openRecord(Only, emitter, 1);
    (a.values as Record<string, unknown>).Values = [1, 2.5, Number.NaN];
    a.close();
    const b = openRecord(Only, emitter, 2);
    b.values.Values = Number.POSITIVE_INFINITY;
    b.values.Note = 'quote " and newline \n';
    b.close();
    openRecord(Only, emitter, 3).close();
    assert.deepEqual(sink.entries, [
      '{"timestamp":1,"metrics":{"Values":{"values":[1,2.5,null],"unit":"Milliseconds"}}}\n',
      `{"timestamp":2,"metrics":{"Values":{"value":${Number.MAX_VALUE},"unit":"Milliseconds"}},"properties":{"Note":"quote \\" and newline \\n"}}\n`,
      '{"timestamp":3}\n',
    ]);
    for (const line of sink.entries) JSON.parse(line);
  });

  test('a guard emits exactly once; discard emits nothing', () => {
    const { sink, emitter } = pipeline();
    const record = openRecord(Parent, emitter);
    assert.equal(record.close(), true);
    assert.equal(record.close(), false);
    assert.equal(record.closed, true);
    const dropped = openRecord(Parent, emitter);
    dropped.discard();
    assert.equal(dropped.close(), false);
    assert.equal(sink.entries.length, 1);
  });

  test('a slot joins its parent when it closes before the parent', () => {
    const { sink, emitter } = pipeline();
    const record = openRecord(Parent, emitter, 10);
    const slot = record.openSlot('child');
    slot.values.Found = false;
    slot.values.Bytes = 12;
    assert.equal(record.values.Operation, '');
    assert.equal(slot.close(), true);
    assert.equal(slot.close(), false, 'a slot closes once');
    record.close();
    const [line] = sink.records<{ metrics: Record<string, { value: number }> }>();
    assert.equal(line?.metrics.Found?.value, 0);
    assert.equal(line?.metrics.Bytes?.value, 12);
  });

  test('a slot filled after its parent closed changes nothing and emits nothing', () => {
    const { sink, emitter } = pipeline();
    const record = openRecord(Parent, emitter, 10);
    const slot = record.openSlot('child');
    record.close();
    const before = [...sink.entries];
    slot.values.Found = true;
    slot.values.Bytes = 99;
    assert.equal(slot.close(), false);
    record.values.Ratio = 5;
    assert.deepEqual(sink.entries, before);
    assert.doesNotMatch(before[0] ?? '', /Found|Bytes/);
  });

  test('an invalid record is dropped and counted, never thrown', () => {
    const { sink, emitter, invalid } = pipeline();
    const record = openRecord(Parent, emitter);
    (record.values as Record<string, unknown>).Duration = 'fast';
    assert.doesNotThrow(() => record.close());
    assert.deepEqual(sink.entries, []);
    assert.deepEqual(emitter.stats(), { emitted: 0, invalid: 1, sampledOut: 0 });
    assert.deepEqual(invalid, ['Parent: Duration: expected a number, got string']);
  });
});
