/**
 * The telemetry directory through the real CLI: a path that cannot be created, a torn line left by
 * a crash, and the directory deleted while the service runs.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { call } from '../helpers/http.js';
import { isExitRecord, isRequestRecord, type MetricLine, metric, parseLines, readRotated } from '../helpers/ndjson.js';
import { runCli, startService, stopAll } from '../helpers/service-process.js';
import { waitFor } from '../helpers/wait.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const NO_RUNTIME_RECORDS = ['--runtime-metrics-interval-ms', '0'];

interface StderrLine {
  msg?: string;
  destination?: string;
  droppedEntries?: number;
  cutBytes?: number;
}

function operations(lines: MetricLine[], operation: string): number {
  return lines.filter((l) => isRequestRecord(l) && l.properties?.Operation === operation).length;
}

describe('--telemetry-dir', () => {
  const root = mkdtempSync(join(tmpdir(), 'service-telemetry-dir-'));
  after(async () => {
    await stopAll();
    rmSync(root, { recursive: true, force: true });
  });
  let n = 0;
  const fresh = () => mkdtempSync(join(root, `case-${n++}-`));

  test('a torn last line left by a crash is cut: every line of every file parses, counts are right', async () => {
    const dir = fresh();
    // What a crash mid-write leaves: whole lines, then half of one.
    const tornMetric = '{"timestamp":17,"metr';
    const tornLog = '{"level":"in';
    writeFileSync(join(dir, 'metrics.log'), `{"earlier":1}\n{"earlier":2}\n${tornMetric}`);
    writeFileSync(join(dir, 'application.log'), `{"level":"info","msg":"earlier"}\n${tornLog}`);
    const service = await startService(['--telemetry-dir', dir, ...NO_RUNTIME_RECORDS]);
    for (let i = 0; i < 10; i++) assert.equal((await call(`${service.url}/items/k${i}`)).status, 404);
    assert.equal(await service.stop(), 0);

    // readRotated throws on any line that is not JSON.
    const metrics = readRotated<MetricLine & { earlier?: number }>(dir, 'metrics.log');
    assert.deepEqual(
      metrics.filter((l) => l.earlier !== undefined).map((l) => l.earlier),
      [1, 2],
    );
    assert.equal(metrics.filter(isRequestRecord).length, 10);
    const [exit] = metrics.filter(isExitRecord);
    assert.ok(exit, 'the exit record is on disk');
    assert.equal(metric(exit, 'MetricsDropped'), 0);
    const logs = readRotated<{ msg?: string }>(dir, 'application.log');
    assert.equal(logs[0]?.msg, 'earlier');
    assert.ok(logs.some((l) => l.msg === 'stopped'));
    const cut = parseLines<StderrLine>(service.stderr()).filter(
      (l) => l.msg?.endsWith('cut a torn last line before appending') === true,
    );
    assert.deepEqual(cut.map((l) => [l.destination, l.cutBytes]).sort(), [
      ['application.log', tornLog.length],
      ['metrics.log', tornMetric.length],
    ]);
  });

  test('deleted while running: the files come back, and records present plus records counted lost add up', async () => {
    const dir = join(fresh(), 'telemetry');
    const service = await startService(['--telemetry-dir', dir, ...NO_RUNTIME_RECORDS]);
    for (let i = 0; i < 10; i++)
      assert.equal((await call(`${service.url}/items/a`, { method: 'PUT', body: 'x' })).status, 204);
    await waitFor('the first records on disk', () =>
      operations(readRotated<MetricLine>(dir, 'metrics.log'), 'SetItem') === 10 ? true : undefined,
    );
    // The writer checks its files once a second: let one check find them in place.
    await sleep(2500);
    rmSync(dir, { recursive: true });

    // At once after the deletion: most of these go to the deleted file before the writer notices.
    for (let i = 0; i < 20; i++) assert.equal((await call(`${service.url}/items/a`)).status, 200);
    await waitFor(
      'metrics.log and application.log back',
      () => (existsSync(join(dir, 'metrics.log')) && existsSync(join(dir, 'application.log')) ? true : undefined),
      10000,
    );
    const echo = { method: 'POST', body: '{"message":"back"}', headers: { 'content-type': 'application/json' } };
    for (let i = 0; i < 20; i++) assert.equal((await call(`${service.url}/echo`, echo)).status, 200);
    await waitFor('the records after the reopen', () =>
      operations(readRotated<MetricLine>(dir, 'metrics.log'), 'Echo') === 20 ? true : undefined,
    );
    assert.equal(await service.stop(), 0);

    const lines = readRotated<MetricLine>(dir, 'metrics.log');
    assert.equal(operations(lines, 'SetItem'), 0, 'the records from before went with the directory');
    assert.equal(operations(lines, 'Echo'), 20, 'every record after the reopen is there');
    const [exit] = lines.filter(isExitRecord);
    assert.ok(exit, 'the exit record is on disk');
    const dropped = metric(exit, 'MetricsDropped') ?? -1;
    assert.equal(operations(lines, 'GetItem') + dropped, 20, 'records present + records counted lost = requests sent');
    const notice = parseLines<StderrLine>(service.stderr()).find(
      (l) => l.msg === 'metrics.log: the file was deleted while open; writing to a new one',
    );
    assert.equal(notice?.droppedEntries, dropped, 'the stderr notice says how many');
    // application.log was recreated too, and the last lines of the run are in it.
    assert.ok(readRotated<{ msg?: string }>(dir, 'application.log').some((l) => l.msg === 'stopped'));
  });

  for (const [flag, env] of [
    ['--telemetry-dir', 'TELEMETRY_DIR'],
    ['--metrics-archive-dir', 'METRICS_ARCHIVE_DIR'],
  ] as const) {
    test(`${flag} under /proc: one line and exit 2, at once`, async () => {
      // Node's recursive mkdir never returns for /proc/nope (it spun at 100% CPU here).
      const started = Date.now();
      const result = await runCli(['run', '--port', '0', flag, '/proc/nope/telemetry']);
      const elapsedMs = Date.now() - started;
      assert.equal(result.code, 2);
      assert.equal(
        result.stderr,
        `Error: invalid value "/proc/nope/telemetry" for ${flag} (${env}): expected a directory that can be created (the file system refuses new directories there)\n`,
      );
      assert.equal(result.stdout, '');
      assert.ok(elapsedMs < 10000, `took ${elapsedMs} ms`);
    });
  }
});
