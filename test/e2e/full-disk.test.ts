/**
 * A full disk under the telemetry directory (a tiny tmpfs mounted by the test): the service keeps
 * answering, lost lines are counted, writing resumes when space comes back, and the counts add up.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { call } from '../helpers/http.js';
import {
  isExitRecord,
  isRequestRecord,
  isShutdownRecord,
  type MetricLine,
  metric,
  parseLines,
  readRotated,
} from '../helpers/ndjson.js';
import { startService, stopAll } from '../helpers/service-process.js';
import { waitFor } from '../helpers/wait.js';

/** Mounts a small tmpfs, or says why it cannot. */
function mountTmpfs(dir: string, size: string): string | undefined {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return `cannot mount a tmpfs here (${(err as Error).message.split('\n')[0]}); run the suite as root to cover a full disk`;
  }
}

/** Writes zeros into `file` until the file system refuses. */
function fillDisk(file: string): void {
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) writeFileSync(file, chunk, { flag: 'a' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  }
  // Top off the last partial chunk so not even a few bytes are left.
  for (let size = 32 * 1024; size >= 1; size = Math.floor(size / 2)) {
    try {
      for (;;) writeFileSync(file, Buffer.alloc(size), { flag: 'a' });
    } catch {}
  }
}

// Mounting needs root (CI runs as root); elsewhere the test is reported as skipped, with the reason.
const mountPoint = mkdtempSync(join(tmpdir(), 'service-tmpfs-'));
const skipReason = mountTmpfs(mountPoint, '1m');
if (skipReason !== undefined) {
  rmSync(mountPoint, { recursive: true, force: true });
  console.log(`# full-disk test not run: ${skipReason}`);
}

describe('a full disk', { skip: skipReason }, () => {
  after(async () => {
    await stopAll();
    try {
      execFileSync('umount', [mountPoint], { stdio: 'ignore' });
    } catch {}
    rmSync(mountPoint, { recursive: true, force: true });
  });

  test('keeps answering, counts what it drops, resumes, and the counts add up', async () => {
    const dir = join(mountPoint, 'telemetry');
    const service = await startService(['--telemetry-dir', dir, '--runtime-metrics-interval-ms', '0']);
    const filler = join(mountPoint, 'filler');

    // Some records while there is room.
    for (let i = 0; i < 20; i++)
      assert.equal((await call(`${service.url}/items/a`, { method: 'PUT', body: 'x' })).status, 204);
    await waitFor('the first records on disk', () =>
      readRotated<MetricLine>(dir, 'metrics.log').filter(isRequestRecord).length === 20 ? true : undefined,
    );

    fillDisk(filler);
    const fullStarted = Date.now();
    let slowestMs = 0;
    for (let i = 0; i < 300; i++) {
      const started = Date.now();
      const res = await call(`${service.url}/items/a`);
      slowestMs = Math.max(slowestMs, Date.now() - started);
      assert.equal(res.status, 200, 'the service keeps answering on a full disk');
    }
    const fullMs = Date.now() - fullStarted;
    const warning = await waitFor('the write-failure warning on stderr', () =>
      parseLines<{ msg?: string; code?: string; destination?: string }>(service.stderr()).find(
        (l) => l.msg === 'metrics.log: write failed, dropping lines until it recovers',
      ),
    );
    assert.equal(warning.code, 'ENOSPC');
    assert.ok(slowestMs < 2500, `a request took ${slowestMs} ms while the disk was full`);
    assert.ok(fullMs < 15000, `300 requests took ${fullMs} ms while the disk was full`);

    // Space comes back: writing resumes without a restart.
    rmSync(filler);
    for (let i = 0; i < 30; i++)
      assert.equal(
        (
          await call(`${service.url}/echo`, {
            method: 'POST',
            body: '{"message":"back"}',
            headers: { 'content-type': 'application/json' },
          })
        ).status,
        200,
      );
    await waitFor(
      'records written after recovery',
      () =>
        readRotated<MetricLine>(dir, 'metrics.log').filter((r) => r.properties?.Operation === 'Echo').length === 30
          ? true
          : undefined,
      10000,
    );
    await waitFor('the recovery notice on stderr', () =>
      parseLines<{ msg?: string }>(service.stderr()).find((l) => l.msg === 'metrics.log: writing again'),
    );

    assert.equal(await service.stop(), 0);
    const lines = readRotated<MetricLine>(dir, 'metrics.log');
    const requests = lines.filter(isRequestRecord);
    const [exit] = lines.filter(isExitRecord);
    assert.ok(exit, 'the exit record reached the disk');
    assert.equal(lines.filter(isShutdownRecord).length, 1);
    const dropped = metric(exit, 'MetricsDropped') ?? -1;
    assert.ok(dropped > 0, 'lines were dropped while the disk was full');
    // Every line on disk parses (readRotated would have thrown) and nothing went missing uncounted.
    assert.equal(requests.length + dropped, 20 + 300 + 30);
    assert.equal(requests.filter((r) => r.properties?.Operation === 'SetItem').length, 20);
    assert.equal(requests.filter((r) => r.properties?.Operation === 'Echo').length, 30);
  });
});
