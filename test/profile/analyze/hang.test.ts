/**
 * A hang, recorded for real: a program whose main thread spins forever is `kill -9`ed, so its trace
 * holds only the watchdog's `stallOngoing` markers. `analyze` must report the hang (when it began,
 * for at least how long) and the Chrome export must show it on the main-thread track. A stall that
 * ends has markers too, and its own `stall` event: it is reported once, as a stall, not as a hang.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { analyzeTracePath } from '../../../src/profile/analyze/load-node.js';
import { exportTrace } from '../../../src/profile/export/export-node.js';
import { eventRows } from '../../../src/profile/format/index.js';
import { killAll, readSegments, runProgram, runToEnd, tempDir } from '../trace-files.js';

interface TraceEvent {
  ph: string;
  name: string;
  cat?: string;
  pid: number;
  tid?: number;
  ts?: number;
  dur?: number;
  args?: Record<string, unknown>;
}

const cleanup: string[] = [];
let hungDir = '';
/** The trace-clock ms at which the program says it began to spin. */
let hangStartMs = Number.NaN;

/** Says when it starts to spin (trace clock: performance.now()), then spins for ever. */
const HANG_PROGRAM = 'setTimeout(() => { console.log("hang at " + performance.now()); for (;;) {} }, 300);\n';

/** Runs the program until it prints `hang at <ms>`, waits `afterMs`, then `kill -9`s it. */
async function recordHang(dir: string, afterMs: number): Promise<number> {
  const run = runProgram(HANG_PROGRAM, { DIAL9_ENABLED: 'true', DIAL9_TRACE_DIR: dir });
  const deadline = Date.now() + 20_000;
  for (;;) {
    const match = /hang at ([\d.]+)/.exec(run.stdout());
    if (match !== null) {
      await sleep(afterMs);
      run.child.kill('SIGKILL');
      const exit = await run.exited;
      assert.equal(exit.signal, 'SIGKILL');
      return Number(match[1]);
    }
    if (Date.now() > deadline) assert.fail(`the program never hung: ${run.stderr()}`);
    await sleep(20);
  }
}

before(async () => {
  hungDir = tempDir('dial9-hang');
  cleanup.push(hungDir);
  hangStartMs = await recordHang(hungDir, 2600);
});

after(() => {
  killAll();
  for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
});

describe('a hang (the loop never returns, then kill -9)', () => {
  it('leaves an .active file with watchdog markers and no stall event for it', () => {
    const files = readSegments(hungDir);
    assert.ok(
      files.some((f) => f.name.endsWith('.active')),
      files.map((f) => f.name).join(),
    );
    const markers = files.flatMap((f) => eventRows(f.segment, 'stallOngoing'));
    assert.ok(markers.length >= 2, `markers: ${markers.length}`);
    // Startup may stall on a busy machine; none of the stalls is the hang.
    const stalls = files.flatMap((f) => eventRows(f.segment, 'stall'));
    assert.ok(
      stalls.every((s) => s.time / 1000 < hangStartMs - 100),
      JSON.stringify(stalls),
    );
  });

  it('analyze reports it as a critical hang: its start and how long it had lasted', async () => {
    const { report } = await analyzeTracePath(hungDir);
    const hangs = report.findings.filter((f) => f.kind === 'hang');
    assert.equal(hangs.length, 1, JSON.stringify(report.findings));
    const hang = hangs[0] ?? assert.fail('no hang');
    assert.equal(hang.severity, 'critical');
    assert.equal(report.findings[0], hang, 'the hang comes first');
    assert.ok(Math.abs(hang.startMs - hangStartMs) < 100, `start ${hang.startMs} vs ${hangStartMs}`);
    assert.ok(hang.durationMs >= 1000, `duration ${hang.durationMs}`);
    assert.equal(hang.evidence.traceEndsDuringIt, 'yes');
    assert.match(hang.summary, /stuck from \+[\d.]+ s for at least \d+ ms/);
    assert.match(hang.summary, /the trace stops during it/);
    // The trace runs on to the last marker, not only to the hang's start.
    assert.ok(report.trace.endMs >= hang.startMs + hang.durationMs - 1, `trace ends ${report.trace.endMs}`);
  });

  it('the Chrome export has a slice for it on the main-thread track', async () => {
    const output = join(hungDir, 'hang.trace.json');
    await exportTrace({ path: hungDir, format: 'chrome', output });
    const events = (JSON.parse(readFileSync(output, 'utf8')) as { traceEvents: TraceEvent[] }).traceEvents;
    const slices = events.filter((e) => e.ph === 'X' && e.cat === 'hang');
    assert.equal(slices.length, 1, JSON.stringify(slices));
    const slice = slices[0] ?? assert.fail('no slice');
    const track = events.find((e) => e.ph === 'M' && e.name === 'thread_name' && e.tid === slice.tid);
    assert.equal(track?.args?.name, 'main thread');
    assert.ok(Math.abs((slice.ts ?? 0) / 1000 - hangStartMs) < 100, `ts ${slice.ts} vs ${hangStartMs} ms`);
    assert.ok((slice.dur ?? 0) >= 1_000_000, `dur ${slice.dur}`);
    assert.equal(slice.args?.ongoing, true);
  });
});

describe('a long stall that ends', () => {
  it('is reported once, as a stall, and not as a hang', async () => {
    const dir = tempDir('dial9-stall-ends');
    cleanup.push(dir);
    const result = await runToEnd(
      // It lives on a little after the stall: the recorder writes a stall's event once the loop turns again.
      'setTimeout(() => { const end = performance.now() + 1600; while (performance.now() < end) {} setTimeout(() => {}, 300); }, 200);\n',
      { DIAL9_ENABLED: 'true', DIAL9_TRACE_DIR: dir },
    );
    assert.equal(result.code, 0, result.stderr);
    const files = readSegments(dir);
    // The watchdog saw it while it lasted: the markers are there, and so is the stall event.
    assert.ok(files.flatMap((f) => eventRows(f.segment, 'stallOngoing')).length >= 1, 'no marker');
    assert.ok(files.flatMap((f) => eventRows(f.segment, 'stall')).some((s) => Number(s.durationUs) >= 1_500_000));
    const { report } = await analyzeTracePath(dir);
    assert.deepEqual(
      report.findings.filter((f) => f.kind === 'hang'),
      [],
    );
    assert.ok(
      report.findings.some((f) => f.kind === 'long-callback' && f.durationMs >= 1500),
      JSON.stringify(report.findings.map((f) => [f.kind, f.durationMs])),
    );
    const output = join(dir, 'stall.trace.json');
    await exportTrace({ path: dir, format: 'chrome', output });
    const events = (JSON.parse(readFileSync(output, 'utf8')) as { traceEvents: TraceEvent[] }).traceEvents;
    assert.equal(events.filter((e) => e.cat === 'hang').length, 0);
    assert.ok(events.some((e) => e.ph === 'X' && e.cat === 'stall' && (e.dur ?? 0) >= 1_500_000));
  });
});
