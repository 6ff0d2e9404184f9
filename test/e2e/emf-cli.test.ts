/** `service run --metrics-format emf` as a user runs it: a whole life in valid EMF, and sampling with an archive. */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { assertValidEmf } from '../helpers/emf-validator.js';
import { call } from '../helpers/http.js';
import { readRotated } from '../helpers/ndjson.js';
import { startService, stopAll } from '../helpers/service-process.js';

/** The lines of `prefix` and its rotations exactly as written. */
function rawLines(dir: string, prefix: string): string[] {
  return readdirSync(dir)
    .filter((name) => name === prefix || name.startsWith(`${prefix}.`))
    .flatMap((name) => readFileSync(join(dir, name), 'utf8').split('\n'))
    .filter((line) => line !== '');
}

type EmfLine = Record<string, unknown> & {
  _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][] }> };
};

describe('service run --metrics-format emf', () => {
  const root = mkdtempSync(join(tmpdir(), 'service-emf-'));
  after(async () => {
    await stopAll();
    rmSync(root, { recursive: true, force: true });
  });

  test('every record of a run (requests, runtime, shutdown, exit) is valid EMF; strict refuses none', async () => {
    const dir = join(root, 'life');
    const service = await startService([
      '--metrics-format',
      'emf',
      '--emf-namespace',
      'Items/Service',
      '--emf-dimensions',
      'Operation;Operation,StatusCode;service_name',
      '--emf-log-group',
      'items-metrics',
      '--telemetry-dir',
      dir,
      '--runtime-metrics-interval-ms',
      '200',
    ]);
    await call(`${service.url}/items/a`, { method: 'PUT', body: 'v' });
    await call(`${service.url}/items/a`);
    await call(`${service.url}/items/none`);
    await call(`${service.url}/echo`, { method: 'POST', body: '{', headers: { 'content-type': 'application/json' } });
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(await service.stop(), 0);

    const lines = readRotated<EmfLine>(dir, 'metrics.log');
    // Validate the bytes as written, not a re-serialization of them.
    for (const line of rawLines(dir, 'metrics.log')) assertValidEmf(line);
    const requests = lines.filter((l) => l.Operation !== undefined);
    assert.equal(requests.length, 4);
    assert.ok(lines.filter((l) => l.HeapUsed !== undefined).length >= 1, 'runtime records');
    assert.equal(lines.filter((l) => l.Reason === 'SIGTERM').length, 1);
    const exit = lines.find((l) => l.ExitCode !== undefined);
    assert.equal(exit?.MetricsInvalid, 0);
    assert.equal(exit?.MetricsDropped, 0);
    assert.deepEqual(requests[0]?._aws.CloudWatchMetrics[0]?.Dimensions, [
      ['Operation'],
      ['Operation', 'StatusCode'],
      ['service_name'],
    ]);
    assert.deepEqual(exit?._aws.CloudWatchMetrics[0]?.Dimensions, [['service_name']]);
    assert.ok(lines.every((l) => l._aws.CloudWatchMetrics[0]?.Namespace === 'Items/Service'));
    assert.ok(lines.every((l) => (l._aws as Record<string, unknown>).LogGroupName === 'items-metrics'));
  });

  test('--metrics-sample-rate 0.5 with an archive: counts add up and weights keep sums unbiased', async () => {
    const dir = join(root, 'sampled');
    const archiveDir = join(root, 'archive');
    const service = await startService([
      '--metrics-format',
      'emf',
      '--metrics-sample-rate',
      '0.5',
      '--metrics-archive-dir',
      archiveDir,
      '--telemetry-dir',
      dir,
      '--runtime-metrics-interval-ms',
      '0',
    ]);
    const total = 400;
    for (let i = 0; i < total; i++) await call(`${service.url}/items/k`, { method: 'PUT', body: 'v' });
    assert.equal(await service.stop(), 0);

    const kept = readRotated<EmfLine>(dir, 'metrics.log');
    for (const line of rawLines(dir, 'metrics.log')) assertValidEmf(line);
    const keptRequests = kept.filter((l) => l.Operation !== undefined);
    for (const r of keptRequests) assert.deepEqual(r.Duration && (r.Duration as { Counts: number[] }).Counts, [2]);
    const exit = kept.find((l) => l.ExitCode !== undefined);
    assert.equal(
      keptRequests.length + (exit?.MetricsSampledOut as number),
      total,
      'kept + sampled out = requests served',
    );
    const estimated = keptRequests.length * 2;
    assert.ok(Math.abs(estimated - total) < 100, `weighted count ${estimated} for ${total} requests`);
    assert.ok(exit !== undefined && kept.some((l) => l.Reason === 'SIGTERM'), 'lifecycle records are never sampled');

    const archived = readRotated<EmfLine>(archiveDir, 'metrics-archive.log');
    assert.equal(archived.filter((l) => l.Operation !== undefined).length, total, 'the archive keeps every record');
    const archivedRequests = archived.filter((l) => l.Operation !== undefined);
    assert.ok(
      archivedRequests.every((l) => typeof l.Success === 'number'),
      'archived records are not weighted',
    );
  });
});
