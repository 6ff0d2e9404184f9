/**
 * The trace of a busy `service run` stays small (issue 9: ≤ 4 bytes per event gzipped) and says
 * the same as the wide events: every request once, with its id, path, status and duration.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { dial9Env } from '../../../bench/lib/dial9-env.js';
import { eventRows } from '../../../src/profile/format/index.js';
import { type MetricLine, readRotated } from '../../helpers/ndjson.js';
import { runCli, startService, stopAll } from '../../helpers/service-process.js';
import { ROOT, readSegments, tempDir } from '../trace-files.js';

const dirs: string[] = [];
after(async () => {
  await stopAll();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('trace size under load', () => {
  it('a GET load trace with dial9.env settings: under 4 B/event gzipped, every wide event in it', async () => {
    const traceDir = tempDir('dial9-size');
    const telemetryDir = tempDir('dial9-size-telemetry');
    dirs.push(traceDir, telemetryDir);
    const service = await startService(['--telemetry-dir', telemetryDir], {
      ...dial9Env(ROOT),
      DIAL9_ENABLED: 'true',
      DIAL9_TRACE_DIR: traceDir,
    });
    const put = await fetch(`${service.url}/items/size`, { method: 'PUT', body: 'x'.repeat(64) });
    assert.equal(put.status, 204);
    // A fixed count, not a duration: on a crowded machine 3 s may hold few requests, and then the
    // header (~2 KB gzipped, the schema) weighs on the average.
    const load = await runCli(['load', `${service.url}/items/size`, '-c', '20', '-n', '10000', '--json'], {}, 120_000);
    assert.equal(load.code, 0, load.stderr);
    assert.equal(await service.stop('SIGTERM'), 0);

    const segments = readSegments(traceDir);
    assert.ok(segments.length >= 1);
    assert.ok(segments.every((s) => s.name.endsWith('.bin.gz') && !s.segment.truncated));
    const events = segments.reduce((n, s) => n + s.segment.blocks.reduce((m, b) => m + b.events, 0), 0);
    const gzBytes = segments.reduce((n, s) => n + s.bytes, 0);
    const opened = segments.flatMap((s) => eventRows(s.segment, 'requestOpen'));
    const closed = segments.flatMap((s) => eventRows(s.segment, 'requestClose'));

    const records = readRotated<MetricLine>(telemetryDir, 'metrics.log').filter(
      (r) => r.properties?.RequestId !== undefined,
    );
    assert.equal(records.length, 10_001, 'the PUT and the load');
    assert.equal(opened.length, records.length, 'one requestOpen per wide event');
    assert.equal(closed.length, records.length, 'one requestClose per wide event');
    const byId = new Map(records.map((r) => [r.properties?.RequestId, r]));
    const seqToId = new Map(opened.map((o) => [o.request, String(o.requestId)]));
    assert.equal(seqToId.size, opened.length, 'request numbers are unique');
    for (const open of opened) {
      const record = byId.get(String(open.requestId));
      assert.ok(record, `wide event for ${open.requestId}`);
      assert.equal(open.path, record.properties?.Path);
      assert.equal(open.method, record.properties?.Operation === 'SetItem' ? 'PUT' : 'GET');
    }
    for (const close of closed) {
      const record = byId.get(seqToId.get(close.request));
      assert.ok(record, `wide event for request ${close.request}`);
      assert.equal(String(close.status), record.properties?.StatusCode);
      const durationUs = Number(record.metrics?.Duration?.value) * 1000;
      assert.ok(Math.abs(Number(close.durationUs) - durationUs) <= 1, `${close.durationUs} vs ${durationUs}`);
    }
    // Format version 1 wrote ~6.2 B/event on this load (fresh ids and request numbers as absolute varints).
    const perEvent = gzBytes / events;
    assert.ok(perEvent < 4, `${perEvent.toFixed(2)} B/event gzipped (${gzBytes} B, ${events} events)`);
  });

  it('request ids come out of the trace as they went in: generated (sent as numbers) or given', async () => {
    const traceDir = tempDir('dial9-ids');
    dirs.push(traceDir);
    const service = await startService([], { DIAL9_ENABLED: 'true', DIAL9_TRACE_DIR: traceDir });
    const given = ['client-007', 'abc-5', '12345678901234567890', 'abc-4'];
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${service.url}/items/k${i}`);
      ids.push(String(response.headers.get('x-request-id')));
    }
    // One of ours sent back, then ids the client chose (not numbers to the recorder, or not exactly).
    for (const id of [ids[1] as string, ...given]) {
      const response = await fetch(`${service.url}/items/k`, { headers: { 'x-request-id': id } });
      assert.equal(response.headers.get('x-request-id'), id);
      ids.push(id);
    }
    assert.match(ids[0] as string, /^[0-9a-hjkmnp-tv-z]{13}-[1-9][0-9]*$/);
    assert.equal(await service.stop('SIGTERM'), 0);

    const segment = readSegments(traceDir)[0]?.segment;
    assert.ok(segment);
    const opened = eventRows(segment, 'requestOpen');
    assert.deepEqual(
      opened.map((r) => r.requestId),
      ids,
    );
    assert.deepEqual(
      opened.map((r) => r.path),
      ['/items/k0', '/items/k1', '/items/k2', '/items/k', '/items/k', '/items/k', '/items/k', '/items/k'],
    );
    // Each close names its open's request number, including the id that came twice.
    const closed = eventRows(segment, 'requestClose');
    assert.deepEqual(
      closed.map((r) => r.request),
      opened.map((r) => r.request),
    );
    assert.deepEqual(
      closed.map((r) => r.status),
      [404, 404, 404, 404, 404, 404, 404, 404],
    );
  });
});
