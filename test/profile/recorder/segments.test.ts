import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { EV, EVENTS, encodeHeader, SegmentEncoder, type TraceHeader } from '../../../src/profile/format/index.js';
import type { SealedSegmentInfo } from '../../../src/profile/recorder/protocol.js';
import { SegmentFiles } from '../../../src/profile/recorder/segments.js';
import { diskBytes, readSegments, tempDir } from '../trace-files.js';

const header = (index: number) =>
  encodeHeader({
    format: 'dial9-node',
    version: 1,
    timeUnit: 'us',
    clock: 'test',
    timeOriginMs: 0,
    segment: { index, startWallMs: 0 },
    process: { pid: 1, host: 'h', service: 's', argv: [], node: 'v20' },
    recording: { summary: '', on: [], off: {} },
    config: {},
    events: EVENTS,
  } satisfies TraceHeader);

/** A block of `events` stall events with incompressible-ish values (so gzip cannot hide the budget). */
function block(events: number, seed: number): Uint8Array {
  const encoder = new SegmentEncoder();
  let x = seed;
  for (let i = 0; i < events; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    encoder.event(EV.stall, i * 1000, [x, x % 977, x % 13, x % 100_003, x % 65_537, x % 4099]);
  }
  return encoder.takeBlock() as Uint8Array;
}

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('segment files', () => {
  it('rotate at the size cap, seal to .gz, and never go over the disk budget', () => {
    const dir = tempDir('dial9-segments');
    dirs.push(dir);
    const limits = { rotationMs: 60_000, maxFileBytes: 20_000, maxDiskBytes: 50_000 };
    const files = new SegmentFiles(dir, limits);
    const sealed: SealedSegmentInfo[] = [];
    for (let i = 0; i < 60; i++) {
      files.write(block(200, i + 1), header, (s) => sealed.push(s));
      assert.ok(diskBytes(dir) <= limits.maxDiskBytes, `after block ${i}: ${diskBytes(dir)} bytes on disk`);
    }
    files.seal((s) => sealed.push(s));
    assert.ok(diskBytes(dir) <= limits.maxDiskBytes);
    assert.ok(sealed.length >= 10, `${sealed.length} segments sealed`);
    assert.ok(files.evicted > 0, 'the oldest were evicted');
    const names = readdirSync(dir);
    assert.ok(
      names.every((n) => /^trace\.\d+\.bin\.gz$/.test(n)),
      names.join(' '),
    );
    const segments = readSegments(dir);
    // The newest segments survive, each decodes on its own and fits the size cap uncompressed.
    assert.equal(segments.at(-1)?.name, `trace.${sealed.length - 1}.bin.gz`);
    for (const s of segments) {
      assert.equal(s.segment.truncated, false);
      assert.ok((s.segment.events.stall?.count ?? 0) >= 200);
      const raw = s.segment.blocks.reduce((n, b) => n + b.bytes, 0);
      assert.ok(raw <= limits.maxFileBytes, `${s.name}: ${raw} bytes of blocks`);
    }
  });

  it('keeps pinned segments (the active one, the one before and the next) past eviction', () => {
    const dir = tempDir('dial9-pinned');
    dirs.push(dir);
    const files = new SegmentFiles(dir, { rotationMs: 60_000, maxFileBytes: 20_000, maxDiskBytes: 100_000 });
    const sealed: SealedSegmentInfo[] = [];
    const onSealed = (s: SealedSegmentInfo) => sealed.push(s);
    for (let i = 0; i < 8; i++) files.write(block(200, i + 1), header, onSealed);
    files.pin();
    const pinnedAt = sealed.length;
    for (let i = 0; i < 80; i++) files.write(block(200, 100 + i), header, onSealed);
    files.seal(onSealed);
    const names = readdirSync(dir).sort();
    const pinned = names.filter((n) => n.includes('.pinned.'));
    assert.deepEqual(
      pinned.map((n) => Number(/^trace\.(\d+)/.exec(n)?.[1])).sort((a, b) => a - b),
      [pinnedAt - 1, pinnedAt, pinnedAt + 1],
    );
    assert.ok(files.evicted > 10);
    assert.ok(diskBytes(dir) <= 100_000);
    assert.ok(sealed.filter((s) => s.pinned).length === 2, 'the pinned active and next segments say so when sealed');
  });
  it("counts and evicts finished processes' segments under the same budget, oldest first, pinned last; live and foreign directories untouched", () => {
    const root = tempDir('dial9-siblings');
    dirs.push(root);
    const oldMs = Date.now() / 1000 - 120;
    const place = (dir: string, name: string, old: boolean) => {
      mkdirSync(join(root, dir), { recursive: true });
      const path = join(root, dir, name);
      writeFileSync(path, randomBytes(10_000));
      if (old) utimesSync(path, oldMs, oldMs);
      return path;
    };
    // A process that exited two minutes ago (one segment pinned by a trigger), one killed mid-segment,
    // one still running, and a directory that is not a process's.
    const exited = place('svc.100.20261201T000100Z.aaaaaa', 'trace.0.bin.gz', true);
    const exitedPinned = place('svc.100.20261201T000100Z.aaaaaa', 'trace.1.pinned.bin.gz', true);
    const killed = place('svc.200.20261201T000200Z.bbbbbb', 'trace.0.bin.active', true);
    const live = place('svc.400.20261201T000400Z.dddddd', 'trace.0.bin.active', false);
    const foreign = place('notes', 'trace.0.bin.gz', true);
    const own = join(root, 'svc.300.20261201T000300Z.cccccc');
    mkdirSync(own);
    const finishedBytes = () => [exited, exitedPinned, killed].reduce((n, p) => n + (existsSync(p) ? 10_000 : 0), 0);

    const limits = { rotationMs: 60_000, maxFileBytes: 20_000, maxDiskBytes: 50_000, finishedSiblings: true };
    const files = new SegmentFiles(own, limits);
    let killedGoneFirstAt = -1;
    for (let i = 0; i < 40; i++) {
      files.write(block(200, i + 1), header, () => {});
      const total = diskBytes(own) + finishedBytes();
      assert.ok(total <= limits.maxDiskBytes, `after block ${i}: ${total} bytes (own and finished processes')`);
      if (!existsSync(killed) && killedGoneFirstAt < 0) {
        killedGoneFirstAt = i;
        assert.equal(existsSync(exited), false, 'the oldest process went first');
      }
    }
    assert.ok(killedGoneFirstAt >= 0, "the killed process's segment was evicted");
    assert.equal(existsSync(join(root, 'svc.200.20261201T000200Z.bbbbbb')), false, 'an emptied directory goes');
    assert.equal(existsSync(exitedPinned), true, 'pinned segments outlast unpinned ones, ours included');
    assert.equal(existsSync(live), true, "a live process's directory is its own");
    assert.equal(existsSync(foreign), true, 'a directory not named like a process is not touched');
    assert.ok(files.evicted > 2);
  });
});
