/**
 * Damaged segments beside good ones, as a full disk or a `kill -9` during gzip leave them: a `.gz`
 * cut short and an empty `.active` file. `analyze` and `export` of the directory skip them with one
 * warning line each and read the rest; with nothing readable they fail with one line as before, and
 * a damaged file named on its own still fails. A `.gz` cut after its header gives its complete blocks.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { constants, gunzipSync } from 'node:zlib';
import { analyzeTracePath } from '../../../src/profile/analyze/load-node.js';
import { readSegment } from '../../../src/profile/export/trace-path-node.js';
import { decodeSegment } from '../../../src/profile/format/index.js';
import { runCli, stopAll } from '../../helpers/service-process.js';
import { killAll, processDirs, readSegments, runToEnd, tempDir } from '../trace-files.js';

const cleanup: string[] = [];
let root = '';
/** A process directory: the good trace.0.bin.gz, trace.1.bin.gz cut at 100 bytes, an empty trace.2.bin.active. */
let damaged = '';
let goodFile = '';
let goodEvents = 0;
/** Only the two damaged files. */
let onlyDamaged = '';

const cut = (from: string, to: string, bytes: number) => writeFileSync(to, readFileSync(from).subarray(0, bytes));

before(async () => {
  root = tempDir('dial9-damaged');
  cleanup.push(root);
  const traceDir = join(root, 'trace');
  // Timers for a second: several blocks, sealed into trace.0.bin.gz at the clean exit.
  const result = await runToEnd(
    'let n = 0; const t = setInterval(() => { if (++n === 12) clearInterval(t); }, 100);\n',
    { DIAL9_ENABLED: 'true', DIAL9_TRACE_DIR: traceDir },
  );
  assert.equal(result.code, 0, result.stderr);
  damaged = processDirs(traceDir)[0] ?? assert.fail('no process directory');
  const files = readSegments(damaged);
  assert.deepEqual(
    files.map((f) => f.name),
    ['trace.0.bin.gz'],
  );
  goodFile = join(damaged, 'trace.0.bin.gz');
  goodEvents = Object.values(files[0]?.segment.events ?? {}).reduce((n, c) => n + c.count, 0);
  assert.ok(goodEvents > 0);
  cut(goodFile, join(damaged, 'trace.1.bin.gz'), 100);
  writeFileSync(join(damaged, 'trace.2.bin.active'), '');
  onlyDamaged = join(root, 'only-damaged', basename(damaged));
  mkdirSync(onlyDamaged, { recursive: true });
  copyFileSync(join(damaged, 'trace.1.bin.gz'), join(onlyDamaged, 'trace.1.bin.gz'));
  copyFileSync(join(damaged, 'trace.2.bin.active'), join(onlyDamaged, 'trace.2.bin.active'));
});

after(async () => {
  killAll();
  await stopAll();
  for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
});

function warnings(stderr: string): string[] {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 2, `one warning line per damaged file: ${stderr}`);
  assert.match(
    lines.find((l) => l.includes('trace.1.bin.gz')) ?? '',
    /^warning: .*trace\.1\.bin\.gz: unexpected end of file$/,
  );
  assert.match(lines.find((l) => l.includes('trace.2.bin.active')) ?? '', /^warning: .*trace\.2\.bin\.active.*header/);
  return lines;
}

function oneLineError(result: { code: number | null; stderr: string }, pattern: RegExp): void {
  assert.equal(result.code, 1, result.stderr);
  assert.equal(result.stderr.trim().split('\n').length, 1, `one line: ${result.stderr}`);
  assert.match(result.stderr, pattern);
}

describe('damaged segments in a directory', () => {
  it('analyze skips them with a warning each and reports the good segment', async () => {
    const result = await runCli(['profile', 'analyze', damaged, '--json'], {}, 60_000);
    assert.equal(result.code, 0, result.stderr);
    warnings(result.stderr);
    const report = JSON.parse(result.stdout) as { trace: { segments: number; events: number } };
    assert.equal(report.trace.segments, 1);
    assert.equal(report.trace.events, goodEvents);
    // The text form too, from the trace directory above.
    const text = await runCli(['profile', 'analyze', join(root, 'trace')], {}, 60_000);
    assert.equal(text.code, 0, text.stderr);
    warnings(text.stderr);
    assert.match(text.stdout, /^trace: 1 process, 1 segment, /);
  });

  it('export skips them with a warning each and exports the good segment', async () => {
    const output = join(root, 'out.trace.json');
    const result = await runCli(['profile', 'export', damaged, '-o', output], {}, 60_000);
    assert.equal(result.code, 0, result.stderr);
    warnings(result.stderr);
    const trace = JSON.parse(readFileSync(output, 'utf8')) as {
      traceEvents: { ph: string; name: string }[];
      metadata: { processes: { segments: number }[] };
    };
    assert.deepEqual(
      trace.metadata.processes.map((p) => p.segments),
      [1],
    );
    assert.ok(trace.traceEvents.some((e) => e.ph === 'C' && e.name === 'event loop delay (ms)'));
  });

  it('with nothing readable, both fail with one line as before', async () => {
    oneLineError(await runCli(['profile', 'analyze', onlyDamaged]), /trace\.1\.bin\.gz: unexpected end of file/);
    oneLineError(await runCli(['profile', 'export', onlyDamaged]), /trace\.1\.bin\.gz: unexpected end of file/);
  });

  it('a damaged file named on its own still fails', async () => {
    oneLineError(
      await runCli(['profile', 'analyze', join(damaged, 'trace.2.bin.active')]),
      /trace\.2\.bin\.active is not a readable trace segment: the segment ends inside its header/,
    );
    oneLineError(
      await runCli(['profile', 'export', join(damaged, 'trace.1.bin.gz')]),
      /cannot read trace segment .*trace\.1\.bin\.gz: unexpected end of file/,
    );
  });
});

describe('a .gz cut after its header', () => {
  it('gives the complete blocks before the cut, and says it is truncated', async () => {
    const whole = readFileSync(goodFile);
    const full = await readSegment(goodFile);
    // The header takes most of a small segment: cut where some blocks, not all, inflate.
    const blocksIn = (bytes: number) => {
      try {
        const inflated = gunzipSync(whole.subarray(0, bytes), { finishFlush: constants.Z_SYNC_FLUSH });
        return decodeSegment(new Uint8Array(inflated)).blocks.length;
      } catch {
        return 0;
      }
    };
    let at = whole.length - 9;
    while (at > 0 && !(blocksIn(at) > 0 && blocksIn(at) < full.blocks.length)) at--;
    assert.ok(at > 0, 'no cut gives part of the blocks');
    const file = join(root, 'cut', 'trace.5.bin.gz');
    mkdirSync(join(root, 'cut'));
    cut(goodFile, file, at);
    const seen: string[] = [];
    const { report } = await analyzeTracePath(join(root, 'cut'), { onWarning: (m) => seen.push(m) });
    assert.equal(report.trace.segments, 1);
    assert.ok(report.trace.truncated);
    assert.ok(report.trace.events > 0 && report.trace.events < goodEvents, `${report.trace.events} of ${goodEvents}`);
    assert.equal(seen.length, 1);
    assert.match(
      seen[0] ?? '',
      /trace\.5\.bin\.gz is cut short \(unexpected end of file\): read its \d+ complete blocks?/,
    );
    const segment = await readSegment(file);
    assert.ok(segment.truncated);
    assert.ok(segment.blocks.length > 0 && segment.blocks.length < full.blocks.length);
  });
});
