/**
 * `service profile record` with the tools that need no install (cpu, heap, recorder), against the
 * real service under load or a small program, and with a broken, a hung tool and a deaf program.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Summary } from '../../../src/load/summary.js';
import { eventRows } from '../../../src/profile/format/index.js';
import { isRequestRecord, type MetricLine, readRotated } from '../../helpers/ndjson.js';
import { stopAll } from '../../helpers/service-process.js';
import { readSegments } from '../trace-files.js';
import {
  assertNoStrays,
  FIXTURES,
  oneErrorLine,
  onlyCapture,
  record,
  recorderAppArgs,
  tempDir,
} from './capture-helpers.js';

const LOAD = ['--duration', '2s', '--connections', '4'];

function isDead(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

describe('service profile record', () => {
  const roots: string[] = [];
  const root = (name: string) => {
    const dir = tempDir(name);
    roots.push(dir);
    return join(dir, 'captures');
  };
  after(async () => {
    await stopAll();
    for (const dir of roots) rmSync(dir, { recursive: true, force: true });
  });

  test('cpu: a .cpuprofile with samples, the load summary and the request records agree', async () => {
    const captures = root('cpu');
    const result = await record(['--tool', 'cpu', '--capture-dir', captures, ...LOAD]);
    assert.equal(result.code, 0, result.stderr);
    const printed = JSON.parse(result.stdout) as { capture: string };
    const { dir, manifest } = onlyCapture(captures);
    assert.equal(printed.capture, dir);
    assert.match(dir, /\/\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z-cpu$/);
    assert.equal(manifest.tool.name, 'cpu');
    assert.match(manifest.tool.version, /^node v\d+/);
    assert.equal(manifest.exit.code, 0);
    assert.equal(manifest.exit.programKilled, false);
    assert.ok(manifest.command.some((word) => word.endsWith('bin/run.js')));
    assert.ok(manifest.toolCommand.includes('--cpu-prof'));

    // One profile per thread (main and the writer); the main thread's is the one to open.
    const main = manifest.files.find((f) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(f.path));
    assert.ok(main !== undefined, manifest.files.map((f) => f.path).join(', '));
    const profile = JSON.parse(readFileSync(join(dir, main.path), 'utf8')) as {
      nodes: Array<{ callFrame: { url: string } }>;
      samples: number[];
    };
    assert.ok(profile.samples.length > 0);
    assert.ok(
      profile.nodes.some((node) => node.callFrame.url.includes('fastify')),
      'the main thread was profiled',
    );
    assert.ok(manifest.open.includes(main.path), manifest.open);

    const load = manifest.load as Summary;
    assert.ok(load.sent > 0);
    assert.equal(load.transportErrors, 0);
    assert.match(load.workload, /items mix get=9,put=1/);
    // One wide event per answered request: the service drained before it exited.
    const records = readRotated<MetricLine>(join(dir, 'telemetry'), 'metrics.log').filter(isRequestRecord);
    assert.equal(records.length, load.completed);
    const logs = readFileSync(join(dir, 'telemetry', 'application.log'), 'utf8');
    assert.match(logs, /"signal":"SIGINT"/);
    assert.match(logs, /"msg":"stopped"/);
    await assertNoStrays(captures);
  });

  test('heap: a sampling heap profile', async () => {
    const captures = root('heap');
    const result = await record(['--tool', 'heap', '--capture-dir', captures, ...LOAD]);
    assert.equal(result.code, 0, result.stderr);
    const { dir, manifest } = onlyCapture(captures);
    assert.equal(manifest.tool.name, 'heap');
    const file = manifest.files.find((f) => f.path.endsWith('.heapprofile'));
    assert.ok(file !== undefined);
    const profile = JSON.parse(readFileSync(join(dir, file.path), 'utf8')) as {
      head: { children: unknown[]; callFrame: { functionName: string } };
      samples: unknown[];
    };
    assert.ok(profile.head.children.length > 0);
    assert.ok(profile.samples.length > 0);
    assert.match(manifest.open, /\.heapprofile/);
    await assertNoStrays(captures);
  });

  test('recorder: a command after -- gets the flight recorder switched on, into the capture', async () => {
    const captures = root('recorder');
    const app = join(FIXTURES, 'recorder-app.js');
    const result = await record(recorderAppArgs(captures, '1s', 2));
    assert.equal(result.code, 0, result.stderr);
    const { dir, manifest } = onlyCapture(captures);
    assert.equal(manifest.tool.name, 'recorder');
    assert.deepEqual(manifest.command.slice(1), [app]);
    assert.equal((manifest.load as Summary).statusCodes['200'], (manifest.load as Summary).completed);
    // What the recorder is handed (the program writes it), beside what the recorder's preload wrote.
    assert.ok(manifest.files.some((f) => f.path === 'trace/handover.json'));
    const segments = readSegments(join(dir, 'trace'));
    assert.ok(segments.length > 0);
    for (const { segment, name } of segments) assert.equal(segment.truncated, false, name);
    // A plain node:http program: its requests come from node:http's channels, one start and end each;
    // every /stall blocks the loop for 50 ms, over the 20 ms stall threshold.
    const ends = segments.flatMap(({ segment }) => eventRows(segment, 'httpInEnd'));
    assert.equal(ends.length, (manifest.load as Summary).completed);
    assert.ok(ends.every((r) => r.status === 200));
    assert.equal(segments.flatMap(({ segment }) => eventRows(segment, 'httpInStart')).length, ends.length);
    assert.ok(segments.flatMap(({ segment }) => eventRows(segment, 'stall')).length > 0);
    const handover = JSON.parse(readFileSync(join(dir, 'trace', 'handover.json'), 'utf8')) as {
      env: Record<string, string>;
    };
    assert.equal(handover.env.DIAL9_ENABLED, 'true');
    assert.equal(handover.env.DIAL9_TRACE_DIR, join(dir, 'trace'));
    assert.equal(handover.env.DIAL9_CPU_PROFILE_ENABLED, 'true');
    assert.match(manifest.open, /service profile analyze .*\/trace \(one request: --request ID\)$/);
    await assertNoStrays(captures);
  });

  test('recorder: the service under load writes sealed segments whose requests are its wide events', async () => {
    const captures = root('recorder-service');
    const result = await record(['--tool', 'recorder', '--capture-dir', captures, ...LOAD]);
    assert.equal(result.code, 0, result.stderr);
    const { dir, manifest } = onlyCapture(captures);
    assert.equal(manifest.tool.name, 'recorder');
    assert.equal(manifest.exit.code, 0);
    assert.equal(manifest.exit.programKilled, false);
    // The service's wide events are in the capture: the hint joins them.
    assert.equal(
      manifest.open,
      `read it with: service profile analyze ${join(dir, 'trace')} --metrics ${join(dir, 'telemetry')} (one request: --request ID)`,
    );
    const load = manifest.load as Summary;
    assert.ok(load.completed > 0);
    assert.equal(load.transportErrors, 0);

    // Every segment is sealed (the service stopped cleanly) and decodes with the shared decoder.
    const traceFiles = manifest.files.filter((f) => f.path.startsWith('trace/')).map((f) => f.path);
    assert.ok(traceFiles.length > 0);
    assert.ok(
      traceFiles.every((path) => /^trace\/[^/]+\/trace\.\d+\.bin\.gz$/.test(path)),
      traceFiles.join(', '),
    );
    const segments = readSegments(join(dir, 'trace'));
    assert.equal(segments.length, traceFiles.length);
    for (const { segment, name } of segments) assert.equal(segment.truncated, false, name);
    // Full fidelity: CPU samples are on.
    assert.ok(segments.some(({ segment }) => segment.header.recording.on.some((what) => /^CPU samples/.test(what))));

    // The lifecycle the service publishes on diagnostics_channel: one open and one close per wide event,
    // with the same request ids.
    const opened = segments.flatMap(({ segment }) => eventRows(segment, 'requestOpen'));
    const closed = segments.flatMap(({ segment }) => eventRows(segment, 'requestClose'));
    const records = readRotated<MetricLine>(join(dir, 'telemetry'), 'metrics.log').filter(isRequestRecord);
    assert.equal(records.length, load.completed);
    const recordIds = records.map((r) => String(r.properties?.RequestId)).sort();
    assert.equal(new Set(recordIds).size, recordIds.length);
    assert.deepEqual(opened.map((r) => String(r.requestId)).sort(), recordIds);
    assert.equal(closed.length, records.length);
    // Each close matches its open's sequence number, and the statuses agree with the wide events.
    const openSeqs = new Set(opened.map((r) => r.request));
    assert.ok(closed.every((r) => openSeqs.has(r.request)));
    const statusCount = (statuses: readonly unknown[]) =>
      statuses.reduce<Record<string, number>>((acc, s) => {
        acc[String(s)] = (acc[String(s)] ?? 0) + 1;
        return acc;
      }, {});
    assert.deepEqual(
      statusCount(closed.map((r) => r.status)),
      statusCount(records.map((r) => r.properties?.StatusCode)),
    );
    await assertNoStrays(captures);
  });

  test('--with-downstream: the profiled service forwards to a second instance, which is stopped too', async () => {
    const captures = root('downstream');
    const result = await record(['--tool', 'cpu', '--with-downstream', '--capture-dir', captures, ...LOAD]);
    assert.equal(result.code, 0, result.stderr);
    const { dir, manifest } = onlyCapture(captures);
    assert.match(manifest.downstream ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(manifest.command.includes(`--downstream-url`));
    const records = readRotated<MetricLine>(join(dir, 'telemetry'), 'metrics.log').filter(isRequestRecord);
    assert.equal(records.length, (manifest.load as Summary).completed);
    const forwarded = records.filter((r) => r.metrics?.DownstreamSuccess?.value === 1);
    assert.equal(forwarded.length, records.length, 'every item request went through the downstream');
    await assertNoStrays(captures);
  });

  test('a broken tool: one line, exit 1, no capture left', async () => {
    const captures = root('broken');
    const result = await record(['--tool', '0x', '--capture-dir', captures, ...LOAD], {
      PROFILE_0X_BIN: join(FIXTURES, 'fake-tool.js'),
      FAKE_TOOL_MODE: 'broken',
    });
    assert.equal(result.code, 1, result.stderr);
    const line = oneErrorLine(result);
    assert.match(
      line,
      /^Error: 0x exited \(exit code 3\) before the program listened: fake tool: error: cannot attach the profiler; try --tool cpu/,
    );
    assert.equal(existsSync(captures), false, 'the empty capture root is removed too');
    await assertNoStrays(captures);
  });

  test('a hung tool: killed after --tool-timeout with everything it started; one line, exit 1', async () => {
    const captures = root('hung');
    const pids = join(captures, '..', 'pids');
    const started = Date.now();
    const result = await record(
      ['--tool', 'clinic-flame', '--capture-dir', captures, '--stop-timeout', '2s', '--tool-timeout', '2s', ...LOAD],
      { PROFILE_CLINIC_BIN: join(FIXTURES, 'fake-tool.js'), FAKE_TOOL_MODE: 'hung', FAKE_TOOL_PIDS: pids },
    );
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      oneErrorLine(result),
      /^Error: clinic-flame did not finish within 2 s after the program exited; killed it and removed the capture; raise --tool-timeout/,
    );
    // Load 2 s, then at most the two 2 s bounds (and start-up) on a busy machine.
    assert.ok(Date.now() - started < 40_000);
    const started3 = readFileSync(pids, 'utf8').trim().split('\n').map(Number);
    assert.equal(started3.length, 3, 'the tool, the program and the helper');
    for (const pid of started3) assert.ok(isDead(pid), `process ${pid} is still running`);
    assert.equal(existsSync(captures), false);
    await assertNoStrays(captures);
  });

  test('a program that ignores SIGINT: killed after --stop-timeout, reported, nothing kept', async () => {
    const captures = root('deaf');
    const result = await record([
      '--tool',
      'cpu',
      '--capture-dir',
      captures,
      '--stop-timeout',
      '2s',
      '--duration',
      '1s',
      '--',
      'node',
      join(FIXTURES, 'deaf-app.js'),
    ]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      oneErrorLine(result),
      /^Error: cpu: the program did not exit within 2 s of the stop signal, so nothing was written/,
    );
    assert.equal(existsSync(captures), false);
    await assertNoStrays(captures);
  });

  test('a program that crashes (SIGSEGV) after the tool wrote its output: kept, and the crash is said', async () => {
    const captures = root('crash');
    const result = await record(
      ['--tool', 'cpu', '--capture-dir', captures, ...LOAD, '--', 'node', join(FIXTURES, 'crash-app.js')],
      { CRASH_AFTER_REQUESTS: '20' },
    );
    // Node writes --cpu-prof's profile even on a SIGSEGV sent by kill(): the capture is complete
    // up to the crash. (When the tool writes nothing, the error names the crash: program-crash
    // tests and clinic bubbleprof's in external-tools.)
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /^the program crashed \(SIGSEGV\) under cpu; the capture stops there$/m);
    const { manifest } = onlyCapture(captures);
    assert.equal(manifest.exit.signal, 'SIGSEGV');
    assert.equal(manifest.exit.programKilled, false);
    assert.ok(manifest.files.some((f) => f.path.endsWith('.cpuprofile')));
    await assertNoStrays(captures);
  });

  test('bad options stop before anything starts: one line, exit 2', async () => {
    const captures = root('usage');
    for (const [args, pattern] of [
      [['--tool', 'perf'], /invalid value "perf" for --tool \(PROFILE_TOOL\): expected one of recorder, cpu/],
      [['--rate', 'fast'], /--rate \(LOAD_RATE\)/],
      [['--with-downstream', '--', 'node', 'app.js'], /--with-downstream starts a second service instance/],
      [['--', 'python3', 'app.py'], /the command must start with node/],
      [['--stop-timeout', '0s'], /--stop-timeout \(PROFILE_STOP_TIMEOUT\)/],
    ] as Array<[string[], RegExp]>) {
      const result = await record(['--capture-dir', captures, ...args]);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(oneErrorLine(result), pattern);
    }
    assert.equal(existsSync(captures), false);
    assert.deepEqual(readdirSync(join(captures, '..')), []);
  });
});
