/**
 * Idle and busy periods of the loop (park/unpark) through the loop-park native addon, in real
 * programs under the recorder preload: an idling program shows its waits as `idle` events, a busy
 * loop shows none, a full-speed loop is counted (`parks`) rather than recorded per iteration, and
 * a missing addon leaves the recorder running and saying why.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { analyzeTracePath } from '../../../src/profile/analyze/load-node.js';
import { exportTrace } from '../../../src/profile/export/export-node.js';
import { type EventRow, eventRows } from '../../../src/profile/format/index.js';
import { checkFields, checkNesting, type TraceEvent } from '../export/trace-event-checks.js';
import { killAll, ROOT, readSegments, runProgram, runToEnd, tempDir } from '../trace-files.js';

const dirs: string[] = [];
after(() => {
  killAll();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function traceDir(): string {
  const dir = tempDir('dial9-park');
  dirs.push(dir);
  return dir;
}

function rows(dir: string, name: string): EventRow[] {
  return readSegments(dir).flatMap((file) => eventRows(file.segment, name));
}

/** Waits 300 ms three times (after a warm-up), working 30 ms after each, then burns 600 ms. */
const IDLE_PROGRAM = `
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
function burn(ms) { const end = performance.now() + ms; let x = 0; while (performance.now() < end) x++; return x; }
const marks = { gaps: [] };
await sleep(300);
burn(30);
for (let i = 0; i < 3; i++) {
  const start = performance.now();
  await sleep(300);
  marks.gaps.push([start, performance.now()]);
  burn(30);
}
const burnStart = performance.now();
burn(600);
marks.burn = [burnStart, performance.now()];
await sleep(100);
console.log(JSON.stringify(marks));
`;

/** setImmediate as fast as the loop turns, for 1.5 s: tens of thousands of iterations. */
const STORM_PROGRAM = `
const start = performance.now();
let immediates = 0;
await new Promise((resolve) => {
  const step = () => {
    immediates++;
    if (performance.now() - start < 1500) setImmediate(step);
    else resolve();
  };
  setImmediate(step);
});
console.log(JSON.stringify({ start, end: performance.now(), immediates }));
`;

/**
 * Three 300 ms downstream calls (a server in the same process) while the loop runs 3 ms callbacks
 * back to back: never a stall (each is far under 20 ms), never parked either.
 */
const BUSY_DOWNSTREAM_PROGRAM = `
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
function burn(ms) { const end = performance.now() + ms; let x = 0; while (performance.now() < end) x++; return x; }
const server = http.createServer(async (req, res) => {
  if (req.url.startsWith('/slow')) await sleep(300);
  res.end('ok');
});
server.listen(0, '127.0.0.1', async () => {
  const url = 'http://127.0.0.1:' + server.address().port;
  await fetch(url + '/warm').then((r) => r.text());
  await sleep(50);
  for (let i = 0; i < 3; i++) {
    let done = false;
    const call = fetch(url + '/slow?i=' + i).then((r) => r.text()).then(() => { done = true; });
    const spin = () => { burn(3); if (!done) setImmediate(spin); };
    spin();
    await call;
  }
  server.close();
});
`;

const endUs = (row: EventRow) => row.time + (row.durationUs as number);

