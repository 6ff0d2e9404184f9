/**
 * A consumer that stops reading stdout (a stuck log shipper): the service keeps answering at
 * full speed, memory stays bounded by --telemetry-buffer-bytes, and the lines it had to drop are
 * counted, so records written + dropped = requests served.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { startLoad } from '../helpers/load.js';
import { isExitRecord, isRequestRecord, type MetricLine, metric, parseLines } from '../helpers/ndjson.js';
import { startService, stopAll } from '../helpers/service-process.js';

describe('a stuck stdout consumer', () => {
  after(stopAll);

  test('costs counted lines, not latency', async () => {
    const service = await startService([
      '--telemetry-buffer-bytes',
      String(1024 * 1024),
      '--runtime-metrics-interval-ms',
      '0',
    ]);
    service.pauseStdout();
    const load = startLoad(service.url, 16);
    const started = Date.now();
    // ~400 bytes a record: 8000 records are far more than the pipe plus a 1 MiB buffer hold.
    await load.reached(9000);
    const tookMs = Date.now() - started;
    const counts = await load.stop();
    service.resumeStdout();

    assert.equal(counts.failed, 0);
    assert.ok(tookMs < 30000, `9000 requests took ${tookMs} ms with stdout stuck`);
    assert.equal(await service.stop(), 0);

    const lines = parseLines<MetricLine>(service.stdout());
    const requests = lines.filter(isRequestRecord);
    const [exit] = lines.filter(isExitRecord);
    assert.ok(exit, 'the exit record arrives once the consumer reads again');
    const dropped = metric(exit, 'MetricsDropped') ?? -1;
    const served = counts.completed.items + counts.completed.echo;
    assert.ok(dropped > 0, 'a stuck consumer makes the writer drop');
    assert.ok(requests.length > 0);
    assert.equal(requests.length + dropped, served);
    const warning = parseLines<{ msg?: string; metricsDropped?: number }>(service.stderr()).find(
      (l) => l.msg === 'some telemetry was lost during this run',
    );
    assert.equal(warning?.metricsDropped, dropped);
  });
});
