/**
 * The telemetry writer on the main thread when the process records Node trace events (clinic
 * bubbleprof's `--trace-event-categories node.async_hooks`): a second thread emitting trace events
 * races the main thread in Node's trace buffer and, now and then, crashes the process (SIGSEGV).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { WriterThread } from '../../src/writer/writer-thread.js';
import { call } from '../helpers/http.js';
import { isExitRecord, isRequestRecord, type MetricLine, metric, readRotated } from '../helpers/ndjson.js';
import { startService, stopAll } from '../helpers/service-process.js';

interface TraceEvent {
  readonly cat?: string;
  readonly tid?: number;
}

const REQUESTS = 40;

describe('telemetry writer and trace events', () => {
  const root = mkdtempSync(join(tmpdir(), 'service-writer-trace-'));
  after(async () => {
    await stopAll();
    rmSync(root, { recursive: true, force: true });
  });

  test('without trace events the writer has its own thread', async () => {
    const writer = new WriterThread();
    assert.equal(writer.ownThread, true);
    await writer.close();
  });

  test('with node.async_hooks trace events: every event from the main thread, every record written', async () => {
    const telemetry = join(root, 'telemetry');
    // Node's trace writer does not create the directory of its file pattern.
    const traces = join(root, 'traces');
    mkdirSync(traces);
    const service = await startService(['--telemetry-dir', telemetry, '--runtime-metrics-interval-ms', '0'], {
      // What clinic bubbleprof adds (its preloads aside), with the trace file kept out of the checkout.
      NODE_OPTIONS: `--trace-event-categories node.async_hooks --trace-event-file-pattern ${join(traces, 'node_trace.$' + '{rotation}.log')}`,
    });
    const pid = service.child.pid;
    for (let i = 0; i < REQUESTS; i++) assert.equal((await call(`${service.url}/items/k${i}`)).status, 404);
    assert.equal(await service.stop(), 0);

    const records = readRotated<MetricLine>(telemetry, 'metrics.log');
    assert.equal(records.filter(isRequestRecord).length, REQUESTS);
    const [exit] = records.filter(isExitRecord);
    assert.ok(exit, 'the exit record is on disk');
    assert.equal(metric(exit, 'MetricsDropped'), 0);
    const logs = readRotated<{ msg?: string }>(telemetry, 'application.log');
    assert.ok(logs.some((l) => /^telemetry is written from the main thread/.test(l.msg ?? '')));

    const events: TraceEvent[] = [];
    for (const file of readdirSync(traces)) {
      events.push(
        ...(JSON.parse(readFileSync(join(traces, file), 'utf8')) as { traceEvents: TraceEvent[] }).traceEvents,
      );
    }
    const asyncHooks = events.filter((e) => e.cat?.includes('node.async_hooks') === true);
    assert.ok(asyncHooks.length > REQUESTS, `only ${asyncHooks.length} async_hooks events`);
    // On Linux the main thread's id is the process id; a writer thread would add its own.
    assert.deepEqual([...new Set(asyncHooks.map((e) => e.tid))], [pid]);
  });
});
