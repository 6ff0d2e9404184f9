import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { rotatedName } from '../../src/writer/file-destination.js';
import type { DestinationSpec } from '../../src/writer/protocol.js';
import { repairTail } from '../../src/writer/repair-tail.js';
import { WriterThread } from '../../src/writer/writer-thread.js';
import { parseLines, readRotated } from '../helpers/ndjson.js';

const line = (i: number, pad = 0) => `${JSON.stringify({ i, pad: 'x'.repeat(pad) })}\n`;

function fileSpec(dir: string, file: string, interval: string, maxFiles = 0): DestinationSpec {
  return { kind: 'rotating-file', dir, file, interval, maxFiles, name: file };
}

describe('writer thread', () => {
  const root = mkdtempSync(join(tmpdir(), 'service-writer-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  const fresh = () => mkdtempSync(join(root, `case-${n++}-`));

  test('everything written before flush() is in the file, in order', async () => {
    const dir = fresh();
    const writer = new WriterThread();
    const channel = writer.channel(fileSpec(dir, 'metrics.log', '1m'));
    for (let i = 0; i < 5000; i++) channel.write(line(i));
    await writer.flush();
    const lines = parseLines<{ i: number }>(readFileSync(join(dir, 'metrics.log'), 'utf8'));
    assert.equal(lines.length, 5000);
    assert.deepEqual(
      lines.slice(0, 3).map((l) => l.i),
      [0, 1, 2],
    );
    assert.equal(lines.at(-1)?.i, 4999);
    assert.deepEqual(channel.stats(), { written: 5000, dropped: 0, failed: 0, ioErrors: 0, queuedBytes: 0 });
    await writer.close();
  });

  test('the queue is bounded: what does not fit is dropped and counted, never buffered', async () => {
    const dir = fresh();
    const writer = new WriterThread({ maxQueuedBytes: 1000 });
    const channel = writer.channel(fileSpec(dir, 'm.log', '1h'));
    const entry = line(0, 83); // 100 bytes with its newline
    assert.equal(entry.length, 100);
    // All in one tick: the writer thread cannot confirm anything in between.
    for (let i = 0; i < 50; i++) channel.write(entry);
    assert.equal(channel.stats().dropped, 40);
    assert.equal(channel.stats().queuedBytes, 1000);
    await writer.flush();
    assert.deepEqual(channel.stats(), { written: 10, dropped: 40, failed: 0, ioErrors: 0, queuedBytes: 0 });
    assert.equal(parseLines(readFileSync(join(dir, 'm.log'), 'utf8')).length, 10);
    // Room again once confirmed.
    channel.write(entry);
    await writer.flush();
    assert.equal(channel.stats().written, 11);
    // A critical entry (the exit record) is taken even over the bound.
    for (let i = 0; i < 10; i++) channel.write(entry);
    channel.write(entry);
    assert.equal(channel.stats().dropped, 41);
    channel.write(entry, true);
    assert.equal(channel.stats().dropped, 41);
    await writer.flush();
    assert.equal(channel.stats().written, 22);
    await writer.close();
  });

  test('close() writes out everything queued; later entries are dropped and counted', async () => {
    const dir = fresh();
    const writer = new WriterThread({ flushIntervalMs: 60000 });
    const channel = writer.channel(fileSpec(dir, 'a.log', '1h'));
    for (let i = 0; i < 100; i++) channel.write(line(i));
    await writer.close();
    channel.write(line(100));
    assert.equal(parseLines(readFileSync(join(dir, 'a.log'), 'utf8')).length, 100);
    assert.deepEqual(channel.stats(), { written: 100, dropped: 1, failed: 0, ioErrors: 0, queuedBytes: 0 });
  });

  test('files roll on their interval and no line is lost across rotations', async () => {
    const dir = fresh();
    const writer = new WriterThread();
    const channel = writer.channel(fileSpec(dir, 'metrics.log', '1s'));
    const started = Date.now();
    let i = 0;
    while (Date.now() - started < 2300) {
      channel.write(line(i++));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await writer.close();
    const files = readdirSync(dir).sort();
    assert.ok(files.includes('metrics.log'));
    const rotated = files.filter((f) => f !== 'metrics.log');
    assert.ok(rotated.length >= 1, `expected rotated files, found ${files.join(', ')}`);
    for (const name of rotated) assert.match(name, /^metrics\.log\.\d{4}-\d{2}-\d{2}T\d{2}-\d{2}Z(\.\d+)?$/);
    const all = readRotated<{ i: number }>(dir, 'metrics.log');
    assert.equal(all.length, i);
    assert.deepEqual(
      all.map((l) => l.i).sort((a, b) => a - b),
      Array.from({ length: i }, (_, k) => k),
    );
  });

  test('--telemetry-max-files keeps only the newest rotated files', async () => {
    const dir = fresh();
    const writer = new WriterThread();
    const channel = writer.channel(fileSpec(dir, 'metrics.log', '1s', 2));
    const started = Date.now();
    let i = 0;
    while (Date.now() - started < 4300) {
      channel.write(line(i++));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await writer.close();
    const rotated = readdirSync(dir).filter((f) => f.startsWith('metrics.log.'));
    assert.equal(rotated.length, 2, `kept ${rotated.join(', ')}`);
    // The history file that tracks them is hidden from metrics.log* globs.
    assert.ok(readdirSync(dir).includes('.metrics.log.history'));
    const kept = readRotated<{ i: number }>(dir, 'metrics.log').map((l) => l.i);
    assert.ok(kept.length < i && kept.length > 0);
    assert.equal(Math.max(...kept), i - 1, 'the newest lines are the ones kept');
    assert.ok(Math.min(...kept) > 0, 'the oldest were deleted');
  });

  test('rotated names carry the UTC start of their period', () => {
    const time = new Date(Date.UTC(2026, 10, 23, 20, 7, 0));
    assert.equal(rotatedName('metrics.log', time, 1), 'metrics.log.2026-11-23T20-07Z');
    assert.equal(rotatedName('metrics.log', time, 3), 'metrics.log.2026-11-23T20-07Z.3');
  });

  test('repairTail cuts a torn last line so the file stays valid NDJSON', () => {
    const dir = fresh();
    const torn = join(dir, 'torn.log');
    writeFileSync(torn, '{"a":1}\n{"b":2}\n{"c":');
    // The file's time says which period it is rolled into: the cut must not change it.
    const hourAgo = new Date(Date.now() - 3600_000);
    utimesSync(torn, hourAgo, hourAgo);
    assert.equal(repairTail(torn), 5);
    assert.equal(readFileSync(torn, 'utf8'), '{"a":1}\n{"b":2}\n');
    assert.equal(Math.round(statSync(torn).mtimeMs), hourAgo.getTime());
    assert.equal(repairTail(torn), 0);
    assert.equal(readFileSync(torn, 'utf8'), '{"a":1}\n{"b":2}\n', 'a whole file is left alone');
    const noNewline = join(dir, 'none.log');
    writeFileSync(noNewline, 'x'.repeat(100000));
    assert.equal(repairTail(noNewline), 100000);
    assert.equal(readFileSync(noNewline, 'utf8'), '');
    assert.equal(repairTail(join(dir, 'missing.log')), 0);
  });
});
