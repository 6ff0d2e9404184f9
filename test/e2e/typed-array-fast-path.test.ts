/**
 * `service run` must not slow its handlers' typed-array code. V8's first ArrayBuffer detach in a
 * thread (a transfer to a worker is one) takes away, for the rest of the process, the fast path of
 * every typed-array access in that thread: a handler's Buffer and Float64Array loops ran ~1.6x
 * slower. The telemetry writer and the flight recorder both hand buffers to their threads as shared
 * memory instead; V8 prints a line under `--trace-protector-invalidation` when a detach happens.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { call } from '../helpers/http.js';
import { isRequestRecord, type MetricLine, readRotated } from '../helpers/ndjson.js';
import { BIN, startService, stopAll } from '../helpers/service-process.js';

describe('typed-array fast path', () => {
  const root = mkdtempSync(join(tmpdir(), 'service-fast-path-'));
  after(async () => {
    await stopAll();
    rmSync(root, { recursive: true, force: true });
  });

  for (const recorder of [false, true]) {
    test(`no ArrayBuffer is detached while serving (recorder ${recorder ? 'on' : 'off'})`, async () => {
      const dir = mkdtempSync(join(root, 'case-'));
      const service = await startService(
        ['--telemetry-dir', dir],
        { DIAL9_ENABLED: recorder ? 'true' : 'false', DIAL9_TRACE_DIR: join(dir, 'traces') },
        BIN,
        ['--trace-protector-invalidation'],
      );
      // Batches go to the writer threads every 20 ms (telemetry) and 200 ms (recorder): spread the
      // requests over more than that, so several batches make the round trip before the exit.
      for (let i = 0; i < 40; i++) {
        assert.equal((await call(`${service.url}/items/k${i}`)).status, 404);
        if (i % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 250));
      }
      assert.equal(await service.stop(), 0, service.stderr());

      assert.doesNotMatch(service.stdout(), /ArrayBufferDetaching/, 'V8 reported a detached ArrayBuffer');
      const requests = readRotated<MetricLine>(dir, 'metrics.log').filter(isRequestRecord);
      assert.equal(requests.length, 40, 'every wide event went through the writer thread');
    });
  }
});
