/**
 * Inputs a reader meets when something went wrong, through the real CLI: a header that is not what
 * the recorder writes (empty, `"process": null`, one flipped bit in the schema). Named on its own,
 * such a file fails with one line, non-zero, nothing on stdout and no temporary left; beside good
 * segments, analyze and export skip it with one warning line and read the rest.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, createWriteStream, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import { createGzip, gunzipSync } from 'node:zlib';
import { FILE_MAGIC } from '../../../src/profile/format/index.js';
import { type RunResult, runCli, stopAll } from '../../helpers/service-process.js';
import { killAll, processDirs, runToEnd, tempDir } from '../trace-files.js';

let root = '';
/** The recorded segment, sealed. */
let goodGz = '';
/** Its bytes, inflated. */
let goodRaw = Buffer.alloc(0);

before(async () => {
  root = tempDir('dial9-damaged-input');
  const traceDir = join(root, 'trace');
  const result = await runToEnd(
    'let n = 0; const t = setInterval(() => { if (++n === 8) clearInterval(t); }, 100);\n',
    { DIAL9_ENABLED: 'true', DIAL9_TRACE_DIR: traceDir },
  );
  assert.equal(result.code, 0, result.stderr);
  const dir = processDirs(traceDir)[0] ?? assert.fail('no process directory');
  goodGz = join(dir, 'trace.0.bin.gz');
  goodRaw = gunzipSync(readFileSync(goodGz));
});

after(async () => {
  killAll();
  await stopAll();
  rmSync(root, { recursive: true, force: true });
});

/** A fresh process-shaped directory holding the good segment as trace.0.bin.gz, if asked. */
function processDir(name: string, withGood: boolean): string {
  const dir = join(root, name, 'svc.1.20261201T000000Z.aaaaaa');
  mkdirSync(dir, { recursive: true });
  if (withGood) copyFileSync(goodGz, join(dir, 'trace.0.bin.gz'));
  return dir;
}

/** A segment whose header JSON is `json`, followed by the good segment's blocks. */
function withHeaderJson(json: string): Buffer {
  const oldLength = goodRaw.readUInt32LE(12);
  const body = Buffer.from(json);
  const preamble = Buffer.alloc(16);
  preamble.set(FILE_MAGIC);
  preamble.writeUInt32LE(2, 8);
  preamble.writeUInt32LE(body.length, 12);
  return Buffer.concat([preamble, body, goodRaw.subarray(16 + oldLength)]);
}

function goodHeader(): Record<string, unknown> {
  const length = goodRaw.readUInt32LE(12);
  return JSON.parse(goodRaw.subarray(16, 16 + length).toString('utf8')) as Record<string, unknown>;
}

function oneLineError(result: RunResult, pattern: RegExp): void {
  assert.equal(result.code, 1, result.stderr);
  assert.equal(result.stderr.trim().split('\n').length, 1, `one line: ${result.stderr}`);
  assert.match(result.stderr, /^Error: /);
  assert.match(result.stderr, pattern);
}

describe('a segment whose header is not what the recorder writes', () => {
  const cases = [
    { name: 'empty', json: () => '{}', why: /its header does not say format "dial9-node"/ },
    {
      name: 'process-null',
      json: () => JSON.stringify({ ...goodHeader(), process: null }),
      why: /its header has no object process/,
    },
  ];
  for (const { name, json, why } of cases) {
    it(`named on its own (${name}): export and analyze fail with one line, nothing written`, async () => {
      const dir = processDir(`alone-${name}`, false);
      const file = join(dir, 'trace.16.bin');
      writeFileSync(file, withHeaderJson(json()));
      const out = join(root, `alone-${name}`, 'out.json');
      const toFile = await runCli(['profile', 'export', '-o', out, file], {}, 60_000);
      oneLineError(toFile, why);
      assert.deepEqual(readdirSync(join(root, `alone-${name}`)).sort(), [basename(dir)], 'no out.json, no temporary');
      const toStdout = await runCli(['profile', 'export', '-o', '-', file], {}, 60_000);
      oneLineError(toStdout, why);
      assert.equal(toStdout.stdout, '', 'nothing partial on stdout');
      oneLineError(await runCli(['profile', 'analyze', file], {}, 60_000), why);
    });
  }

  it('one flipped bit in the schema, beside a good segment: both read the good one, with one warning', async () => {
    const dir = processDir('flipped-schema', true);
    const raw = Buffer.from(goodRaw);
    const at = raw.indexOf('{"name":"request"');
    assert.ok(at > 0);
    raw[at + 3] = 'i'.charCodeAt(0); // "name" -> "nime"
    writeFileSync(join(dir, 'trace.1.bin'), raw);
    const expected =
      /^warning: skipped a damaged segment: .*trace\.1\.bin is not a readable trace segment: its header has event \d+ \(\w+\) with a malformed field \d+$/;

    const analyzed = await runCli(['profile', 'analyze', dir, '--json'], {}, 60_000);
    assert.equal(analyzed.code, 0, analyzed.stderr);
    assert.match(analyzed.stderr.trim(), expected);
    assert.equal((JSON.parse(analyzed.stdout) as { trace: { segments: number } }).trace.segments, 1);

    const out = join(root, 'flipped-schema', 'out.json');
    const exported = await runCli(['profile', 'export', dir, '-o', out], {}, 60_000);
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stderr.trim(), expected);
    const trace = JSON.parse(readFileSync(out, 'utf8')) as { metadata: { processes: { segments: number }[] } };
    assert.deepEqual(
      trace.metadata.processes.map((p) => p.segments),
      [1],
    );
  });
});

