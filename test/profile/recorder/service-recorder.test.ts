/** `service run` with the flight recorder: lenient DIAL9_* config, the start-up line, sealing on SIGTERM. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { analyzeTracePath } from '../../../src/profile/analyze/load-node.js';
import { exportTrace } from '../../../src/profile/export/export-node.js';
import { eventRows } from '../../../src/profile/format/index.js';
import { getItems } from '../../helpers/http.js';
import { type MetricLine, parseLines } from '../../helpers/ndjson.js';
import { startService, stopAll } from '../../helpers/service-process.js';
import { waitFor } from '../../helpers/wait.js';
import { processDirs, readSegments, tempDir } from '../trace-files.js';

interface Line {
  readonly level?: string;
  readonly target?: string;
  readonly msg?: string;
  readonly _aws?: unknown;
  readonly [key: string]: unknown;
}

const dirs: string[] = [];
after(async () => {
  await stopAll();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A PUT whose client gives up `afterMs` after sending its headers (the service records a 499). */
function abandonedPutTo(url: string, key: string, afterMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const request = http.request(`${url}/items/${key}`, {
      method: 'PUT',
      agent: false,
      headers: { 'content-length': '4' },
    });
    request.on('error', () => resolve());
    request.flushHeaders();
    setTimeout(() => {
      request.destroy();
      resolve();
    }, afterMs);
  });
}

/** A PUT whose body arrives `delayMs` after its headers: the service sees a request that long. */
function slowPutTo(url: string, key: string, delayMs: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const request = http.request(
      `${url}/items/${key}`,
      { method: 'PUT', agent: false, headers: { 'content-length': '4' } },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      },
    );
    request.on('error', reject);
    request.flushHeaders();
    setTimeout(() => request.end('slow'), delayMs);
  });
}

