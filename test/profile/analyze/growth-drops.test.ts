/**
 * Resource growth and dropped events, on traces recorded here: a server that leaks an interval
 * timer per request (active handles grow), and a program that marks events faster than the writer
 * thread can take them (the recorder drops and counts them).
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { analyzeTracePath } from '../../../src/profile/analyze/load-node.js';
import { eventRows } from '../../../src/profile/format/index.js';
import { killAll, readSegments, runToEnd, tempDir } from '../trace-files.js';

const API = new URL('../../../src/profile/recorder/index.js', import.meta.url).href;

const LEAK_PROGRAM = `
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
const leaked = [];
const server = http.createServer((req, res) => {
  leaked.push(setInterval(() => {}, 60_000)); // never cleared: one more active handle per request
  res.end('ok');
});
server.listen(0, async () => {
  const url = 'http://127.0.0.1:' + server.address().port + '/leak';
  const until = performance.now() + 6000;
  while (performance.now() < until) { await fetch(url).then((r) => r.text()); await sleep(25); }
  process.exit(0); // the leaked intervals would keep it alive; the preload seals the trace on exit
});
`;

const FLOOD_PROGRAM = `
import { mark } from ${JSON.stringify(API)};
import { setTimeout as sleep } from 'node:timers/promises';
await sleep(200);
// 8 buffers of 4,096 records: a synchronous burst of 100,000 marks outruns them all.
for (let i = 0; i < 100_000; i++) mark('app', 'flood', i);
await sleep(500);
`;

describe('profile analyze: growth and drops', () => {
  const dirs: string[] = [];
  after(() => {
    killAll();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('a leak of one interval timer per request is flagged as growing active handles', async () => {
    const dir = tempDir('analyze-leak');
    dirs.push(dir);
    const run = await runToEnd(LEAK_PROGRAM, { DIAL9_ENABLED: 'true', DIAL9_TRACE_DIR: dir }, { timeoutMs: 60_000 });
    assert.equal(run.code, 0, run.stderr);
    const { report } = await analyzeTracePath(dir);
    const growth = report.findings.filter((f) => f.kind === 'resource-growth');
    const handles = growth.find((f) => f.evidence.series === 'active handles');
    assert.ok(handles !== undefined, report.findings.map((f) => f.summary).join('\n'));
    assert.ok(Number(handles.evidence.last) - Number(handles.evidence.first) >= 50, JSON.stringify(handles.evidence));
    assert.ok(handles.durationMs >= 4000);
    assert.match(handles.summary, /active handles grew steadily/);
  });

  test('events lost to full buffers are reported, with the count the trace holds', async () => {
    const dir = tempDir('analyze-drops');
    dirs.push(dir);
    const run = await runToEnd(FLOOD_PROGRAM, { DIAL9_ENABLED: 'true', DIAL9_TRACE_DIR: dir }, { timeoutMs: 60_000 });
    assert.equal(run.code, 0, run.stderr);
    const recorded = readSegments(dir).flatMap(({ segment }) => eventRows(segment, 'dropped'));
    const lost = recorded.reduce((n, row) => n + Number(row.count), 0);
    assert.ok(lost > 0, 'the burst outran the buffers');
    const { report } = await analyzeTracePath(dir);
    assert.equal(report.trace.droppedEvents, lost);
    const finding = report.findings.find((f) => f.kind === 'dropped-events');
    assert.ok(finding !== undefined);
    assert.equal(finding.evidence.dropped, lost);
    assert.equal(finding.severity, 'warning');
    assert.match(finding.summary, new RegExp(`^${lost} trace events were dropped`));
  });
});
