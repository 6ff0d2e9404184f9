/**
 * Rotated files through the real writer thread and rotating-file-stream: a torn tail left by a
 * crash, a file deleted or moved away while open, and a directory that cannot be created.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { DestinationSpec } from '../../src/writer/protocol.js';
import { WriterThread } from '../../src/writer/writer-thread.js';
import { parseLines, readRotated } from '../helpers/ndjson.js';
import { waitFor } from '../helpers/wait.js';

const line = (i: number) => `${JSON.stringify({ i })}\n`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function fileSpec(dir: string, file: string, interval: string): DestinationSpec {
  return { kind: 'rotating-file', dir, file, interval, maxFiles: 0, name: file };
}

describe('rotated files', () => {
  const root = mkdtempSync(join(tmpdir(), 'service-files-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  const fresh = () => mkdtempSync(join(root, `case-${n++}-`));

  for (const [file, interval] of [
    ['metrics.log', '1m'],
    ['application.log', '1h'],
  ] as const) {
    test(`a torn last line left in ${file} by a crash is cut before the first append`, async () => {
      const dir = fresh();
      writeFileSync(join(dir, file), `${line(0)}${line(1)}{"i":2,"pa`);
      const writer = new WriterThread();
      const channel = writer.channel(fileSpec(dir, file, interval));
      for (let i = 10; i < 13; i++) channel.write(line(i));
      await writer.close();
      const lines = parseLines<{ i: number }>(readFileSync(join(dir, file), 'utf8'));
      assert.deepEqual(
        lines.map((l) => l.i),
        [0, 1, 10, 11, 12],
      );
      assert.equal(channel.stats().written, 3);
    });
  }

  test('a torn file from an earlier period is cut before it is rolled aside', async () => {
    const dir = fresh();
    const path = join(dir, 'metrics.log');
    writeFileSync(path, `${line(0)}{"i":1,`);
    const hourAgo = new Date(Date.now() - 3600_000);
    utimesSync(path, hourAgo, hourAgo);
    const writer = new WriterThread();
    const channel = writer.channel(fileSpec(dir, 'metrics.log', '1m'));
    channel.write(line(5));
    await writer.close();
    // readRotated parses every line of the rolled file, then the new one.
    assert.deepEqual(
      readRotated<{ i: number }>(dir, 'metrics.log').map((l) => l.i),
      [0, 5],
    );
  });

  test('a file deleted with its directory comes back; what went to the deleted file is counted', async () => {
    const dir = join(fresh(), 'telemetry');
    const writer = new WriterThread();
    const channel = writer.channel(fileSpec(dir, 'metrics.log', '1m'));
    for (let i = 0; i < 10; i++) channel.write(line(i));
    await writer.flush();
    // Let a check find the file in place, so what came before is not in doubt.
    await sleep(2500);
    rmSync(dir, { recursive: true });
    // Written at once: most or all go to the deleted file before the next check notices.
    for (let i = 10; i < 30; i++) channel.write(line(i));
    await writer.flush();
    await waitFor('metrics.log recreated', () => (existsSync(join(dir, 'metrics.log')) ? true : undefined), 10000);
    await sleep(100);
    for (let i = 30; i < 40; i++) channel.write(line(i));
    await writer.flush();
    const stats = channel.stats();
    await writer.close();

    const kept = parseLines<{ i: number }>(readFileSync(join(dir, 'metrics.log'), 'utf8')).map((l) => l.i);
    assert.deepEqual(kept.slice(-10), [30, 31, 32, 33, 34, 35, 36, 37, 38, 39], 'writing resumed in the new file');
    assert.ok(
      kept.every((i) => i >= 10),
      'the new file holds only lines written after the deletion',
    );
    // Every line written after the deletion is either in the new file or counted as failed.
    assert.equal(kept.length + stats.failed, 30);
    assert.equal(stats.written, 10 + kept.length);
    assert.equal(stats.dropped, 0);
    assert.equal(stats.ioErrors, 1, 'the deletion counts as one write error');
  });

  test('an idle file deleted while open is recreated within seconds, with nothing lost', async () => {
    const dir = join(fresh(), 'telemetry');
    const writer = new WriterThread();
    const channel = writer.channel(fileSpec(dir, 'application.log', '1h'));
    channel.write(line(0));
    await writer.flush();
    // Let a check find the file in place, so the line written before is not in doubt.
    await sleep(2500);
    rmSync(dir, { recursive: true });
    await waitFor(
      'application.log recreated without a write',
      () => (existsSync(join(dir, 'application.log')) ? true : undefined),
      10000,
    );
    channel.write(line(1));
    await writer.close();
    assert.deepEqual(parseLines(readFileSync(join(dir, 'application.log'), 'utf8')), [{ i: 1 }]);
    assert.deepEqual(channel.stats(), { written: 2, dropped: 0, failed: 0, ioErrors: 1, queuedBytes: 0 });
  });

  test('a file moved aside keeps its lines; a new one takes the next, nothing counted lost', async () => {
    const dir = fresh();
    const writer = new WriterThread();
    const channel = writer.channel(fileSpec(dir, 'metrics.log', '1m'));
    for (let i = 0; i < 5; i++) channel.write(line(i));
    await writer.flush();
    renameSync(join(dir, 'metrics.log'), join(dir, 'moved.log'));
    for (let i = 5; i < 10; i++) channel.write(line(i));
    await writer.flush();
    await waitFor('a new metrics.log', () => (existsSync(join(dir, 'metrics.log')) ? true : undefined), 10000);
    for (let i = 10; i < 15; i++) channel.write(line(i));
    await writer.close();
    const moved = parseLines<{ i: number }>(readFileSync(join(dir, 'moved.log'), 'utf8')).map((l) => l.i);
    const fresh2 = parseLines<{ i: number }>(readFileSync(join(dir, 'metrics.log'), 'utf8')).map((l) => l.i);
    assert.deepEqual(
      [...moved, ...fresh2].sort((a, b) => a - b),
      Array.from({ length: 15 }, (_, k) => k),
    );
    assert.deepEqual(channel.stats(), { written: 15, dropped: 0, failed: 0, ioErrors: 0, queuedBytes: 0 });
  });

  test('a directory that cannot be created: writes fail and are counted, and nothing spins', {
    timeout: 30000,
  }, async () => {
    const writer = new WriterThread();
    const channel = writer.channel(fileSpec('/proc/nope/telemetry', 'metrics.log', '1m'));
    const cpuBefore = process.cpuUsage();
    const started = Date.now();
    let sent = 0;
    while (Date.now() - started < 2500) {
      channel.write(line(sent++));
      await sleep(20);
    }
    await writer.flush();
    const cpu = process.cpuUsage(cpuBefore);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const stats = channel.stats();
    await writer.close();
    assert.equal(stats.written, 0);
    assert.equal(stats.failed, sent);
    assert.equal(stats.ioErrors, 1, 'one failure streak, reported once');
    // Node's recursive mkdir spins a core forever on this path: that would be ~2500 ms here.
    assert.ok(cpuMs < 1200, `the process used ${cpuMs} ms of CPU in ${Date.now() - started} ms`);
  });
});
