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
import { openSocket, readUntilClose } from '../helpers/raw-http.js';
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

  test('a crash while draining cuts the drain short and still exits through the guard, with 1', async () => {
    const dir2 = mkdtempSync(join(tmpdir(), 'service-fatal-drain-'));
    const child = spawn(process.execPath, [FIXTURE, dir2], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      const url = await waitFor('the URL', () => stdout.match(/^(http:\/\/\S+)\n/)?.[1]);
      // A request that cannot finish (its body never completes) keeps the drain waiting.
      const socket = await openSocket(url);
      const reply = readUntilClose(socket, 10000);
      socket.write('PUT /items/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc');
      await new Promise((resolve) => setTimeout(resolve, 100));
      child.kill('SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 200));
      child.stdin.write('crash\n');
      assert.equal(await exited, 1);
      await reply;
    } finally {
      child.kill('SIGKILL');
    }
    const lines = readRotated<MetricLine>(dir2, 'metrics.log');
    const [request] = lines.filter(isRequestRecord);
    assert.equal(request?.properties?.StatusCode, '503');
    assert.equal(request?.properties?.ErrorKind, 'Aborted');
    const [shutdown] = lines.filter(isShutdownRecord);
    assert.equal(shutdown?.properties?.Reason, 'SIGTERM');
    assert.equal(metric(shutdown ?? { timestamp: 0 }, 'Drained'), 0);
    assert.equal(metric(lines.filter(isExitRecord)[0] ?? { timestamp: 0 }, 'ExitCode'), 1);
    const logs = parseLines<{ level: string; msg: string; err?: { message: string } }>(
      readFileSync(join(dir2, 'application.log'), 'utf8'),
    );
    const late = logs.find((l) => l.msg === 'fatal error while shutting down');
    assert.equal(late?.level, 'fatal');
    assert.equal(late?.err?.message, 'an uncaught bug');
    rmSync(dir2, { recursive: true, force: true });
  });
});
