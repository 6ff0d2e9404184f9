/** A fatal error still goes through the telemetry guard: everything queued is on disk after exit. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
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
import { waitFor } from '../helpers/wait.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/crashing-service.js', import.meta.url));

describe('a fatal error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'service-fatal-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('exits 1 after writing the shutdown and exit records and flushing logs', async () => {
    const child = spawn(process.execPath, [FIXTURE, dir], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      const url = await waitFor('the URL', () => stdout.match(/^(http:\/\/\S+)\n/)?.[1]);
      for (let i = 0; i < 5; i++)
        assert.equal((await call(`${url}/items/k${i}`, { method: 'PUT', body: 'v' })).status, 204);
      child.stdin.write('crash\n');
      assert.equal(await exited, 1);
    } finally {
      child.kill('SIGKILL');
    }

    const lines = readRotated<MetricLine>(dir, 'metrics.log');
    assert.equal(lines.filter(isRequestRecord).length, 5);
    const [shutdown] = lines.filter(isShutdownRecord);
    assert.equal(shutdown?.properties?.Reason, 'fatal');
    const [exit] = lines.filter(isExitRecord);
    assert.equal(metric(exit ?? { timestamp: 0 }, 'ExitCode'), 1);

    const logs = parseLines<{ level: string; msg: string; err?: { message: string } }>(
      readFileSync(join(dir, 'application.log'), 'utf8'),
    );
    const fatal = logs.find((l) => l.level === 'fatal');
    assert.equal(fatal?.msg, 'fatal error, shutting down');
    assert.equal(fatal?.err?.message, 'an uncaught bug');
    assert.equal(logs.at(-1)?.msg, 'stopped');
  });
});
