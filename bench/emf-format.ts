/**
 * How fast does a record become a line? The same request record, one at a time, through:
 *   json       our pipeline (guard → JSON formatter → sink)
 *   emf        our pipeline with the EMF formatter, strict validation on
 *   aws-emf    aws-embedded-metrics: a MetricsLogger per record in its Local environment,
 *              flushing to a stream that discards what it gets
 * Both sides write their lines to the same kind of null stream. Variants take turns each round;
 * the report gives medians and ratios of medians.
 *
 *   npm run bench:emf -- [--rounds 7] [--records 20000]
 */
import { Console } from 'node:console';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { LocalSink, MetricsLogger, Unit } from 'aws-embedded-metrics';
import { RequestMetrics } from '../src/metrics.js';
import { EmfFormatter, type Formatter, JsonFormatter, openRecord, RecordEmitter } from '../src/record/index.js';
import { fixed, median } from './lib/stats.js';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '7' }, records: { type: 'string', default: '20000' } },
});
const rounds = Number(values.rounds);
const records = Number(values.records);

const nullStream = () => new Writable({ write: (_chunk, _encoding, done) => done() });

/** Our pipeline, writing each line to a null stream. */
function ours(formatter: Formatter): () => Promise<void> {
  const stream = nullStream();
  const emitter = new RecordEmitter(formatter, { write: (entry) => void stream.write(entry) });
  return async () => {
    for (let i = 0; i < records; i++) {
      const record = openRecord(RequestMetrics, emitter);
      const v = record.values;
      v.RequestId = 'f0e4c2f7-6d2b-4a1e-9b1a-4f7f9d2c8a11';
      v.Operation = 'GetItem';
      v.Path = '/items/key-42';
      v.StatusCode = '200';
      v.InFlight = 3;
      v.Duration = 1.234;
      v.Success = true;
      const slot = record.openSlot('handler');
      slot.values.PayloadBytes = 64;
      slot.values.Found = true;
      slot.close();
      record.close();
    }
  };
}

/** aws-embedded-metrics, the way its docs use it: a logger per unit of work, then flush(). */
function theirs(): () => Promise<void> {
  const sink = new LocalSink();
  // Its console, pointed at a null stream instead of stdout.
  (sink as unknown as { console: Console }).console = new Console(nullStream());
  const environment = {
    probe: async () => true,
    getName: () => 'bench',
    getType: () => 'Local',
    getLogGroupName: () => 'bench-metrics',
    configureContext: () => {},
    getSink: () => sink,
  };
  return async () => {
    for (let i = 0; i < records; i++) {
      const metrics = new MetricsLogger(async () => environment);
      metrics.setNamespace('bench');
      metrics.setDimensions({ Operation: 'GetItem' });
      metrics.putMetric('InFlight', 3, Unit.Count);
      metrics.putMetric('Duration', 1.234, Unit.Milliseconds);
      metrics.putMetric('Success', 1);
      metrics.putMetric('ClientError', 0);
      metrics.putMetric('ServerError', 0);
      metrics.putMetric('PayloadBytes', 64, Unit.Bytes);
      metrics.putMetric('Found', 1);
      metrics.setProperty('RequestId', 'f0e4c2f7-6d2b-4a1e-9b1a-4f7f9d2c8a11');
      metrics.setProperty('Path', '/items/key-42');
      metrics.setProperty('StatusCode', '200');
      metrics.setProperty('service_name', 'bench');
      await metrics.flush();
    }
  };
}

const variants = {
  json: ours(new JsonFormatter({ globals: { service_name: 'bench' } })),
  emf: ours(new EmfFormatter({ namespace: 'bench', dimensions: [['Operation']], globals: { service_name: 'bench' } })),
  'aws-emf': theirs(),
} as const;
type Variant = keyof typeof variants;
const names = Object.keys(variants) as Variant[];

// Warm up every variant once so each is measured after V8 has optimized it.
for (const name of names) await variants[name]();

const rates = new Map<Variant, number[]>(names.map((n) => [n, []]));
for (let round = 0; round < rounds; round++) {
  for (let i = 0; i < names.length; i++) {
    const name = names[(i + round) % names.length] as Variant;
    const started = process.hrtime.bigint();
    await variants[name]();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    rates.get(name)?.push(records / seconds);
  }
}

const med = (name: Variant) => median(rates.get(name) ?? []);
console.log(
  `\nrecords formatted per second, ${records} records x ${rounds} rounds, medians (node ${process.version})\n`,
);
console.log('| variant | records/s | vs aws-embedded-metrics |');
console.log('|---|---:|---:|');
for (const name of names)
  console.log(`| ${name} | ${fixed(med(name), 0)} | ${fixed(med(name) / med('aws-emf'), 1)}x |`);