describe('service run with DIAL9_* variables', () => {
  it('warns about bad values, serves, records its requests and seals the segment on SIGTERM', async () => {
    const dir = tempDir('dial9-service');
    dirs.push(dir);
    const service = await startService(['--runtime-metrics-interval-ms', '300'], {
      DIAL9_ENABLED: 'true',
      DIAL9_TRACE_DIR: dir,
      DIAL9_ROTATION_SECS: 'hourly',
      DIAL9_CPU_SAMPLE_HZ: 'fast',
      DIAL9_SCHEDULE_PROFILE_ENABLED: 'true',
    });
    const put = await fetch(`${service.url}/items/alpha`, { method: 'PUT', body: 'value' });
    assert.equal(put.status, 204);
    const get = await fetch(`${service.url}/items/alpha`);
    assert.equal(get.status, 200);
    assert.equal(await get.text(), 'value');

    const runtime = await waitFor('a RuntimeMetrics record with the recorder fields', () =>
      parseLines<MetricLine>(service.stdout()).find((r) => r.metrics?.LoopIterations !== undefined),
    );
    const m = runtime.metrics ?? {};
    assert.ok(Number(m.LoopIterations?.value) > 0);
    // The event-loop delay comes from the recorder's watch timer (no timer of the record's own).
    assert.ok(Number(m.EventLoopDelayMax?.value) >= Number(m.EventLoopDelayMin?.value), JSON.stringify(m));
    assert.equal(typeof m.LongCallbacks?.value, 'number');
    assert.equal(m.RecorderEventsDropped?.value, 0);
    assert.equal(m.EventLoopIdle?.unit, 'Percent');
    assert.ok(Number(m.EventLoopIdle?.value) >= 0 && Number(m.EventLoopIdle?.value) <= 100);
    assert.equal(m.CallbacksRun, undefined, 'only with per-callback tracking');

    assert.equal(await service.stop('SIGTERM'), 0);
    const lines = parseLines<Line>(service.stderr()).filter((l) => l.target === 'service:recorder');
    const warnings = lines.filter((l) => l.level === 'warn').map((l) => l.msg);
    assert.deepEqual(warnings, [
      'DIAL9_ROTATION_SECS="hourly" is not valid (allowed: a number from 0.1 to 604800); treated as unset',
      'DIAL9_CPU_SAMPLE_HZ="fast" is not valid (allowed: an integer from 1 to 10000); treated as unset',
    ]);
    const startup = lines.filter((l) => l.level === 'info');
    assert.equal(startup.length, 1, 'one start-up line');
    assert.match(String(startup[0]?.msg), /^flight recorder on: stalls over 20 ms, event loop, GC, HTTP in and out/);
    assert.match(String(startup[0]?.msg), /segments of 60 s/);
    assert.match(String(startup[0]?.msg), /off: .*cpuSamples \(DIAL9_CPU_PROFILE_ENABLED is not true/);
    assert.match(String(startup[0]?.msg), /DIAL9_SCHEDULE_PROFILE_ENABLED \(Node has no kernel off-CPU stacks/);

    const [processDir] = processDirs(dir);
    assert.ok(processDir);
    assert.deepEqual(readdirSync(processDir), ['trace.0.bin.gz']);
    const segment = readSegments(dir)[0]?.segment;
    assert.ok(segment);
    assert.equal(segment.truncated, false);
    assert.equal(segment.header.recording.summary, startup[0]?.msg);
    // The service's own lifecycle channel when its middleware publishes there, node:http's otherwise.
    const opened = eventRows(segment, 'requestOpen');
    const served =
      opened.length > 0
        ? opened.map((r) => `${r.method} ${r.path}`)
        : eventRows(segment, 'httpInStart').map((r) => `${r.method} ${r.url}`);
    assert.deepEqual(served, ['PUT /items/alpha', 'GET /items/alpha']);
    const statuses =
      opened.length > 0
        ? eventRows(segment, 'requestClose').map((r) => r.status)
        : eventRows(segment, 'httpInEnd').map((r) => r.status);
    assert.deepEqual(statuses, [204, 200]);
    // Every request once: node:http's own server events, if any, come in matched pairs.
    const httpInStarts = eventRows(segment, 'httpInStart').length;
    const httpInEnds = eventRows(segment, 'httpInEnd').length;
    assert.equal(httpInStarts, httpInEnds, `httpInStart/httpInEnd: ${httpInStarts}/${httpInEnds}`);
    assert.equal(opened.length + httpInStarts, 2, 'each request served recorded once');
  });

  it('fires the request-p99 trigger on slow requests and keeps their segments past eviction under a tiny budget', async () => {
    const dir = tempDir('dial9-p99');
    dirs.push(dir);
    const service = await startService([], {
      DIAL9_ENABLED: 'true',
      DIAL9_TRACE_DIR: dir,
      DIAL9_TRIGGER_REQUEST_P99_MS: '150',
      DIAL9_ROTATION_SECS: '0.5',
      DIAL9_MAX_DISK_USAGE_MB: '0.05',
      DIAL9_MAX_FILE_SIZE_MB: '0.008',
      // Each 200 ms block passes the 8 KB cap (the header alone is ~6 KB before gzip), so a segment
      // holds 200 ms and the budget ~16 of them (~3 KB gzipped each): ~3 s of history, enough for the
      // 1 s p99 check to pin the incident before eviction reaches it, and still a fraction of the ~40
      // segments the test writes. At 0.025 MB (~1.6 s) the check lost that race about one run in
      // four. No idle periods: up to ~200 a second while 50 uploads trickle in would add bytes.
      DIAL9_PARK_ENABLED: 'false',
    });
    const fast = async (ms: number) => {
      const end = Date.now() + ms;
      while (Date.now() < end) assert.equal((await fetch(`${service.url}/health`)).status, 200);
    };
    const slowPut = (key: string, delayMs: number) => slowPutTo(service.url, key, delayMs);
    await fast(1500);
    const statuses = await Promise.all(Array.from({ length: 50 }, (_, i) => slowPut(`slow-${i}`, 400)));
    assert.deepEqual(new Set(statuses), new Set([204]));
    await fast(6000);
    assert.equal(await service.stop('SIGTERM'), 0);

    const warnings = parseLines<Line>(service.stderr()).filter(
      (l) => l.target === 'service:recorder' && l.level === 'warn',
    );
    assert.equal(warnings.length, 1, service.stderr());
    assert.match(String(warnings[0]?.msg), /^flight recorder trigger: request p99 \d+\.\d ms over 150 ms/);
    const files = readSegments(dir);
    const index = (name: string) => Number(/^trace\.(\d+)/.exec(name)?.[1]);
    const pinned = files.filter((f) => f.name.includes('.pinned.'));
    assert.ok(pinned.length >= 2, files.map((f) => f.name).join(' '));
    assert.notEqual(
      files[0]?.name,
      'trace.0.bin.gz',
      `old unpinned segments were evicted: ${files.map((f) => `${f.name} ${f.bytes}`).join(', ')}`,
    );
    assert.ok(index(files.at(-1)?.name ?? '') > index(pinned.at(-1)?.name ?? '') + 1, 'later segments were written');
    const triggers = files.flatMap((f) => eventRows(f.segment, 'trigger'));
    assert.equal(triggers.length, 1);
    assert.equal(triggers[0]?.reason, 'request p99');
    assert.equal(triggers[0]?.thresholdUs, 150_000);
    // Server-side durations are the 400 ms delay less the client's connection set-up.
    assert.ok(Number(triggers[0]?.valueUs) > 150_000, `p99 ${triggers[0]?.valueUs} µs`);
    assert.ok(pinned.some((f) => eventRows(f.segment, 'trigger').length === 1));
    // The incident itself: the slow requests, with their durations, are in the pinned segments.
    const slow = pinned
      .flatMap((f) => eventRows(f.segment, 'requestClose'))
      .filter((r) => Number(r.durationUs) > 150_000 && r.status === 204);
    assert.ok(
      slow.length >= 40,
      `${slow.length} slow requests in the pinned segments: ${JSON.stringify(
        files.map((f) => [
          f.name,
          eventRows(f.segment, 'requestClose')
            .filter((r) => r.status === 204)
            .map((r) => Math.round(Number(r.durationUs) / 1000)),
        ]),
      )}`,
    );
  });

  it('fires the request-p99 trigger at low traffic too: three slow requests, no others', async () => {
    const dir = tempDir('dial9-p99-quiet');
    dirs.push(dir);
    const service = await startService([], {
      DIAL9_ENABLED: 'true',
      DIAL9_TRACE_DIR: dir,
      DIAL9_TRIGGER_REQUEST_P99_MS: '150',
    });
    const statuses = await Promise.all(['q1', 'q2', 'q3'].map((key) => slowPutTo(service.url, key, 400)));
    assert.deepEqual(statuses, [204, 204, 204]);
    // Fewer than 20 requests: the p99 is taken once 10 s have passed since the durations began.
    const warning = await waitFor(
      'the trigger warning',
      () =>
        parseLines<Line>(service.stderr()).find(
          (l) => l.target === 'service:recorder' && l.level === 'warn' && String(l.msg).includes('trigger'),
        ),
      30_000,
    ).catch((err) => assert.fail(`${err}\n${service.stderr()}`));
    assert.match(String(warning.msg), /^flight recorder trigger: request p99 \d+\.\d ms over 150 ms/);
    assert.equal(await service.stop('SIGTERM'), 0);
    const files = readSegments(dir);
    const triggers = files.flatMap((f) => eventRows(f.segment, 'trigger'));
    assert.equal(triggers.length, 1);
    assert.ok(Number(triggers[0]?.valueUs) > 150_000, `p99 ${triggers[0]?.valueUs} µs`);
    const pinned = files.filter((f) => f.name.includes('.pinned.'));
    const slow = pinned.flatMap((f) => eventRows(f.segment, 'requestClose')).filter((r) => r.status === 204);
    assert.equal(slow.length, 3, files.map((f) => f.name).join(' '));
  });

  it('past DIAL9_REQUEST_EVENTS_PER_SEC counts fast requests, writes slow and failed ones, and the counts add up', async () => {
    const dir = tempDir('dial9-sampled');
    dirs.push(dir);
    const service = await startService([], {
      DIAL9_ENABLED: 'true',
      DIAL9_TRACE_DIR: dir,
      DIAL9_REQUEST_EVENTS_PER_SEC: '2',
      DIAL9_STALL_THRESHOLD_MS: '100',
    });
    assert.equal((await fetch(`${service.url}/items/k`, { method: 'PUT', body: 'v' })).status, 204);
    const slow = slowPutTo(service.url, 'slow', 300);
    await getItems(service.url, 400, 2);
    assert.equal(await slow, 204);
    await abandonedPutTo(service.url, 'gone', 30);
    const wide = await waitFor("the abandoned request's wide event", () => {
      const lines = parseLines<MetricLine>(service.stdout()).filter((l) => l.properties?.Operation !== undefined);
      return lines.some((l) => l.properties?.StatusCode === '499') ? lines : undefined;
    });
    assert.equal(await service.stop('SIGTERM'), 0);
    assert.equal(wide.length, 403);

    const segments = readSegments(dir).map((f) => f.segment);
    const opens = segments.flatMap((s) => eventRows(s, 'requestOpen'));
    const closes = segments.flatMap((s) => eventRows(s, 'requestClose'));
    const skipped = segments.flatMap((s) => eventRows(s, 'requestsSkipped'));
    const counted = skipped.reduce((sum, r) => sum + Number(r.count), 0);
    // Every request served is either written (opening and close) or counted, never both, never lost.
    assert.equal(opens.length, closes.length);
    assert.equal(opens.length + counted, wide.length, `${opens.length} written, ${counted} counted`);
    // At 2 a second, most of the 400 quick GETs are counted (each tick still writes the two in flight).
    assert.ok(counted >= 200, `${counted} counted`);
    const ids = new Set(opens.map((r) => r.requestId));
    assert.equal(ids.size, opens.length);
    for (const id of ids)
      assert.ok(
        wide.some((l) => l.properties?.RequestId === id),
        `${id} is a request served`,
      );
    // The slow request and the one its client gave up on are written whatever the rate.
    const statusOf = (id: unknown) => closes.find((c) => c.request === opens.find((o) => o.requestId === id)?.request);
    const slowId = wide.find((l) => l.properties?.Path === '/items/slow')?.properties?.RequestId;
    assert.ok(Number(statusOf(slowId)?.durationUs) >= 250_000, JSON.stringify(statusOf(slowId)));
    const goneId = wide.find((l) => l.properties?.StatusCode === '499')?.properties?.RequestId;
    assert.equal(statusOf(goneId)?.status, 499);
    // Counted requests are all fast; their 404s are counted too.
    for (const r of skipped) assert.ok(Number(r.maxDurationUs) < 100_000, JSON.stringify(r));
    const notFound = wide.filter((l) => l.properties?.StatusCode === '404').length;
    const writtenNotFound = closes.filter((c) => c.status === 404).length;
    assert.equal(skipped.reduce((sum, r) => sum + Number(r.errors), 0) + writtenNotFound, notFound);

    const { report } = await analyzeTracePath(dir);
    assert.equal(report.trace.requests, wide.length);
    assert.equal(report.trace.requestsCounted, counted);
    // The export gives them as a counter beside the request tracks.
    const output = join(dir, 'export.trace.json');
    await exportTrace({ path: dir, format: 'chrome', output });
    const exported = JSON.parse(readFileSync(output, 'utf8')) as {
      traceEvents: { ph: string; name: string; args?: { requests?: number } }[];
    };
    const countedInExport = exported.traceEvents
      .filter((e) => e.ph === 'C' && e.name === 'requests only counted (fast, successful)')
      .reduce((sum, e) => sum + Number(e.args?.requests), 0);
    assert.equal(countedInExport, counted);
  });

  it('without DIAL9_REQUEST_EVENTS_PER_SEC (or at 0) writes every request', async () => {
    const dir = tempDir('dial9-every');
    dirs.push(dir);
    const service = await startService([], {
      DIAL9_ENABLED: 'true',
      DIAL9_TRACE_DIR: dir,
    });
    assert.equal((await fetch(`${service.url}/items/k`, { method: 'PUT', body: 'v' })).status, 204);
    await getItems(service.url, 300, 2);
    assert.equal(await service.stop('SIGTERM'), 0);
    const segments = readSegments(dir).map((f) => f.segment);
    assert.equal(segments.flatMap((s) => eventRows(s, 'requestOpen')).length, 301);
    assert.equal(segments.flatMap((s) => eventRows(s, 'requestClose')).length, 301);
    assert.equal(segments.flatMap((s) => eventRows(s, 'requestsSkipped')).length, 0);
  });

  it('without DIAL9_ENABLED: no recorder line, no trace, the runtime record as before', async () => {
    const dir = tempDir('dial9-off');
    dirs.push(dir);
    const service = await startService(['--runtime-metrics-interval-ms', '200'], { DIAL9_TRACE_DIR: dir });
    assert.equal((await fetch(`${service.url}/items/x`)).status, 404);
    const runtime = await waitFor('a RuntimeMetrics record', () =>
      parseLines<MetricLine>(service.stdout()).find((r) => r.metrics?.EventLoopUtilization !== undefined),
    );
    assert.equal(runtime.metrics?.LoopIterations, undefined);
    assert.equal(await service.stop('SIGTERM'), 0);
    // A setting without the switch: one warning that the recorder is off, nothing recorded.
    const recorderLines = parseLines<Line>(service.stderr()).filter((l) => l.target === 'service:recorder');
    assert.deepEqual(
      recorderLines.map((l) => [l.level, l.msg]),
      [
        [
          'warn',
          'DIAL9_TRACE_DIR is set but DIAL9_ENABLED is not: the flight recorder is off (set DIAL9_ENABLED=true to record)',
        ],
      ],
    );
    assert.deepEqual(readdirSync(dir), []);
  });
});