describe('park/unpark (loop-park native addon)', () => {
  it('is built and loaded here: the start-up line lists it as recorded (fails if CI lost the addon)', async () => {
    const dir = traceDir();
    const run = await runToEnd('await new Promise((r) => setTimeout(r, 250));', {
      DIAL9_ENABLED: 'true',
      DIAL9_TRACE_DIR: dir,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /flight recorder on: [^;]*park\/unpark \(idle periods of 1 ms and more\)/, run.stderr);
    assert.doesNotMatch(run.stderr, /native addon/);
    const header = readSegments(dir)[0]?.segment.header ?? assert.fail('no segment');
    assert.ok(header.recording.on.includes('park/unpark (idle periods of 1 ms and more)'));
    assert.ok(rows(dir, 'parks').length >= 1, 'a parks sample');
  });

  it('shows a program waiting 300 ms as idle periods of about that length, and none during a busy loop', async () => {
    const dir = traceDir();
    // CPU sampling on: its SIGPROF every 10 ms must not cut the waits short (libuv restarts its idle
    // clock when a signal interrupts the poll; the addon has the loop block SIGPROF while polling).
    const run = await runToEnd(IDLE_PROGRAM, {
      DIAL9_ENABLED: 'true',
      DIAL9_TRACE_DIR: dir,
      DIAL9_CPU_PROFILE_ENABLED: 'true',
    });
    assert.equal(run.code, 0, run.stderr);
    const marks = JSON.parse(run.stdout) as { gaps: [number, number][]; burn: [number, number] };
    const idle = rows(dir, 'idle');
    assert.ok(idle.length > 0, 'idle events');
    for (const [startMs, endMs] of marks.gaps) {
      const [gapStart, gapEnd] = [startMs * 1000, endMs * 1000];
      const inGap = idle.filter((row) => endUs(row) > gapStart && row.time < gapEnd);
      const text = JSON.stringify({ gap: [gapStart, gapEnd], inGap });
      // The loop parks after the wait began and unparks before the timer's callback ran (1 ms of slack
      // for the clock calibration).
      for (const row of inGap) {
        assert.ok(row.time >= gapStart - 1000 && endUs(row) <= gapEnd + 1000, text);
        assert.ok((row.waitUs as number) <= (row.durationUs as number) + 1, text);
        assert.ok((row.parks as number) >= 1, text);
      }
      // The recorder's own 10 ms ticks are folded in: most of the wait is one or a few long periods.
      const idleUs = inGap.reduce((sum, row) => sum + (row.durationUs as number), 0);
      const longestUs = Math.max(...inGap.map((row) => row.durationUs as number));
      assert.ok(idleUs >= 0.7 * (gapEnd - gapStart), `idle covers the wait: ${text}`);
      assert.ok(longestUs >= 100_000, `a long idle period, not 10 ms pieces: ${text}`);
      assert.ok(inGap.length <= 8, text);
    }
    const [burnStart, burnEnd] = [marks.burn[0] * 1000, marks.burn[1] * 1000];
    const duringBurn = idle.filter((row) => endUs(row) > burnStart + 1000 && row.time < burnEnd - 1000);
    assert.deepEqual(duringBurn, [], 'no idle period while the loop burns CPU');
    const parks = rows(dir, 'parks');
    assert.equal(
      parks.reduce((sum, row) => sum + (row.idlePeriods as number), 0),
      idle.length,
    );
    assert.ok(parks.every((row) => row.dropped === 0));

    // The chrome export shows them as slices on their own track.
    const output = join(dir, 'idle.trace.json');
    await exportTrace({ path: dir, format: 'chrome', output });
    const events = (JSON.parse(readFileSync(output, 'utf8')) as { traceEvents: TraceEvent[] }).traceEvents;
    checkFields(events);
    checkNesting(events);
    const track = events.find(
      (e) => e.name === 'thread_name' && (e.args as { name?: string }).name === 'event loop idle (parked)',
    );
    const slices = events.filter((e) => e.ph === 'X' && e.tid === track?.tid && e.name === 'idle (parked)');
    assert.equal(slices.length, idle.length);
    const longest = Math.max(...idle.map((row) => row.durationUs as number));
    assert.ok(slices.some((e) => Math.abs((e.dur as number) - longest) <= 1));
  });

  it('counts a full-speed loop per 100 ms instead of recording each turn: bounded events, none dropped', async () => {
    const dir = traceDir();
    const run = await runToEnd(STORM_PROGRAM, { DIAL9_ENABLED: 'true', DIAL9_TRACE_DIR: dir });
    assert.equal(run.code, 0, run.stderr);
    const storm = JSON.parse(run.stdout) as { start: number; end: number; immediates: number };
    const [from, to] = [storm.start * 1000 + 100_000, storm.end * 1000];
    const parks = rows(dir, 'parks').filter((row) => row.time > from && row.time <= to);
    assert.ok(parks.length >= 5, `a parks sample every 100 ms: ${parks.length}`);
    const polls = parks.reduce((sum, row) => sum + (row.parks as number), 0);
    assert.ok(polls >= 2000, `thousands of loop turns counted: ${polls} (${storm.immediates} immediates)`);
    // Every turn polls once: the addon's count matches libuv's own iteration count where Node has it.
    const loops = rows(dir, 'loop').filter((row) => row.time > from && row.time <= to);
    const loopCount = loops.reduce((sum, row) => sum + (row.loopCount as number), 0);
    if (loopCount > 0) assert.ok(Math.abs(loopCount - polls) <= 0.1 * polls + 50, `${loopCount} vs ${polls}`);
    // A turn with immediates pending polls without waiting: no idle periods to speak of.
    const idle = rows(dir, 'idle').filter((row) => row.time > from && row.time <= to);
    assert.ok(idle.length <= 15, `idle periods during the storm: ${JSON.stringify(idle)}`);
    assert.ok(parks.every((row) => row.dropped === 0));
    const events = readSegments(dir).reduce(
      (sum, file) => sum + Object.values(file.segment.events).reduce((n, columns) => n + columns.count, 0),
      0,
    );
    assert.ok(events < 1000, `events in the whole trace: ${events} for ${polls} loop turns`);
  });

  it('lets the analysis see a loop busy with short callbacks during a slow downstream call (no stall says so)', async () => {
    const dir = traceDir();
    const run = await runToEnd(BUSY_DOWNSTREAM_PROGRAM, { DIAL9_ENABLED: 'true', DIAL9_TRACE_DIR: dir });
    assert.equal(run.code, 0, run.stderr);
    const { report } = await analyzeTracePath(dir);
    const finding = report.findings.find((f) => f.kind === 'downstream-wait');
    assert.ok(finding !== undefined, report.findings.map((f) => f.summary).join('\n'));
    assert.ok(Number(finding.evidence.slow) >= 3, finding.summary);
    // Without idle periods only stalls count as busy, and 3 ms callbacks make none: "idle", wrongly.
    assert.equal(finding.evidence.loopIdle, 'no', finding.summary);
    assert.equal(finding.evidence.slowWhileIdle, 0);
    assert.ok(Number(finding.evidence.loopUtilization) >= 0.5, finding.summary);
    assert.equal(finding.severity, 'info');
  });

  it('runs without it when the addon is missing or broken, and says why in the start-up line', async () => {
    const missing = traceDir();
    const run = await runToEnd('await new Promise((r) => setTimeout(r, 250));', {
      DIAL9_ENABLED: 'true',
      DIAL9_TRACE_DIR: missing,
      DIAL9_PARK_ADDON: '/nonexistent/loop_park.node',
    });
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stderr,
      /flight recorder on: .*off: .*park\/unpark \(native addon not built: no \/nonexistent\/loop_park\.node \(npm run build builds it/,
    );
    assert.equal(rows(missing, 'idle').length, 0);
    assert.equal(rows(missing, 'parks').length, 0);
    assert.ok(rows(missing, 'loop').length >= 1, 'the rest is recorded');
    const header = readSegments(missing)[0]?.segment.header ?? assert.fail('no segment');
    assert.match(header.recording.off['park/unpark'] ?? '', /^native addon not built/);

    const broken = traceDir();
    const notAnAddon = join(broken, 'loop_park.node');
    writeFileSync(notAnAddon, 'not a shared object');
    const brokenRun = await runToEnd('await new Promise((r) => setTimeout(r, 250));', {
      DIAL9_ENABLED: 'true',
      DIAL9_TRACE_DIR: join(broken, 'traces'),
      DIAL9_PARK_ADDON: notAnAddon,
    });
    assert.equal(brokenRun.code, 0, brokenRun.stderr);
    assert.match(brokenRun.stderr, /off: .*park\/unpark \(native addon failed to load: [^)]*\)/);
    assert.ok(rows(join(broken, 'traces'), 'loop').length >= 1);
  });
});

describe('rebuilding the addon while a recorded program runs', () => {
  it('leaves the running program alone (the build renames the new file in; copied in place it was SIGBUS)', async () => {
    const dir = traceDir();
    const run = runProgram(
      `console.log('ready');
       const timer = setInterval(() => {}, 5);
       setTimeout(() => clearInterval(timer), 4000);`,
      { DIAL9_ENABLED: 'true', DIAL9_TRACE_DIR: dir },
    );
    const deadline = Date.now() + 20_000;
    while (!run.stdout().includes('ready') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.match(run.stdout(), /ready/, 'the program started');
    // What a second `npm start` (its prestart build) or `npm run build` does beside a running service.
    const build = spawnSync(process.execPath, [join(ROOT, 'native', 'loop-park', 'build.mjs')], { encoding: 'utf8' });
    assert.equal(build.status, 0, build.stderr);
    const result = await run.exited;
    assert.deepEqual({ code: result.code, signal: result.signal }, { code: 0, signal: null }, run.stderr());
    assert.match(run.stderr(), /park\/unpark \(idle periods/, 'the addon was loaded in the program');
  });
});
