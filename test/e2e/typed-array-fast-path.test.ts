/**
 * `service run` must not slow its handlers' typed-array code. V8's first ArrayBuffer detach in a
 * thread (a transfer to a worker is one) takes away, for the rest of the process, the fast path of
 * every typed-array access in that thread: a handler's Buffer and Float64Array loops ran ~1.6x
 * slower. The telemetry writer and the flight recorder both hand buffers to their threads as shared
 * memory instead; V8 prints a line under `--trace-protector-invalidation` when a detach happens.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { listeningUrl } from '../../src/service-process.js';
import { call } from '../helpers/http.js';
import { isRequestRecord, type MetricLine, readRotated } from '../helpers/ndjson.js';
import { waitFor } from '../helpers/wait.js';

const BIN = fileURLToPath(new URL('../../../bin/run.js', import.meta.url));

describe('typed-array fast path', () => {
  const root = mkdtempSync(join(tmpdir(), 'service-fast-path-'));
  const children: ReturnType<typeof spawn>[] = [];
  after(() => {
    for (const child of children) child.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });

  for (const recorder of [false, true]) {
    test(`no ArrayBuffer is detached while serving (recorder ${recorder ? 'on' : 'off'})`, async () => {
      const dir = mkdtempSync(join(root, 'case-'));
      const env = {
        ...process.env,
        DIAL9_ENABLED: recorder ? 'true' : 'false',
        DIAL9_TRACE_DIR: join(dir, 'traces'),
      };
      const child = spawn(
        process.execPath,
        ['--trace-protector-invalidation', BIN, 'run', '--port', '0', '--telemetry-dir', dir],
        { env, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      children.push(child);
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
      const url = await waitFor('the service to listen', () => listeningUrl(stderr), 20_000);

      // Batches go to the writer threads every 20 ms (telemetry) and 200 ms (recorder): spread the
      // requests over more than that, so several batches make the round trip before the exit.
      for (let i = 0; i < 40; i++) {
        assert.equal((await call(`${url}/items/k${i}`)).status, 404);
        if (i % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 250));
      }
      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);

      assert.doesNotMatch(stdout, /ArrayBufferDetaching/, 'V8 reported a detached ArrayBuffer');
      const requests = readRotated<MetricLine>(dir, 'metrics.log').filter(isRequestRecord);
      assert.equal(requests.length, 40, 'every wide event went through the writer thread');
    });
  }
});
