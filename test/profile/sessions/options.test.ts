/** Profiling-session options and the pieces that need no process: validation, known problems, names. */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadRecordConfig, loadRunProfileConfig } from '../../../src/config/profile.js';
import { InvalidOptionError, ServiceError } from '../../../src/errors.js';
import { captureName } from '../../../src/profile/sessions/capture-dir.js';
import { knownProblem } from '../../../src/profile/sessions/known-problems.js';
import { parseNodeCommand } from '../../../src/profile/sessions/program.js';
import { TOOLS } from '../../../src/profile/sessions/tools.js';
import { selectMainThreadLog } from '../../../src/profile/sessions/v8-logs.js';
import { tempDir } from './capture-helpers.js';

describe('profiling-session options', () => {
  test('record: the service gets the items mix unless a path or a mix is given; a command gets /', () => {
    const service = loadRecordConfig({}, {}, [], false);
    assert.equal(service.tool, 'cpu');
    assert.equal(service.command, undefined);
    const mix = service.loadFor('http://127.0.0.1:9').workload;
    assert.equal(mix.kind, 'mix');
    const path = loadRecordConfig({ targetPath: '/health' }, {}, [], false).loadFor('http://127.0.0.1:9');
    assert.equal(path.url.href, 'http://127.0.0.1:9/health');
    const command = loadRecordConfig({}, {}, ['node', 'app.js'], false).loadFor('http://127.0.0.1:9');
    assert.equal(command.workload.kind, 'single');
    assert.equal(command.url.href, 'http://127.0.0.1:9/');
  });

  test('record: capture options are validated, relative directories made absolute', () => {
    const config = loadRecordConfig(
      { captureDir: 'caps', toolsDir: 'tools', stopTimeout: '1.5s', toolTimeout: '2m' },
      {},
      [],
      false,
    );
    assert.equal(config.captureDir, join(process.cwd(), 'caps'));
    assert.equal(config.toolsDir, join(process.cwd(), 'tools'));
    assert.equal(config.stopTimeoutMs, 1500);
    assert.equal(config.toolTimeoutMs, 120_000);
    for (const raw of [{ tool: 'perf' }, { stopTimeout: 'soon' }, { captureDir: ' ' }, { targetPath: 'health' }]) {
      assert.throws(() => loadRecordConfig(raw, {}, [], false), InvalidOptionError, JSON.stringify(raw));
    }
    assert.throws(() => loadRecordConfig({ url: 'http://127.0.0.1:1' }, {}, [], false), /applies only with -- COMMAND/);
    assert.throws(() => loadRecordConfig({}, { rate: '0' }, [], false), /--rate/);
  });

  test('run: --profile is optional and checked', () => {
    assert.equal(loadRunProfileConfig({}), undefined);
    assert.equal(loadRunProfileConfig({ profile: 'clinic-heap' })?.tool, 'clinic-heap');
    // The service under the tool must not see RUN_PROFILE, or it would profile itself again.
    assert.deepEqual(loadRunProfileConfig({ profile: 'cpu' })?.serviceUnsetEnv, ['RUN_PROFILE']);
    assert.throws(() => loadRunProfileConfig({ profile: 'valgrind' }), /for --profile \(RUN_PROFILE\)/);
  });

  test('a command after -- is a node program; its script is made absolute', () => {
    const program = parseNodeCommand(['node', '--import', './hook.js', 'app.js', '--port', '0'], '/srv');
    assert.equal(program.node, process.execPath);
    assert.deepEqual(program.nodeArgs, ['--import', '/srv/hook.js']);
    assert.equal(program.script, '/srv/app.js');
    assert.deepEqual(program.args, ['--port', '0']);
    // A usage error, like a bad flag: exit 2 with the option code.
    assert.throws(
      () => parseNodeCommand(['npm', 'start']),
      (err: unknown) =>
        err instanceof ServiceError &&
        err.code === 'SVC_ERR_INVALID_OPTION' &&
        err.exitCode === 2 &&
        err.message ===
          'invalid command after -- "npm start": the command must start with node; expected a Node program, e.g. -- node app.js',
    );
    assert.throws(() => parseNodeCommand(['node', '-e', '1']), /has no script file/);
  });

  test("clinic doctor's failure on Node >= 21.7 is named before anything starts", () => {
    assert.equal(knownProblem('clinic-doctor', '20.20.2'), undefined);
    assert.equal(knownProblem('clinic-doctor', '21.6.9'), undefined);
    assert.match(
      knownProblem('clinic-doctor', '21.7.0') ?? '',
      /clinic doctor writes no report on Node ≥ 21\.7 \(this is 21\.7\.0/,
    );
    assert.match(knownProblem('clinic-doctor', '24.1.0') ?? '', /use --tool clinic-flame, cpu or recorder/);
    assert.equal(knownProblem('clinic-flame', '24.1.0'), undefined);
  });

  test('recorder: a capture counts only with a sealed segment, not with any file in trace/', () => {
    const verify = (...paths: string[]) =>
      TOOLS.recorder.verify(
        '/unused',
        paths.map((path) => ({ path, bytes: 1 })),
      );
    assert.match(verify() ?? '', /sealed no segment in trace\//);
    // The program's own file, or a segment the recorder never sealed, is not a recording.
    assert.match(verify('trace/handover.json', 'trace/service.1.x/trace.0.bin.active') ?? '', /sealed no segment/);
    assert.equal(verify('trace/service.1.x/trace.0.bin.gz'), undefined);
    assert.equal(verify('trace/service.1.x/trace.3.pinned.bin'), undefined);
  });

  test('capture names sort by time and name the tool', () => {
    assert.equal(captureName(new Date('2026-11-30T02:40:12.345Z'), '0x'), '2026-11-30T02-40-12.345Z-0x');
  });

  test("0x: the main thread's V8 log is the one rendered, the others are put aside", () => {
    const dir = tempDir('isolate-logs');
    try {
      const out = join(dir, '0x');
      mkdirSync(out);
      // 0x moved a worker's log (the larger one here) into its folder; the main thread's stayed behind.
      writeFileSync(join(out, 'isolate-0x7f00-42-42-v8.log'), `code-creation,worker.js\n${'x'.repeat(5000)}`);
      writeFileSync(join(dir, 'isolate-0x1234-42-42-v8.log'), 'code-creation,/srv/bin/run.js\n');
      assert.equal(selectMainThreadLog(dir, out, '/srv/bin/run.js'), true);
      assert.deepEqual(readdirSync(out), ['isolate-0x1234-42-42-v8.log']);
      assert.deepEqual(readdirSync(join(dir, '0x-other-threads')), ['isolate-0x7f00-42-42-v8.log']);
      assert.equal(selectMainThreadLog(join(dir, 'none'), join(dir, 'none', '0x'), 'x'), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
