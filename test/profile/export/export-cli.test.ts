/**
 * `service profile export` on traces recorded here (a real program under the recorder preload):
 * the Chrome trace-event JSON parses and holds what importers need (fields per phase, whole-µs
 * times inside the trace, nesting per track, matching async pairs, numeric counters) and what the
 * program did; the .cpuprofile is a consistent V8 profile whose hottest app frame is the planted
 * function; the errors are one line with the right exit code.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FORMAT_VERSION } from '../../../src/profile/format/schema.js';
import { runCli, stopAll } from '../../helpers/service-process.js';
import { killAll, processDirs, readSegments, tempDir } from '../trace-files.js';
import { PLANTED_FUNCTION, PLANTED_LINE, recordTrace } from './recorded-trace.js';
import { checkAsyncPairs, checkFields, checkNesting, type TraceEvent } from './trace-event-checks.js';

interface ChromeTrace {
  traceEvents: TraceEvent[];
  displayTimeUnit: string;
  metadata: { processes: { pid: number; cpuSamples: { placed: number }; segments: number; formatVersion: number }[] };
}

interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; scriptId: string; url: string; lineNumber: number; columnNumber: number };
    hitCount: number;
    children: number[];
  }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const SAMPLE_PERIOD_US = 1e6 / 499;
const cleanup: string[] = [];
let twoProcesses = '';
let processA = '';
let withoutSamples = '';
let out = '';

before(async () => {
  twoProcesses = await recordTrace();
  processA = processDirs(twoProcesses)[0] ?? assert.fail('no process directory');
  await recordTrace({}, twoProcesses);
  withoutSamples = await recordTrace({ DIAL9_CPU_PROFILE_ENABLED: 'false' });
  out = tempDir('dial9-export-out');
  cleanup.push(twoProcesses, withoutSamples, out);
});

after(async () => {
  killAll();
  await stopAll();
  for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
});

async function exportOk(args: string[]): Promise<string> {
  const result = await runCli(['profile', 'export', ...args], {}, 60_000);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout;
}

function oneLineError(result: { code: number | null; stderr: string }, code: number, pattern: RegExp): void {
  assert.equal(result.code, code, result.stderr);
  assert.equal(result.stderr.trim().split('\n').length, 1, `one line: ${result.stderr}`);
  assert.match(result.stderr, pattern);
}

const threadNames = (events: readonly TraceEvent[]) =>
  new Map(
    events
      .filter((e) => e.ph === 'M' && e.name === 'thread_name')
      .map((e) => [`${e.pid}/${e.tid}`, String(e.args?.name)]),
  );

describe('service profile export --format chrome', () => {
  it('writes trace-event JSON that importers accept: fields, µs inside the trace, nesting, pairs, counters', async () => {
    const file = join(out, 'a.trace.json');
    const stdout = await exportOk([processA, '-o', file]);
    assert.match(stdout, /^wrote .*a\.trace\.json \(.* MB, 1 process\(es\)\); open it in https:\/\/ui\.perfetto\.dev/);
    const trace = JSON.parse(readFileSync(file, 'utf8')) as ChromeTrace;
    assert.equal(trace.displayTimeUnit, 'ms');
    const events = trace.traceEvents;
    checkFields(events);
    assert.ok(checkNesting(events) >= 2, 'main thread and CPU tracks');
    const pairs = checkAsyncPairs(events);

    // One process: ts is the trace clock in µs, so every event lies within what the segments hold.
    let minUs = Number.POSITIVE_INFINITY;
    let maxUs = Number.NEGATIVE_INFINITY;
    for (const { segment } of readSegments(processA))
      for (const columns of Object.values(segment.events))
        for (let i = 0; i < columns.count; i++) {
          const t = columns.time[i] as number;
          const end = t + (columns.fields.durationUs?.[i] ?? 0);
          minUs = Math.min(minUs, t, end - (columns.fields.durationUs?.[i] ?? 0));
          maxUs = Math.max(maxUs, end);
        }
    for (const e of events) {
      if (e.ph === 'M') continue;
      const start = e.ts as number;
      const end = start + (e.dur ?? 0);
      assert.ok(start >= Math.floor(minUs) - 1, `${JSON.stringify(e)} starts before the trace (${minUs})`);
      // CPU slices may stand for one sampling period past the last sample.
      assert.ok(end <= Math.ceil(maxUs) + SAMPLE_PERIOD_US + 1, `${JSON.stringify(e)} ends after the trace (${maxUs})`);
    }

    // The program's requests: 6 Burn, 6 Proxy, 7 Fast, as async slices matching their wide events.
    const requests = [...pairs.values()].filter((p) => p.begin.cat === 'request');
    const byName = (name: string) => requests.filter((p) => p.begin.name === name);
    assert.deepEqual(
      byName('Burn')
        .map((p) => p.begin.args?.requestId)
        .sort(),
      ['burn-0', 'burn-1', 'burn-2', 'burn-3', 'burn-4', 'burn-5'],
    );
    assert.equal(byName('Proxy').length, 6);
    assert.equal(byName('Fast').length, 7);
    for (const { begin, end } of requests) {
      assert.equal(end.args?.status, 200);
      const spanUs = (end.ts as number) - (begin.ts as number);
      assert.ok(
        Math.abs(spanUs - Number(end.args?.durationMs) * 1000) <= 2,
        `${spanUs} µs vs ${end.args?.durationMs} ms`,
      );
    }
    for (const { begin, end } of byName('Burn'))
      assert.ok((end.ts as number) - (begin.ts as number) >= 80_000, 'a burn lasts its 80 ms');

    // Outgoing requests to the slow downstream: their own track, at least its 120 ms each.
    const names = threadNames(events);
    const slow = [...pairs.values()].filter((p) => p.begin.cat === 'http.out' && p.begin.name.endsWith('/slow'));
    assert.equal(slow.length, 6);
    for (const { begin, end } of slow) {
      assert.equal(names.get(`${begin.pid}/${begin.tid}`), 'outgoing requests');
      assert.ok((end.ts as number) - (begin.ts as number) >= 119_000, JSON.stringify(begin));
      assert.equal(end.args?.status, 200);
    }

    // Main thread: the six 80 ms burns as stalls (named after the request that last ran code, which
    // may be one served beside the burn), the forced GCs.
    const main = events.filter((e) => e.ph === 'X' && names.get(`${e.pid}/${e.tid}`)?.startsWith('main thread'));
    const stalls = main.filter((e) => e.name === 'stall');
    assert.ok(stalls.filter((e) => (e.dur as number) >= 80_000).length >= 6, `stalls: ${JSON.stringify(stalls)}`);
    const ids = new Set(requests.map((p) => p.begin.args?.requestId));
    assert.ok(
      stalls.some((e) => String(e.args?.requestId).startsWith('burn-')),
      'a stall names a burn request',
    );
    for (const e of stalls)
      if (e.args?.requestId !== undefined) assert.ok(ids.has(e.args.requestId), JSON.stringify(e));
    assert.ok(main.filter((e) => e.cat === 'gc' && e.args?.forced === true).length >= 6, 'six forced GCs');

    // CPU samples as a flame chart naming the planted function, at its line.
    const cpu = events.filter((e) => e.ph === 'X' && e.cat === 'cpu');
    assert.ok(cpu.every((e) => names.get(`${e.pid}/${e.tid}`) === 'CPU samples (JS stacks)'));
    const planted = cpu.filter((e) => e.name === PLANTED_FUNCTION);
    assert.ok(planted.length > 0, 'the planted function is on the CPU track');
    assert.ok(planted.every((e) => String(e.args?.url).endsWith('program.mjs') && e.args?.line === PLANTED_LINE));
    const plantedMs = planted.reduce((sum, e) => sum + (e.dur as number), 0) / 1000;
    assert.ok(plantedMs >= 50, `${plantedMs} ms of ${6 * 80} ms burned shows on the CPU track`);

    const counters = new Set(events.filter((e) => e.ph === 'C').map((e) => e.name));
    for (const name of [
      'event loop delay (ms)',
      'event loop utilization (%)',
      'RSS (MB)',
      'heap used (MB)',
      'active handles',
      'requests in flight',
    ])
      assert.ok(counters.has(name), `counter ${name}`);
    assert.equal(trace.metadata.processes.length, 1);
    assert.ok((trace.metadata.processes[0]?.cpuSamples.placed ?? 0) > 0);
    // The metadata names the trace format each process was recorded in (the current one here).
    assert.equal(trace.metadata.processes[0]?.formatVersion, FORMAT_VERSION);
  });

  it('gives each process of a trace directory its own pid, and writes to stdout with -o -', async () => {
    const stdout = await exportOk([twoProcesses, '-o', '-']);
    const trace = JSON.parse(stdout) as ChromeTrace;
    checkFields(trace.traceEvents);
    checkNesting(trace.traceEvents);
    const pairs = checkAsyncPairs(trace.traceEvents);
    const pids = trace.metadata.processes.map((p) => p.pid);
    assert.equal(new Set(pids).size, 2);
    for (const pid of pids) {
      assert.ok(trace.traceEvents.some((e) => e.ph === 'M' && e.name === 'process_name' && e.pid === pid));
      const burns = [...pairs.values()].filter((p) => p.begin.pid === pid && p.begin.name === 'Burn');
      assert.equal(burns.length, 6, `pid ${pid}`);
    }
  });
});

describe('service profile export --format cpuprofile', () => {
  it('writes a V8 profile: consistent tree, samples and deltas agree, the planted function hottest among app frames', async () => {
    const file = join(out, 'a.cpuprofile');
    await exportOk([processA, '--format', 'cpuprofile', '-o', file]);
    const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    const ids = new Set(profile.nodes.map((n) => n.id));
    assert.equal(ids.size, profile.nodes.length, 'node ids are unique');
    assert.equal(profile.nodes[0]?.callFrame.functionName, '(root)');
    const parents = new Map<number, number>();
    for (const node of profile.nodes)
      for (const child of node.children) {
        assert.ok(ids.has(child), `child ${child} of ${node.id} is a node`);
        assert.ok(!parents.has(child), `node ${child} has one parent`);
        parents.set(child, node.id);
      }
    assert.equal(parents.size, profile.nodes.length - 1, 'every node but the root has a parent');

    assert.equal(profile.samples.length, profile.timeDeltas.length);
    assert.ok(profile.samples.length > 20, `${profile.samples.length} samples`);
    for (const id of profile.samples) assert.ok(ids.has(id), `sample ${id} is a node`);
    const hits = profile.nodes.reduce((sum, n) => sum + n.hitCount, 0);
    assert.equal(hits, profile.samples.length, 'hit counts add up to the samples');
    assert.ok(
      profile.timeDeltas.every((d) => Number.isInteger(d) && d >= 0),
      'µs deltas, in time order',
    );
    const span = profile.endTime - profile.startTime;
    const deltas = profile.timeDeltas.reduce((sum, d) => sum + d, 0);
    assert.ok(deltas <= span && span - deltas <= SAMPLE_PERIOD_US + 1, `deltas ${deltas} µs, span ${span} µs`);

    const appSelf = new Map<string, number>();
    for (const node of profile.nodes)
      if (node.callFrame.url.endsWith('program.mjs'))
        appSelf.set(node.callFrame.functionName, (appSelf.get(node.callFrame.functionName) ?? 0) + node.hitCount);
    const hottest = [...appSelf].sort((a, b) => b[1] - a[1])[0];
    assert.equal(hottest?.[0], PLANTED_FUNCTION, JSON.stringify([...appSelf]));
    const planted = profile.nodes.find((n) => n.callFrame.functionName === PLANTED_FUNCTION);
    assert.equal(planted?.callFrame.lineNumber, PLANTED_LINE - 1, 'V8 line numbers are 0-based');
    assert.notEqual(planted?.callFrame.scriptId, '0');
  });

  it('refuses a directory of several processes, listing them (one line, exit 1)', async () => {
    const result = await runCli(['profile', 'export', twoProcesses, '--format', 'cpuprofile', '-o', join(out, 'x')]);
    oneLineError(result, 1, /2 with CPU samples: export one of /);
    for (const dir of processDirs(twoProcesses)) assert.ok(result.stderr.includes(dir), `${dir} listed`);
    assert.equal(existsSync(join(out, 'x')), false);
  });

  it('says how to record CPU samples when the trace has none (one line, exit 1, no file)', async () => {
    const file = join(out, 'none.cpuprofile');
    const result = await runCli(['profile', 'export', withoutSamples, '--format', 'cpuprofile', '-o', file]);
    oneLineError(result, 1, /without CPU samples: record again with DIAL9_CPU_PROFILE_ENABLED=true/);
    assert.equal(existsSync(file), false);
  });
});

describe('service profile export errors', () => {
  it('a path with no trace, a file that is not one, a bad --format: one line each, exit 1 or 2', async () => {
    oneLineError(await runCli(['profile', 'export', join(out, 'missing')]), 1, /^Error: .*missing does not exist$/m);
    const empty = join(out, 'empty');
    mkdirSync(empty);
    oneLineError(await runCli(['profile', 'export', empty]), 1, /no trace segments \(trace\.<n>\.bin\.gz\) in /);
    const fake = join(out, 'fake');
    mkdirSync(fake);
    writeFileSync(join(fake, 'trace.0.bin'), 'not a trace at all');
    oneLineError(
      await runCli(['profile', 'export', fake]),
      1,
      /trace\.0\.bin is not a readable trace segment: not a dial9-node trace/,
    );
    const bad = await runCli(['profile', 'export', processA, '--format', 'xml']);
    oneLineError(bad, 2, /invalid value "xml" for --format \(PROFILE_EXPORT_FORMAT\): one of chrome, cpuprofile/);
  });
});
