import assert from 'node:assert/strict';
import { createHistogram, performance } from 'node:perf_hooks';
import { describe, test } from 'node:test';
import { JsonFormatter, MemorySink, RecordEmitter } from '../../src/record/index.js';
import { RuntimeSampler } from '../../src/runtime/runtime-metrics.js';
import type { TelemetryStats } from '../../src/telemetry.js';
import { type MetricLine, metric } from '../helpers/ndjson.js';
import { waitFor } from '../helpers/wait.js';

const stats = (
  metricsDropped: number,
  logsDropped: number,
  writeErrors: number,
  metricsInvalid = 0,
): TelemetryStats => ({
  metricsEmitted: 0,
  metricsInvalid,
  metricsSampledOut: 0,
  archiveDropped: 0,
  metricsDropped,
  logsDropped,
  writeErrors,
});

describe('runtime record', () => {
  test('reports the event loop, heap, handles, GC and telemetry losses per interval', async () => {
    const sink = new MemorySink();
    const emitter = new RecordEmitter(new JsonFormatter({ globals: { service_name: 'rt' } }), sink);
    let current = stats(3, 1, 1, 2);
    const sampler = new RuntimeSampler({ sink: emitter, intervalMs: 60000, telemetryStats: () => current }).start();
    try {
      // Block the loop for ~60 ms and churn the young generation so both show up.
      await new Promise((resolve) => setTimeout(resolve, 30));
      const until = Date.now() + 60;
      while (Date.now() < until) {}
      let keep: unknown[] = [];
      for (let i = 0; i < 200000; i++) keep.push({ i });
      keep = [];
      await new Promise((resolve) => setTimeout(resolve, 50));
      current = stats(10, 1, 2, 5);
      sampler.emit();
      current = stats(10, 4, 2, 5);
      sampler.emit();
    } finally {
      sampler.stop();
    }
    const [first, second] = sink.records<MetricLine>();
    assert.ok(first && second);
    assert.equal(first.properties?.service_name, 'rt');
    const units: Record<string, string> = {
      EventLoopDelayMin: 'Milliseconds',
      EventLoopDelayP50: 'Milliseconds',
      EventLoopDelayP99: 'Milliseconds',
      EventLoopDelayMax: 'Milliseconds',
      EventLoopUtilization: 'Percent',
      HeapUsed: 'Bytes',
      HeapTotal: 'Bytes',
      Rss: 'Bytes',
      ActiveHandles: 'Count',
      ActiveRequests: 'Count',
      GcCount: 'Count',
      GcPauseDuration: 'Milliseconds',
      MetricsDropped: 'Count',
      MetricsInvalid: 'Count',
      LogsDropped: 'Count',
      TelemetryWriteErrors: 'Count',
    };
    for (const [name, unit] of Object.entries(units)) assert.equal(first.metrics?.[name]?.unit, unit, name);
    assert.ok((metric(first, 'EventLoopDelayMax') ?? 0) >= 40, `max delay ${metric(first, 'EventLoopDelayMax')} ms`);
    assert.ok((metric(first, 'EventLoopDelayMin') ?? -1) >= 0);
    const utilization = metric(first, 'EventLoopUtilization') ?? -1;
    assert.ok(utilization > 0 && utilization <= 100, `utilization ${utilization}`);
    assert.ok((metric(first, 'HeapUsed') ?? 0) > 1e6);
    assert.ok((metric(first, 'Rss') ?? 0) >= (metric(first, 'HeapTotal') ?? 0));
    assert.ok((metric(first, 'GcCount') ?? 0) >= 1, 'allocating 200k objects triggers a scavenge');
    assert.ok((metric(first, 'GcPauseDuration') ?? 0) > 0);
    assert.deepEqual(
      [
        metric(first, 'MetricsDropped'),
        metric(first, 'MetricsInvalid'),
        metric(first, 'LogsDropped'),
        metric(first, 'TelemetryWriteErrors'),
      ],
      [7, 3, 0, 1],
      'the first interval reports the change since the sampler started',
    );
    assert.deepEqual(
      [
        metric(second, 'MetricsDropped'),
        metric(second, 'MetricsInvalid'),
        metric(second, 'LogsDropped'),
        metric(second, 'GcCount'),
      ],
      [0, 0, 3, 0],
    );
  });

  test("with the flight recorder on: its watch timer's delays, not a second timer, and the fields it measures", () => {
    const sink = new MemorySink();
    const emitter = new RecordEmitter(new JsonFormatter(), sink);
    const histogram = createHistogram();
    let totals = { eventsRecorded: 0, eventsDropped: 0, stalls: 0, loopIterations: 0, callbacksRun: undefined };
    const recorder = {
      stats: () => ({ ...totals, diskBytes: 0, segmentsEvicted: 0 }),
      takeCallbackP99Ms: () => undefined,
      loopDelays: { histogram, periodMs: 10 },
    };
    histogram.record(1e6); // before the sampler started: not its interval's
    const sampler = new RuntimeSampler({
      sink: emitter,
      intervalMs: 60000,
      telemetryStats: () => stats(0, 0, 0),
      recorder,
    });
    sampler.start();
    try {
      // Firings 12 ms, 10 ms and 75 ms apart: 2, 0 and 65 ms late.
      for (const ns of [12e6, 10e6, 75e6]) histogram.record(ns);
      totals = { ...totals, stalls: 1, loopIterations: 40, eventsDropped: 3 };
      sampler.emit();
      sampler.emit();
    } finally {
      sampler.stop();
    }
    const [first, second] = sink.records<MetricLine>();
    assert.ok(first && second);
    assert.equal(metric(first, 'EventLoopDelayMin'), 0);
    assert.ok(
      Math.abs((metric(first, 'EventLoopDelayMax') ?? 0) - 65) < 0.1,
      String(metric(first, 'EventLoopDelayMax')),
    );
    assert.deepEqual(
      [metric(first, 'LongCallbacks'), metric(first, 'LoopIterations'), metric(first, 'RecorderEventsDropped')],
      [1, 40, 3],
    );
    // Emitting resets the histogram: nothing recorded since, no delay.
    assert.equal(metric(second, 'EventLoopDelayMax'), 0);
    assert.equal(histogram.count, 0);
  });

  test('emits on its interval', async () => {
    const sink = new MemorySink();
    const emitter = new RecordEmitter(new JsonFormatter(), sink);
    const started = performance.now();
    const sampler = new RuntimeSampler({ sink: emitter, intervalMs: 40, telemetryStats: () => stats(0, 0, 0) }).start();
    // A busy machine fires timers late, never early: wait for three records, then check they took
    // at least three intervals (none comes ahead of its time), however long the machine made them take.
    await waitFor('three runtime records', () => (sink.entries.length >= 3 ? true : undefined), 10000);
    const tookMs = performance.now() - started;
    sampler.stop();
    const count = sink.entries.length;
    assert.ok(tookMs >= 115, `${count} records after ${tookMs} ms at a 40 ms interval`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(sink.entries.length, count, 'nothing after stop()');
  });

  test('an interval of 0 turns the record (and its measuring) off', async () => {
    const sink = new MemorySink();
    const sampler = new RuntimeSampler({
      sink: new RecordEmitter(new JsonFormatter(), sink),
      intervalMs: 0,
      telemetryStats: () => stats(0, 0, 0),
    }).start();
    await new Promise((resolve) => setTimeout(resolve, 100));
    sampler.stop();
    assert.deepEqual(sink.entries, []);
  });
});