describe('paths that are not regular files', () => {
  it('a FIFO named like a segment is skipped with a warning, not read forever', async () => {
    const dir = processDir('fifo', true);
    execFileSync('mkfifo', [join(dir, 'trace.1.bin.active')]);
    const expected =
      /^warning: skipped a damaged segment: cannot read trace segment .*trace\.1\.bin\.active: it is a FIFO, not a regular file$/;
    const analyzed = await runCli(['profile', 'analyze', dir, '--json'], {}, 30_000);
    assert.equal(analyzed.code, 0, analyzed.stderr);
    assert.match(analyzed.stderr.trim(), expected);
    assert.equal((JSON.parse(analyzed.stdout) as { trace: { segments: number } }).trace.segments, 1);
    const exported = await runCli(['profile', 'export', dir, '-o', join(root, 'fifo', 'out.json')], {}, 30_000);
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stderr.trim(), expected);
  });

  it('a device named as the trace is one line', async () => {
    for (const command of ['analyze', 'export'])
      oneLineError(
        await runCli(['profile', command, '/dev/null'], {}, 30_000),
        /\/dev\/null is neither a file nor a directory/,
      );
  });
});

describe('a sealed segment damaged inside its gzip data', () => {
  /** analyze --json of `dir`: the report's segments and events, and its stderr lines. */
  async function analyze(dir: string): Promise<{ segments: number; events: number; warnings: string[] }> {
    const result = await runCli(['profile', 'analyze', dir, '--json'], {}, 60_000);
    assert.equal(result.code, 0, result.stderr);
    const { trace } = JSON.parse(result.stdout) as { trace: { segments: number; events: number } };
    return {
      ...trace,
      warnings: result.stderr
        .trim()
        .split('\n')
        .filter((l) => l !== ''),
    };
  }

  it('a flipped bit, trailing garbage or a second member: read up to the damage, one warning line', async () => {
    const whole = readFileSync(goodGz);
    const flipped = Buffer.from(whole);
    // Near the end: in the last blocks' data (the header is most of a small segment's gzip).
    const at = whole.length - 40;
    flipped[at] = (flipped[at] as number) ^ 0x10;
    const cases = [
      { name: 'flip', bytes: flipped, why: /is damaged \(.+\): read its [1-9]\d* complete blocks?$/ },
      {
        name: 'garbage',
        bytes: Buffer.concat([whole, Buffer.from('garbage trailing')]),
        why: /is damaged \(incorrect header check\): read its [1-9]\d* complete blocks?$/,
      },
      {
        name: 'two-members',
        bytes: Buffer.concat([whole, whole]),
        why: /is damaged \(another segment \(a second gzip member\) after its last complete block\): read its [1-9]\d* complete blocks?$/,
      },
    ];
    const good = await analyze(join(goodGz, '..'));
    for (const { name, bytes, why } of cases) {
      const dir = processDir(`gz-${name}`, false);
      writeFileSync(join(dir, 'trace.0.bin.gz'), bytes);
      const damaged = await analyze(dir);
      assert.equal(damaged.segments, 1, name);
      assert.ok(damaged.events > 0, name);
      if (name !== 'flip') assert.equal(damaged.events, good.events, name);
      assert.equal(damaged.warnings.length, 1, `${name}: ${damaged.warnings.join('\n')}`);
      assert.match(damaged.warnings[0] ?? '', /^warning: .*trace\.0\.bin\.gz /);
      assert.match(damaged.warnings[0] ?? '', why, name);
      const out = join(root, `gz-${name}`, 'out.json');
      const exported = await runCli(['profile', 'export', dir, '-o', out], {}, 60_000);
      assert.equal(exported.code, 0, exported.stderr);
      assert.match(exported.stderr.trim(), why, name);
    }
  });

  it('a gzip bomb is refused past a bound, with a warning, and the rest is read', async () => {
    const dir = processDir('bomb', true);
    // A real header, then 300 MB of zeros (300 KB of gzip): past the 256 MB a segment may inflate to.
    const header = goodRaw.subarray(0, 16 + goodRaw.readUInt32LE(12));
    const zeros = Buffer.alloc(1024 * 1024);
    async function* bomb(): AsyncGenerator<Buffer> {
      yield header;
      for (let i = 0; i < 300; i++) yield zeros;
    }
    await pipeline(bomb(), createGzip({ level: 1 }), createWriteStream(join(dir, 'trace.1.bin.gz')));
    const analyzed = await analyze(dir);
    assert.equal(analyzed.segments, 1);
    assert.equal(analyzed.warnings.length, 1, analyzed.warnings.join('\n'));
    assert.match(
      analyzed.warnings[0] ?? '',
      /^warning: skipped a damaged segment: cannot read trace segment .*trace\.1\.bin\.gz: it inflates to more than 256 MB, more than any segment the recorder writes/,
    );
    const exported = await runCli(['profile', 'export', dir, '-o', join(root, 'bomb', 'out.json')], {}, 60_000);
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stderr, /trace\.1\.bin\.gz: it inflates to more than 256 MB/);
  });
});
