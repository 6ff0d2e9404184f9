/** With --telemetry-dir, the startup line is echoed on stderr: the same line, in the same shape, as in application.log. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parseLines } from '../helpers/ndjson.js';
import { startService, stopAll } from '../helpers/service-process.js';

type LogLine = Record<string, unknown> & { msg?: string };

describe('the startup line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'service-startup-'));
  after(async () => {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  test('stderr and application.log carry it with the same fields in the same order, and the same values', async () => {
    const service = await startService(['--telemetry-dir', dir, '--service-name', 'startup-check']);
    assert.equal(await service.stop(), 0);
    const isStartup = (line: LogLine) => line.msg?.startsWith('listening on ') === true;
    const onStderr = parseLines<LogLine>(service.stderr()).filter(isStartup);
    const inLog = parseLines<LogLine>(readFileSync(join(dir, 'application.log'), 'utf8')).filter(isStartup);
    assert.equal(onStderr.length, 1);
    assert.equal(inLog.length, 1);
    const [echo, logged] = [onStderr[0] as LogLine, inLog[0] as LogLine];
    assert.deepEqual(Object.keys(echo), Object.keys(logged));
    assert.deepEqual(Object.keys(logged).slice(0, 6), ['level', 'time', 'pid', 'hostname', 'service', 'target']);
    // The two are written a moment apart; everything but the time is the same.
    assert.deepEqual({ ...echo, time: undefined }, { ...logged, time: undefined });
    assert.equal(echo.service, 'startup-check');
    assert.equal(echo.address, service.url);
    assert.equal(echo.logs, join(dir, 'application.log'));
  });
});
