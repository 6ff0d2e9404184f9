import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { EV, EVENTS, encodeHeader, SegmentEncoder, type TraceHeader } from '../../../src/profile/format/index.js';
import type { SealedSegmentInfo } from '../../../src/profile/recorder/protocol.js';
import { SegmentFiles } from '../../../src/profile/recorder/segments.js';
import { concat } from '../format/hand-encoded.js';
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

/** Another process's segment: a header naming its pid and host, then `bytes` of incompressible data. */
function processSegment(pid: number, host: string, bytes: number): Uint8Array {
  return concat([
    encodeHeader({
      format: 'dial9-node',
      version: 2,
      timeUnit: 'us',
      clock: 'test',
      timeOriginMs: 0,
      segment: { index: 0, startWallMs: 0 },
      process: { pid, host, service: 'svc', argv: [], node: 'v20' },
      recording: { summary: '', on: [], off: {} },
      config: {},
      events: EVENTS,
    }),
    randomBytes(bytes),
  ]);
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

  it('stays within the budget while a segment is gzipped: room for the .gz is made before it is written', () => {
    const dir = tempDir('dial9-seal-budget');
    dirs.push(dir);
    const limits = { rotationMs: 60_000, maxFileBytes: 20_000, maxDiskBytes: 50_000 };
    const files = new SegmentFiles(dir, limits);
    const peaks: number[] = [];
    // When a segment is handed over, its plain file is gone and the .gz stays: the plain file's bytes
    // plus what is on disk now is the most the directory held during the gzip.
    const onSealed = (info: SealedSegmentInfo) => {
      const plain = gunzipSync(readFileSync(info.path)).length;
      peaks.push(diskBytes(dir) + plain);
    };
    for (let i = 0; i < 60; i++) files.write(block(200, i + 1), header, onSealed);
    files.seal(onSealed);
    assert.ok(peaks.length >= 10, `${peaks.length} segments sealed`);
    const over = peaks.filter((bytes) => bytes > limits.maxDiskBytes);
    assert.deepEqual(over, [], `peaks during the gzip: ${peaks.join(', ')}`);
  });

  it('writes each block at the end of what the segment holds: after a failed write, no hole and no torn block', () => {
    const dir = tempDir('dial9-short-write');
    dirs.push(dir);
    const url = (path: string) => new URL(path, import.meta.url).href;
    // A child whose file size limit is lowered mid-block (RLIMIT_FSIZE through prlimit, as a full
    // disk would): the write stops short, then fails; the limit lifted, recording goes on.
    const program = `
      import { execFileSync } from 'node:child_process';
      import { EV, EVENTS, encodeHeader, SegmentEncoder } from ${JSON.stringify(url('../../../src/profile/format/index.js'))};
      import { SegmentFiles } from ${JSON.stringify(url('../../../src/profile/recorder/segments.js'))};
      process.on('SIGXFSZ', () => {}); // the write fails with EFBIG instead of killing the process
      const header = (index) => encodeHeader({ format: 'dial9-node', version: 2, timeUnit: 'us', clock: 'test',
        timeOriginMs: 0, segment: { index, startWallMs: 0 }, process: { pid: 1, host: 'h', service: 's', argv: [],
        node: 'v20' }, recording: { summary: '', on: [], off: {} }, config: {}, events: EVENTS });
      const block = (n, tag) => { const e = new SegmentEncoder(); for (let i = 0; i < n; i++) e.event(EV.stall, i, [tag, i, 0, 0, 0, 0]); return e.takeBlock(); };
      const fsize = (limit) => execFileSync('prlimit', ['--pid', String(process.pid), '--fsize=' + limit + ':']);
      const files = new SegmentFiles(process.env.SEGMENT_DIR, { rotationMs: 60_000, maxFileBytes: 10_000_000, maxDiskBytes: 100_000_000 });
      files.write(block(100, 1), header, () => {});
      const second = block(400, 2);
      fsize(files.activeBytes + Math.floor(second.length / 2));
      let error = 'none';
      try { files.write(second, header, () => {}); } catch (err) { error = err.code; }
      fsize('unlimited');
      files.write(block(100, 3), header, () => {});
      files.seal(() => {});
      console.log(error);
    `;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', program], {
      encoding: 'utf8',
      env: { ...process.env, SEGMENT_DIR: dir },
    });
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout.trim(), 'EFBIG');
    const segments = readSegments(dir);
    assert.equal(segments.length, 1);
    const segment = segments[0]?.segment ?? assert.fail('no segment');
    assert.equal(segment.truncated, false, 'every byte of the file is a complete block');
    // The first and third blocks, whole; nothing of the one that failed.
    const tags = Array.from(segment.events.stall?.fields.durationUs ?? []);
    assert.deepEqual([tags.length, new Set(tags)], [200, new Set([1, 3])]);
  });

  it('never hands over a .gz cut short: a gzip the disk stops half-way leaves the plain segment', () => {
    const dir = tempDir('dial9-short-gzip');
    dirs.push(dir);
    const url = (path: string) => new URL(path, import.meta.url).href;
    // The file size limit is set 4 bytes under the .gz's size: its trailer is written short.
    const program = `
      import { execFileSync } from 'node:child_process';
      import { mkdtempSync, statSync } from 'node:fs';
      import { join } from 'node:path';
      import { EVENTS, encodeHeader } from ${JSON.stringify(url('../../../src/profile/format/index.js'))};
      import { gzipFileSync } from ${JSON.stringify(url('../../../src/profile/recorder/gzip-file.js'))};
      import { SegmentFiles } from ${JSON.stringify(url('../../../src/profile/recorder/segments.js'))};
      process.on('SIGXFSZ', () => {});
      const header = () => encodeHeader({ format: 'dial9-node', version: 2, timeUnit: 'us', clock: 'test',
        timeOriginMs: 0, segment: { index: 0, startWallMs: 0 }, process: { pid: 1, host: 'h', service: 's',
        argv: Array.from({ length: 200 }, (_, i) => 'argument-' + i), node: 'v20' },
        recording: { summary: '', on: [], off: {} }, config: {}, events: EVENTS });
      const dir = process.env.SEGMENT_DIR;
      const files = new SegmentFiles(dir, { rotationMs: 60_000, maxFileBytes: 1e9, maxDiskBytes: 1e9 });
      files.write(new Uint8Array(0), header, () => {});
      // What the .gz of this segment takes: gzip the same bytes elsewhere first.
      const probe = mkdtempSync(join(dir, '..', 'probe-'));
      gzipFileSync(join(dir, 'trace.0.bin.active'), join(probe, 'probe.gz'));
      const gzBytes = statSync(join(probe, 'probe.gz')).size;
      execFileSync('prlimit', ['--pid', String(process.pid), '--fsize=' + (gzBytes - 4) + ':']);
      let sealed;
      files.seal((s) => (sealed = s));
      console.log(JSON.stringify(sealed));
    `;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', program], {
      encoding: 'utf8',
      env: { ...process.env, SEGMENT_DIR: join(dir, 'p') },
    });
    assert.equal(child.status, 0, child.stderr);
    const sealed = JSON.parse(child.stdout) as SealedSegmentInfo;
    assert.ok(sealed.path.endsWith('trace.0.bin'), `the plain segment is handed over: ${sealed.path}`);
    assert.deepEqual(readdirSync(join(dir, 'p')), ['trace.0.bin'], 'no .gz cut short left beside it');
    assert.equal(readSegments(join(dir, 'p'))[0]?.segment.truncated, false);
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
  it("counts and evicts finished processes' segments under the same budget, oldest process first; live, paused, other hosts' and foreign directories untouched", () => {
    const root = tempDir('dial9-siblings');
    dirs.push(root);
    const deadPid = () => spawnSync('true').pid as number;
    const host = hostname();
    const segment = (pid: number, onHost: string) => processSegment(pid, onHost, 8_000);
    const place = (dir: string, name: string, bytes: Uint8Array, at = root) => {
      mkdirSync(join(at, dir), { recursive: true });
      const path = join(at, dir, name);
      writeFileSync(path, name.endsWith('.gz') ? gzipSync(bytes) : bytes);
      // Two minutes old: quiet, yet age alone must not make a directory finished.
      const oldS = Date.now() / 1000 - 120;
      utimesSync(path, oldS, oldS);
      return path;
    };
    const exitedPid = deadPid();
    const killedPid = deadPid();
    // Finished: an earlier run with this process's pid (a restarted container's pid 1), a process
    // that exited (one segment pinned by a trigger), one killed mid-segment.
    const samePid = place(`svc.${process.pid}.20261201T000030Z.aaaaaa`, 'trace.0.bin.gz', segment(process.pid, host));
    const exited = place(`svc.${exitedPid}.20261201T000100Z.bbbbbb`, 'trace.0.bin.gz', segment(exitedPid, host));
    const exitedPinned = place(
      `svc.${exitedPid}.20261201T000100Z.bbbbbb`,
      'trace.1.pinned.bin.gz',
      segment(exitedPid, host),
    );
    const killed = place(`svc.${killedPid}.20261201T000200Z.cccccc`, 'trace.0.bin.active', segment(killedPid, host));
    // Not finished, or not ours to judge: a live process quiet for two minutes (paused), a process
    // of another host, a symlink named like a process directory, a directory not named like one.
    const paused = place(
      `svc.${process.ppid}.20261201T000010Z.dddddd`,
      'trace.0.bin.active',
      segment(process.ppid, host),
    );
    const elsewhere = place(
      `svc.${exitedPid}.20261201T000020Z.eeeeee`,
      'trace.0.bin.gz',
      segment(exitedPid, 'elsewhere'),
    );
    const archive = tempDir('dial9-archive');
    dirs.push(archive);
    const archived = place('incident', 'trace.0.bin.gz', segment(exitedPid, host), archive);
    symlinkSync(join(archive, 'incident'), join(root, `svc.${exitedPid}.20261201T000040Z.ffffff`));
    const foreign = place('notes', 'trace.0.bin.gz', segment(exitedPid, host));
    // A pid this process cannot see (another pid namespace under the same host name) that still writes.
    const unseen = place(`svc.${exitedPid}.20261201T000005Z.abcabc`, 'trace.0.bin.active', segment(exitedPid, host));
    utimesSync(unseen, new Date(), new Date());
    const finished = [samePid, exited, killed, exitedPinned];
    const sizes = new Map(finished.map((p) => [p, statSync(p).size]));
    const finishedBytes = () => finished.reduce((n, p) => n + (existsSync(p) ? (sizes.get(p) as number) : 0), 0);

    const own = join(root, `svc.${process.pid}.20261201T000300Z.abcdef`);
    mkdirSync(own);
    const limits = { rotationMs: 60_000, maxFileBytes: 20_000, maxDiskBytes: 50_000, finishedSiblings: true };
    const files = new SegmentFiles(own, limits);
    const goneAt = new Map<string, number>();
    for (let i = 0; i < 40; i++) {
      files.write(block(200, i + 1), header, () => {});
      const total = diskBytes(own) + finishedBytes();
      assert.ok(total <= limits.maxDiskBytes, `after block ${i}: ${total} bytes (own and finished processes')`);
      for (const path of finished) if (!existsSync(path) && !goneAt.has(path)) goneAt.set(path, i);
    }
    const order = finished.map((p) => goneAt.get(p) ?? Number.POSITIVE_INFINITY);
    assert.deepEqual(
      [...order].sort((x, y) => x - y),
      order,
      `oldest process first, pinned last: ${order}`,
    );
    assert.ok(Number.isFinite(order.at(-1) as number), 'every finished segment went before our own');
    for (const dir of [samePid, exited, killed])
      assert.equal(existsSync(dirname(dir)), false, 'emptied directories go');
    for (const kept of [paused, elsewhere, archived, foreign, unseen]) assert.equal(existsSync(kept), true, kept);
  });
  it('never deletes through a directory swapped for a symlink after the scan; makes its own directory again when it is gone, the trace directory too', () => {
    const root = tempDir('dial9-swap');
    dirs.push(root);
    const pid = spawnSync('true').pid as number;
    const bytes = processSegment(pid, hostname(), 30_000);
    const finishedDir = join(root, `svc.${pid}.20261201T000100Z.aaaaaa`);
    mkdirSync(finishedDir);
    const finished = join(finishedDir, 'trace.0.bin');
    writeFileSync(finished, bytes);
    const oldS = Date.now() / 1000 - 120;
    utimesSync(finished, oldS, oldS);
    const own = join(root, `svc.${process.pid}.20261201T000300Z.abcdef`);
    mkdirSync(own);
    const files = new SegmentFiles(own, {
      rotationMs: 60_000,
      maxFileBytes: 20_000,
      maxDiskBytes: 50_000,
      finishedSiblings: true,
    });
    // The first block lists the finished directory (within budget, nothing deleted yet).
    files.write(block(20, 1), header, () => {});
    assert.equal(existsSync(finished), true);
    // Swapped for a symlink to a live directory holding a file of the same name.
    const elsewhere = join(tempDir('dial9-swap-target'), 'live');
    dirs.push(dirname(elsewhere));
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, 'trace.0.bin'), 'live data');
    rmSync(finishedDir, { recursive: true });
    symlinkSync(elsewhere, finishedDir);
    for (let i = 0; i < 20; i++) files.write(block(200, i + 2), header, () => {});
    assert.equal(readFileSync(join(elsewhere, 'trace.0.bin'), 'utf8'), 'live data');
    assert.ok(diskBytes(own) <= 50_000);

    // Our own directory removed from under us: the next segment makes it again.
    files.seal(() => {});
    rmSync(own, { recursive: true });
    files.write(block(20, 99), header, () => {});
    assert.ok(
      readdirSync(own).some((n) => /^trace\.\d+\.bin\.active$/.test(n)),
      'a new segment in the directory made again',
    );

    // The whole trace directory removed (`rm -rf traces`): made again, parents included.
    files.seal(() => {});
    rmSync(root, { recursive: true });
    files.write(block(20, 100), header, () => {});
    assert.ok(
      readdirSync(own).some((n) => /^trace\.\d+\.bin\.active$/.test(n)),
      'a new segment in the trace directory made again',
    );
  });
});
