/**
 * What a hostile tester did to the recorder, each as it was done: a full disk, a program out of
 * file descriptors, values no number field can hold, names of any type, rejected tasks, a program
 * that changes directory, a budget smaller than a segment, a service name that is a path, an addon
 * path that is a script. The recorder must neither crash the program, nor stop recording, nor
 * change what the program would have done without it.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { eventRows } from '../../../src/profile/format/decoder.js';
import { diskBytes, killAll, processDirs, readSegments, runToEnd, tempDir } from '../trace-files.js';

const dirs: string[] = [];
after(() => {
  killAll();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function traceDir(): string {
  const dir = tempDir('dial9-hostile');
  dirs.push(dir);
  return dir;
}

const API = new URL('../../../src/profile/recorder/api.js', import.meta.url).href;
/** The range a signed trace field holds exactly (docs/trace-format.md): larger values are clamped to it. */
const SIGNED_MAX = 2 ** 53 - 1;
const SIGNED_MIN = -(2 ** 52);

describe('the recorder under hostile conditions', () => {
  it('a full disk (no file may grow: ulimit -f 0) leaks no descriptor and leaves no empty segment', async () => {
    const dir = traceDir();
    const run = await runToEnd(
      `
      import { readdirSync } from 'node:fs';
      import { mark } from '${API}';
      const fds = () => readdirSync('/proc/self/fd').length;
      await new Promise((r) => setTimeout(r, 300));
      const before = fds();
      for (let round = 0; round < 20; round++) {
        for (let i = 0; i < 300; i++) mark('app', 'm', i);
        await new Promise((r) => setTimeout(r, 100));
      }
      console.log(JSON.stringify({ before, after: fds() }));
      `,
      { DIAL9_ENABLED: 'true', DIAL9_TRACE_DIR: dir },
      { ulimit: '-f 0' },
    );
    assert.equal(run.code, 0, run.stderr);
    const { before, after } = JSON.parse(run.stdout.trim()) as { before: number; after: number };
    // One leaked per block before: ten blocks or so in 2 s.
    assert.ok(after - before <= 2, `descriptors ${before} -> ${after}`);
    assert.match(run.stderr, /cannot write trace segment/);
    const files = processDirs(dir).flatMap((d) => readdirSync(d));
    assert.deepEqual(files, [], 'no segment without its header');
  });

  it('a program out of file descriptors keeps running: the samplers do not throw EMFILE', async () => {
    const dir = traceDir();
    const run = await runToEnd(
      `
      import { openSync } from 'node:fs';
      await new Promise((r) => setTimeout(r, 300));
      const held = [];
      try {
        for (;;) held.push(openSync('/dev/null', 'r'));
      } catch (err) {
        console.log('exhausted', err.code);
      }
      // Several of the recorder's 100 ms samples, with no descriptor to spare.
      await new Promise((r) => setTimeout(r, 700));
      console.log('survived', held.length);
      `,
      { DIAL9_ENABLED: 'true', DIAL9_TRACE_DIR: dir },
      { ulimit: '-n 64' },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /exhausted EMFILE/);
    assert.match(run.stdout, /survived \d+/);
    assert.doesNotMatch(run.stderr, /uv_resident_set_memory/);
  });

  it('marks of any value and names of any type: clamped, recorded, and the trace goes on', async () => {
    const dir = traceDir();
    const run = await runToEnd(
      `
      import { mark, span, task } from '${API}';
      mark('app', 'inf', Infinity);
      mark('app', 'minus-inf', -Infinity);
      mark('app', 'nan', NaN);
      mark('app', 'huge', 1e20);
      mark('app', 'minus-huge', -(2 ** 60));
      mark('app', 'bigint', 10n);
      mark('app', 'symbol', Symbol('x'));
      mark(undefined, 'no target', 1);
      span(42, Symbol('name'), () => 1);
      task({ toString() { throw new Error('no name'); } }, () => 1);
      mark('app', 'x'.repeat(100_000), 7);
      mark('app', 'after', 42);
      `,
      { DIAL9_ENABLED: 'true', DIAL9_TRACE_DIR: dir },
      { timeoutMs: 20_000 },
    );
    assert.equal(run.code, 0, run.stderr);
    const segments = readSegments(dir);
    assert.equal(segments.length, 1, 'sealed at exit');
    const segment = (segments[0] ?? assert.fail('no segment')).segment;
    assert.equal(segment.truncated, false, 'every block decodes');
    const marks = new Map(eventRows(segment, 'mark').map((m) => [String(m.name), Number(m.value)]));
    assert.equal(marks.get('inf'), SIGNED_MAX);
    assert.equal(marks.get('minus-inf'), SIGNED_MIN);
    assert.equal(marks.get('nan'), 0);
    assert.equal(marks.get('huge'), SIGNED_MAX);
    assert.equal(marks.get('minus-huge'), SIGNED_MIN);
    assert.equal(marks.get('bigint'), 10);
    assert.equal(marks.get('symbol'), 0);
    assert.equal(marks.get('after'), 42);
    // Names are cut to 200 characters.
    assert.equal(marks.get('x'.repeat(200)), 7);
  });

  it('a rejected task or span nobody handles is still an unhandled rejection; a handled one is not', async () => {
    const env = { DIAL9_ENABLED: 'true', DIAL9_TRACE_DIR: traceDir() };
    const unhandled = await runToEnd(
      `import { task } from '${API}';
      task('refresh', async () => { throw new Error('refresh failed'); });
      setTimeout(() => console.log('not reached'), 500);`,
      env,
    );
    assert.notEqual(unhandled.code, 0, 'the process fails as it would without the recorder');
    assert.match(unhandled.stderr, /refresh failed/);
    assert.doesNotMatch(unhandled.stdout, /not reached/);
    const handled = await runToEnd(
      `import { span, task } from '${API}';
      try { await span('app:db', 'q', () => Promise.reject(new Error('query failed'))); } catch (err) { console.log('caught', err.message); }
      await task('t', async () => 5).then((v) => console.log('task gave', v));`,
      env,
    );
    assert.equal(handled.code, 0, handled.stderr);
    assert.match(handled.stdout, /caught query failed/);
    assert.match(handled.stdout, /task gave 5/);
  });

  it('a relative DIAL9_TRACE_DIR stays where it was when the program changes directory', async () => {
    const cwd = traceDir();
    const run = await runToEnd(
      `
      import { tmpdir } from 'node:os';
      import { mark } from '${API}';
      process.chdir(tmpdir());
      for (let i = 0; i < 15; i++) {
        mark('app', 'tick', i);
        await new Promise((r) => setTimeout(r, 100));
      }
      `,
      { DIAL9_ENABLED: 'true', DIAL9_TRACE_DIR: './relative-traces', DIAL9_ROTATION_SECS: '0.3' },
      { cwd },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stderr, /cannot (seal|write)/);
    const segments = readSegments(join(cwd, 'relative-traces'));
    assert.ok(segments.length >= 3, `${segments.length} segments`);
    for (const s of segments) assert.ok(s.name.endsWith('.bin.gz'), s.name);
    const ticks = segments.flatMap((s) => eventRows(s.segment, 'mark')).map((m) => Number(m.value));
    assert.deepEqual(
      ticks,
      Array.from({ length: 15 }, (_, i) => i),
    );
  });

  it('a budget smaller than a segment: each sealed segment reaches the hook, the total stays in it', async () => {
    const dir = traceDir();
    const budgetBytes = 0.01 * 1024 * 1024;
    const run = await runToEnd(
      `
      import { randomBytes } from 'node:crypto';
      import { existsSync } from 'node:fs';
      import { mark, onSegmentSealed } from '${API}';
      onSegmentSealed((s) => console.log(JSON.stringify({ index: s.index, there: existsSync(s.path) })));
      for (let i = 0; i < 30; i++) {
        // Random names: incompressible, so a sealed segment stays about as large as it was written.
        for (let j = 0; j < 20; j++) mark('app', randomBytes(90).toString('hex'), j);
        await new Promise((r) => setTimeout(r, 50));
      }
      `,
      {
        DIAL9_ENABLED: 'true',
        DIAL9_TRACE_DIR: dir,
        DIAL9_MAX_DISK_USAGE_MB: '0.01',
        // Asked for more than the budget: segments are cut at half of it.
        DIAL9_MAX_FILE_SIZE_MB: '1',
      },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stderr, /cannot seal/);
    const sealed = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { index: number; there: boolean });
    assert.ok(sealed.length >= 5, `${sealed.length} sealed`);
    assert.deepEqual(
      sealed.map((s) => s.index),
      sealed.map((_, i) => i),
      'every segment announced, in order',
    );
    for (const s of sealed) assert.ok(s.there, `segment ${s.index} was gone when its hook ran`);
    assert.ok(diskBytes(dir) <= budgetBytes, `${diskBytes(dir)} bytes on disk, budget ${budgetBytes}`);
  });

  it('a service name that is a path warns and stays inside the trace directory; the directory name is unique', async () => {
    const dir = traceDir();
    const run = await runToEnd(`console.log('ran');`, {
      DIAL9_ENABLED: 'true',
      DIAL9_TRACE_DIR: join(dir, 'traces'),
      DIAL9_SERVICE_NAME: '../../escape',
    });
    assert.equal(run.code, 0, run.stderr);
    // JSON log lines: the value's quotes are escaped.
    assert.match(run.stderr, /DIAL9_SERVICE_NAME=\\"\.\.\/\.\.\/escape\\" is not valid/);
    assert.deepEqual(readdirSync(dir), ['traces']);
    const [processDir, ...others] = readdirSync(join(dir, 'traces'));
    assert.equal(others.length, 0);
    // <service>.<pid>.<start>.<random>: pid 1 in two containers on one volume, started in one second, still differ.
    assert.match(processDir ?? '', /^service\.\d+\.\d{8}T\d{6}Z\.[0-9a-f]{6}$/);
  });

  it('a program that ends inside a stall: the stall is recorded, not left as a hang', async () => {
    const dir = traceDir();
    const run = await runToEnd(
      `
      setTimeout(() => {
        const end = Date.now() + 1500;
        while (Date.now() < end);
        console.log('done');
      }, 300);
      `,
      { DIAL9_ENABLED: 'true', DIAL9_TRACE_DIR: dir },
    );
    assert.equal(run.code, 0, run.stderr);
    const segment = (readSegments(dir)[0] ?? assert.fail('no segment')).segment;
    const stalls = eventRows(segment, 'stall').map((s) => Number(s.durationUs) / 1000);
    assert.ok(
      stalls.some((ms) => ms >= 1400 && ms < 5000),
      `stalls: ${stalls.join(', ')} ms`,
    );
  });

  it('a trace directory that cannot be made (a file on its path, /proc): one warning, then the default', async () => {
    for (const bad of ['file', '/proc/nope/traces']) {
      const tmp = traceDir();
      writeFileSync(join(tmp, 'file'), 'not a directory');
      const value = bad === 'file' ? join(tmp, 'file', 'traces') : bad;
      const run = await runToEnd(`console.log('ran');`, {
        DIAL9_ENABLED: 'true',
        DIAL9_TRACE_DIR: value,
        // The default is $TMPDIR/dial9-traces: kept inside this test's directory.
        TMPDIR: tmp,
      });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /ran/);
      const warnings = run.stderr.split('\n').filter((line) => line.includes('DIAL9_TRACE_DIR='));
      assert.equal(warnings.length, 1, run.stderr);
      assert.match(warnings[0] ?? '', /is not valid \(allowed: a directory this process can create and write; /);
      assert.doesNotMatch(run.stderr, /cannot (create|write)/);
      const segments = readSegments(join(tmp, 'dial9-traces'));
      assert.equal(segments.length, 1, 'the trace went to the default directory');
    }
  });

  it('DIAL9_PARK_ADDON naming a script: not run, and the start-up line says why', async () => {
    const dir = traceDir();
    mkdirSync(join(dir, 'addon'));
    const script = join(dir, 'addon', 'evil.js');
    writeFileSync(script, "console.log('script ran');");
    const run = await runToEnd(`console.log('program ran');`, {
      DIAL9_ENABLED: 'true',
      DIAL9_TRACE_DIR: join(dir, 'traces'),
      DIAL9_PARK_ADDON: script,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /program ran/);
    assert.doesNotMatch(run.stdout, /script ran/);
    assert.match(run.stderr, /is not a native addon/);
    assert.ok(existsSync(join(dir, 'traces')));
  });
});
