import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ExitMetrics, RequestMetrics, RuntimeMetrics, ShutdownMetrics } from '../../src/metrics.js';
import {
  type AnyRecordType,
  defineRecord,
  EmfFormatter,
  type EmfOptions,
  field,
  highResolution,
  MemorySink,
  openRecord,
  optional,
  RecordEmitter,
} from '../../src/record/index.js';
import { assertValidEmf, emfProblems } from '../helpers/emf-validator.js';

const T = 1752774958378;

function emitter(options: Partial<EmfOptions> = {}) {
  const sink = new MemorySink();
  const invalid: string[] = [];
  const formatter = new EmfFormatter({ namespace: 'Ns', globals: { service_name: 'svc' }, ...options });
  const pipeline = new RecordEmitter(formatter, sink, {
    onInvalid: (_type, err) => invalid.push((err as Error).message),
  });
  return { sink, invalid, pipeline, formatter };
}

describe('EMF format', () => {
  test('golden: a request record, dimension sets from the flag, units, properties last', () => {
    const { sink, pipeline } = emitter({ dimensions: [['Operation'], ['Operation', 'StatusCode']] });
    const record = openRecord(RequestMetrics, pipeline, T);
    Object.assign(record.values, {
      RequestId: 'r-1',
      Operation: 'GetItem',
      Path: '/items/a',
      StatusCode: '200',
      InFlight: 2,
      Duration: 0.42,
      Success: true,
    });
    const slot = record.openSlot('handler');
    slot.values.PayloadBytes = 5;
    slot.values.Found = true;
    slot.close();
    record.close();
    assert.deepEqual(sink.entries, [
      '{"_aws":{"CloudWatchMetrics":[{"Namespace":"Ns","Dimensions":[["Operation"],["Operation","StatusCode"]],"Metrics":[{"Name":"InFlight","Unit":"Count"},{"Name":"Duration","Unit":"Milliseconds"},{"Name":"Success"},{"Name":"ClientError"},{"Name":"ServerError"},{"Name":"PayloadBytes","Unit":"Bytes"},{"Name":"Found"}]}],"Timestamp":1752774958378},"InFlight":2,"Duration":0.42,"Success":1,"ClientError":0,"ServerError":0,"PayloadBytes":5,"Found":1,"RequestId":"r-1","Operation":"GetItem","Path":"/items/a","StatusCode":"200","service_name":"svc"}\n',
    ]);
    assertValidEmf(sink.entries[0] ?? '');
  });

  test('golden: no dimensions gives [[]]; LogGroupName sits between CloudWatchMetrics and Timestamp', () => {
    const { sink, pipeline } = emitter({ logGroupName: 'my-group' });
    const record = openRecord(ShutdownMetrics, pipeline, T);
    Object.assign(record.values, { Reason: 'SIGTERM', Drained: true, DrainDuration: 12.5, InFlight: 0 });
    record.close();
    assert.deepEqual(sink.entries, [
      '{"_aws":{"CloudWatchMetrics":[{"Namespace":"Ns","Dimensions":[[]],"Metrics":[{"Name":"Drained"},{"Name":"DrainDuration","Unit":"Milliseconds"},{"Name":"InFlight","Unit":"Count"}]}],"LogGroupName":"my-group","Timestamp":1752774958378},"Drained":1,"DrainDuration":12.5,"InFlight":0,"Reason":"SIGTERM","service_name":"svc"}\n',
    ]);
    assertValidEmf(sink.entries[0] ?? '');
  });

  test('flag sets apply only to record types that have their keys; service_name applies to all', () => {
    const { sink, pipeline } = emitter({ dimensions: [['Operation'], ['service_name']] });
    openRecord(ExitMetrics, pipeline, T).close();
    const line = JSON.parse(sink.entries[0] ?? '{}');
    assert.deepEqual(line._aws.CloudWatchMetrics[0].Dimensions, [['service_name']]);
  });

  test('flag sets are crossed with the sets a record type declares', () => {
    const Job = defineRecord(
      'Job',
      { Queue: field.property(), Region: field.property(), Took: field.duration() },
      { dimensions: [['Queue'], ['Queue', 'Region']] },
    );
    const { sink, pipeline } = emitter({ dimensions: [[], ['service_name']] });
    const record = openRecord(Job, pipeline, T);
    Object.assign(record.values, { Queue: 'q1', Region: 'eu', Took: 3 });
    record.close();
    const line = JSON.parse(sink.entries[0] ?? '{}');
    assert.deepEqual(line._aws.CloudWatchMetrics[0].Dimensions, [
      ['Queue'],
      ['Queue', 'Region'],
      ['service_name', 'Queue'],
      ['service_name', 'Queue', 'Region'],
    ]);
    assertValidEmf(sink.entries[0] ?? '');
  });

  test('several observations, sampling weights, high resolution, NaN skipped, no exponents, clamped infinities', () => {
    const Obs = defineRecord('Obs', {
      Latency: optional(highResolution(field.duration())),
      Tiny: optional(field.metric()),
      Huge: optional(field.metric()),
      Missing: optional(field.metric()),
      Flag: optional(field.flag()),
    });
    const formatter = new EmfFormatter({ namespace: 'Ns' });
    const line = formatter.format(
      Obs,
      {
        Latency: [1, 2, 2, Number.NaN, 3],
        Tiny: 1.5e-7,
        Huge: Number.POSITIVE_INFINITY,
        Missing: Number.NaN,
        Flag: false,
      },
      T,
    );
    assertValidEmf(line);
    const parsed = JSON.parse(line);
    assert.deepEqual(parsed._aws.CloudWatchMetrics[0].Metrics, [
      { Name: 'Latency', Unit: 'Milliseconds', StorageResolution: 1 },
      { Name: 'Tiny' },
      { Name: 'Huge' },
      { Name: 'Flag' },
    ]);
    assert.deepEqual(parsed.Latency, { Values: [1, 2, 3], Counts: [1, 2, 1] });
    assert.match(line, /"Tiny":0\.00000015,/);
    assert.equal(parsed.Huge, 1.174271e108);
    assert.doesNotMatch(line, /\de[+-]?\d/);
    assert.equal('Missing' in parsed, false);

    const weighted = JSON.parse(formatter.format(Obs, { Latency: [5, 5], Flag: true }, T, 10));
    assert.deepEqual(weighted.Latency, { Values: [5], Counts: [20] });
    assert.deepEqual(weighted.Flag, { Values: [1], Counts: [10] });
  });

  test('a record with 150 metrics is split into two events, properties repeated', () => {
    const fields: Record<string, ReturnType<typeof field.count>> = {};
    for (let i = 0; i < 150; i++) fields[`M${String(i).padStart(3, '0')}`] = field.count();
    const Wide = defineRecord('Wide', { ...fields, Name: field.property() });
    const { sink, pipeline } = emitter({ dimensions: [['Name']] });
    const record = openRecord(Wide, pipeline, T);
    const values = record.values as Record<string, unknown>;
    for (let i = 0; i < 150; i++) values[`M${String(i).padStart(3, '0')}`] = i;
    values.Name = 'wide';
    record.close();
    assert.equal(sink.entries.length, 1, 'one entry: the record');
    const lines = (sink.entries[0] ?? '').split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 2);
    for (const line of lines) assert.deepEqual(emfProblems(line), []);
    const [first, second] = lines.map((l) => JSON.parse(l));
    assert.equal(first._aws.CloudWatchMetrics[0].Metrics.length, 100);
    assert.equal(second._aws.CloudWatchMetrics[0].Metrics.length, 50);
    assert.equal(first.M000, 0);
    assert.equal(second.M149, 149);
    assert.equal(first.M149, undefined);
    for (const event of [first, second]) {
      assert.equal(event.Name, 'wide');
      assert.equal(event.service_name, 'svc');
      assert.equal(event._aws.Timestamp, T);
    }
  });

  test('a metric with 250 distinct values is spread over three events of at most 100', () => {
    const Dist = defineRecord('Dist', { Sizes: field.bytes(), Other: field.count() });
    const formatter = new EmfFormatter({ namespace: 'Ns' });
    const entry = formatter.format(Dist, { Sizes: Array.from({ length: 250 }, (_, i) => i), Other: 7 }, T);
    const events = entry
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => {
        assert.deepEqual(emfProblems(l), []);
        return JSON.parse(l);
      });
    assert.deepEqual(
      events.map((e) => e.Sizes.Values.length),
      [100, 100, 50],
    );
    assert.equal(
      events.reduce((n, e) => n + e.Sizes.Counts.reduce((a: number, b: number) => a + b, 0), 0),
      250,
    );
    assert.equal(events.filter((e) => e.Other === 7).length, 1, 'other metrics are written once');
  });

  test('no event exceeds the size limit; a record that cannot fit is refused', () => {
    const Big = defineRecord('Big', { A: field.count(), B: field.count(), Note: field.property() });
    const formatter = new EmfFormatter({ namespace: 'Ns', maxEventBytes: 2000 });
    const many = Array.from({ length: 100 }, (_, i) => i + 0.123456789);
    const entry = formatter.format(Big, { A: many, B: many, Note: 'x' }, T);
    const lines = entry.split('\n').filter((l) => l !== '');
    assert.ok(lines.length >= 2);
    for (const line of lines) assert.ok(Buffer.byteLength(line) + 1 <= 2000, `${Buffer.byteLength(line)} bytes`);
    assert.throws(
      () => formatter.format(Big, { A: 1, B: 2, Note: 'y'.repeat(3000) }, T),
      /Big: properties alone exceed 2000 bytes/,
    );
  });

  test('strict: a record missing a dimension value is dropped, counted, and named', () => {
    const { sink, pipeline, invalid } = emitter({ dimensions: [['Operation', 'ErrorKind']] });
    const ok = openRecord(RequestMetrics, pipeline, T);
    Object.assign(ok.values, { Operation: 'GetItem', StatusCode: '500', ErrorKind: 'Internal' });
    ok.close();
    const missing = openRecord(RequestMetrics, pipeline, T);
    Object.assign(missing.values, { Operation: 'GetItem', StatusCode: '200' });
    missing.close();
    assert.equal(sink.entries.length, 1);
    assert.deepEqual(pipeline.stats(), { emitted: 1, invalid: 1, sampledOut: 0 });
    assert.deepEqual(invalid, ['RequestMetrics: dimension ErrorKind is missing']);
  });

  test('strict: type-level problems are refused for every record of the type', () => {
    const Bad = defineRecord('Bad', { Latency: field.duration(), Name: field.property() });
    const asDimension = new EmfFormatter({ namespace: 'Ns', globals: { Name: 'clash' } });
    assert.throws(
      () => asDimension.format(Bad, { Latency: 1, Name: 'n' }, T),
      /Bad: field Name clashes with a global property/,
    );
    const Declared = defineRecord('Declared', { Latency: field.duration() }, { dimensions: [['Latency']] });
    const f = new EmfFormatter({ namespace: 'Ns' });
    assert.throws(() => f.format(Declared, { Latency: 1 }, T), /Declared: metric Latency is used as a dimension/);
    const Aws = defineRecord('Aws', { _aws: field.count() });
    assert.throws(() => f.format(Aws, { _aws: 1 }, T), /field name "_aws" is not allowed/);
    assert.throws(
      () => f.format(Bad, { Latency: 'slow', Name: 'n' }, T),
      /Bad: Latency: expected a number, got string/,
    );
  });

  test('validation off writes what it is given', () => {
    const { sink, pipeline } = emitter({ dimensions: [['Operation', 'ErrorKind']], validation: 'off' });
    const record = openRecord(RequestMetrics, pipeline, T);
    Object.assign(record.values, { Operation: 'GetItem', StatusCode: '200' });
    record.close();
    assert.equal(sink.entries.length, 1);
    assert.ok(emfProblems(sink.entries[0] ?? '').includes('dimension ErrorKind has no string target member'));
  });

  test('every record type the service emits formats to valid EMF', () => {
    const { sink, pipeline } = emitter({ dimensions: [['Operation'], ['Operation', 'StatusCode'], ['service_name']] });
    for (const type of [RequestMetrics, RuntimeMetrics, ShutdownMetrics, ExitMetrics] as AnyRecordType[]) {
      const record = openRecord(type, pipeline, T);
      if (type === RequestMetrics)
        Object.assign(record.values, { Operation: 'Echo', StatusCode: '200', RequestId: 'x', Path: '/echo' });
      if (type === ShutdownMetrics) Object.assign(record.values, { Reason: 'SIGTERM' });
      record.close();
    }
    assert.equal(sink.entries.length, 4);
    for (const entry of sink.entries) assertValidEmf(entry);
  });
});
