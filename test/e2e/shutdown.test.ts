/** SIGTERM under load: a clean drain, and the records add up to what the clients completed. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { startLoad } from '../helpers/load.js';
import {
  isExitRecord,
  isRequestRecord,
  isShutdownRecord,
  type MetricLine,
  metric,
  parseLines,
  readRotated,
} from '../helpers/ndjson.js';
import { openSocket, readUntilClose } from '../helpers/raw-http.js';
import { startService, stopAll } from '../helpers/service-process.js';

describe('graceful shutdown', () => {
  const dir = mkdtempSync(join(tmpdir(), 'service-shutdown-'));
  after(async () => {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  test('SIGTERM under load: exit 0, one record per completed request, shutdown and exit records', async () => {
    const service = await startService(['--telemetry-dir', dir, '--runtime-metrics-interval-ms', '500']);
    const load = startLoad(service.url, 16);
    await load.reached(3000);
    const stopping = Date.now();
    const code = await service.stop('SIGTERM');
    const counts = await load.stop();
    const tookMs = Date.now() - stopping;

    assert.equal(code, 0);
    assert.ok(tookMs < 10000, `shutdown took ${tookMs} ms (the drain timeout is 30 s)`);
    const lines = readRotated<MetricLine>(dir, 'metrics.log');
    const requests = lines.filter(isRequestRecord);
    const completed = counts.completed.items + counts.completed.echo;
    assert.ok(completed >= 2700, `only ${completed} requests completed`);
    assert.equal(requests.length, completed, 'records in metrics.log* = non-health requests the clients completed');
    assert.equal(requests.filter((r) => r.properties?.Operation === 'Echo').length, counts.completed.echo);
    assert.equal(new Set(requests.map((r) => r.properties?.RequestId)).size, requests.length, 'request ids are unique');
    assert.ok(!requests.some((r) => r.properties?.Path === '/health'));
    // Everything the clients got back is in the records with the same status.
    const recordedStatuses = new Map<number, number>();
    for (const r of requests) {
      const status = Number(r.properties?.StatusCode);
      recordedStatuses.set(status, (recordedStatuses.get(status) ?? 0) + 1);
    }
    const clientStatuses = new Map(counts.statuses);
    clientStatuses.set(200, (clientStatuses.get(200) ?? 0) - counts.completed.health);
    if (clientStatuses.get(200) === 0) clientStatuses.delete(200);
    assert.deepEqual(recordedStatuses, clientStatuses);

    const shutdown = lines.filter(isShutdownRecord);
    assert.equal(shutdown.length, 1);
    assert.equal(shutdown[0]?.properties?.Reason, 'SIGTERM');
    assert.equal(metric(shutdown[0] ?? { timestamp: 0 }, 'Drained'), 1);
    assert.ok((metric(shutdown[0] ?? { timestamp: 0 }, 'DrainDuration') ?? -1) >= 0);
    assert.equal(shutdown[0]?.metrics?.DrainDuration?.unit, 'Milliseconds');

    const exit = lines.filter(isExitRecord);
    assert.equal(exit.length, 1);
    assert.equal(metric(exit[0] ?? { timestamp: 0 }, 'ExitCode'), 0);
    assert.equal(metric(exit[0] ?? { timestamp: 0 }, 'MetricsDropped'), 0);
    assert.equal(lines.at(-1), exit[0], 'the exit record is the last line');
  });

  test('a request still running at SIGTERM finishes within the drain, and its connection closes', async () => {
    const service = await startService();
    const socket = await openSocket(service.url);
    const reply = readUntilClose(socket, 10000);
    // The body arrives in two parts, the second after SIGTERM: the handler cannot finish before it.
    socket.write('PUT /items/late HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc');
    await new Promise((resolve) => setTimeout(resolve, 100));
    service.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 200));
    socket.write('defghij');
    const raw = await reply;
    assert.match(raw, /^HTTP\/1\.1 204 /);
    assert.match(raw, /connection: close/i);
    assert.equal(await service.stop(), 0);
    const lines = parseLines<MetricLine>(service.stdout());
    const requests = lines.filter(isRequestRecord);
    assert.equal(requests.length, 1);
    assert.equal(requests[0]?.properties?.StatusCode, '204');
    assert.equal(metric(requests[0] ?? { timestamp: 0 }, 'PayloadBytes'), 10);
    const [shutdown] = lines.filter(isShutdownRecord);
    assert.equal(metric(shutdown ?? { timestamp: 0 }, 'Drained'), 1);
    assert.equal(metric(shutdown ?? { timestamp: 0 }, 'InFlight'), 1);
    assert.ok((metric(shutdown ?? { timestamp: 0 }, 'DrainDuration') ?? 0) >= 150);
  });

  test('a request that outlasts the drain timeout is cut, recorded as 503 Aborted, and the exit code is 1', async () => {
    // PUT a body that never completes: the handler cannot finish.
    const service = await startService(['--drain-timeout-ms', '300', '--body-timeout-ms', '60000']);
    const socket = await openSocket(service.url);
    const reply = readUntilClose(socket, 10000);
    socket.write('PUT /items/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const code = await service.stop('SIGTERM');
    await reply;
    assert.equal(code, 1, 'a drain that timed out exits non-zero');
    const lines = parseLines<MetricLine>(service.stdout());
    const [request] = lines.filter(isRequestRecord);
    assert.equal(request?.properties?.StatusCode, '503');
    assert.equal(request?.properties?.ErrorKind, 'Aborted');
    const [shutdown] = lines.filter(isShutdownRecord);
    assert.equal(metric(shutdown ?? { timestamp: 0 }, 'Drained'), 0);
    assert.equal(metric(shutdown ?? { timestamp: 0 }, 'InFlight'), 1);
    const drainMs = metric(shutdown ?? { timestamp: 0 }, 'DrainDuration') ?? 0;
    assert.ok(drainMs >= 290 && drainMs < 5000, `DrainDuration ${drainMs}`);
    assert.equal(metric(lines.filter(isExitRecord)[0] ?? { timestamp: 0 }, 'ExitCode'), 1);
  });

  test('SIGINT drains the same way', async () => {
    const service = await startService();
    const code = await service.stop('SIGINT');
    assert.equal(code, 0);
    const [shutdown] = parseLines<MetricLine>(service.stdout()).filter(isShutdownRecord);
    assert.equal(shutdown?.properties?.Reason, 'SIGINT');
  });
});
