/**
 * A start-up that blocks the loop (module loading, initialization) is an informational finding of
 * its own, not a critical event-loop delay at +0 s on every trace; a delay while serving still is.
 * Its long callbacks are grouped apart from the same site's while serving, and are info too.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { analyzeTracePath } from '../../../src/profile/analyze/load-node.js';
import { killAll, runToEnd, tempDir } from '../trace-files.js';

/** Blocks 400 ms before it listens, serves two requests, then blocks 300 ms in a timer. */
const PROGRAM = `
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
function burn(ms) { const end = performance.now() + ms; let x = 0; while (performance.now() < end) x++; return x; }
burn(400);
const server = http.createServer((req, res) => res.end('ok'));
server.listen(0, '127.0.0.1', async () => {
  const url = 'http://127.0.0.1:' + server.address().port;
  await sleep(100);
  for (let i = 0; i < 2; i++) await fetch(url + '/x').then((r) => r.text());
  await sleep(300);
  burn(300);
  await sleep(200);
  server.close();
});
`;

describe('profile analyze: the start-up', () => {
  const dirs: string[] = [];
  after(() => {
    killAll();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('reports a blocked start-up as info, apart from a delay while serving (critical)', async () => {
    const dir = tempDir('analyze-startup');
    dirs.push(dir);
    const run = await runToEnd(PROGRAM, { DIAL9_ENABLED: 'true', DIAL9_TRACE_DIR: dir });
    assert.equal(run.code, 0, run.stderr);
    const { report } = await analyzeTracePath(dir);
    const delays = report.findings.filter((f) => f.kind === 'event-loop-delay');
    const text = JSON.stringify(delays, null, 1);
    const startup = delays.find((f) => f.evidence.startup === 'yes');
    assert.ok(startup, text);
    assert.equal(startup.severity, 'info');
    assert.match(startup.summary, /^start-up: the event loop was blocked up to \d+ ms before the first request/);
    assert.ok(Number(startup.evidence.maxDelayMs) >= 350, text);
    const serving = delays.find((f) => f.evidence.startup === undefined);
    assert.ok(serving, text);
    assert.equal(serving.severity, 'critical');
    const maxMs = Number(serving.evidence.maxDelayMs);
    assert.ok(maxMs >= 250 && maxMs < 350, `the 300 ms burn, not the start-up: ${text}`);
    assert.equal(delays.length, 2, text);

    // The same two stretches as long callbacks: the start-up's apart, as info, not mixed with the
    // burn while serving (the same site: no CPU samples here).
    const callbacks = report.findings.filter((f) => f.kind === 'long-callback' || f.kind === 'blocked-callback');
    const callbackText = JSON.stringify(callbacks, null, 1);
    const startupCallback = callbacks.find((f) => f.evidence.startup === 'yes');
    assert.ok(startupCallback, callbackText);
    assert.equal(startupCallback.severity, 'info');
    assert.match(startupCallback.summary, /^start-up: .* before the first request/);
    assert.ok(Number(startupCallback.evidence.worstMs) >= 350, callbackText);
    // The burn's group (a request handler's stall on a loaded machine may make a group of its own).
    const servingCallback = callbacks.find(
      (f) => f.evidence.startup === undefined && Number(f.evidence.worstMs) >= 250,
    );
    assert.ok(servingCallback, callbackText);
    assert.equal(servingCallback.severity, 'warning', 'no request open: critical demoted to warning');
    const worstMs = Number(servingCallback.evidence.worstMs);
    assert.ok(worstMs >= 250 && worstMs < 350, callbackText);
  });
  it('ends the start-up once the loop idles: a job that serves no request is not all start-up', async () => {
    const dir = tempDir('analyze-startup-job');
    dirs.push(dir);
    const run = await runToEnd(
      `
      function burn(ms) { const end = performance.now() + ms; let x = 0; while (performance.now() < end) x++; return x; }
      setTimeout(() => burn(400), 1000);
      setTimeout(() => {}, 1600);
      `,
      { DIAL9_ENABLED: 'true', DIAL9_TRACE_DIR: dir },
    );
    assert.equal(run.code, 0, run.stderr);
    const { report } = await analyzeTracePath(dir);
    const text = JSON.stringify(report.findings, null, 1);
    const burn = report.findings.find(
      (f) => (f.kind === 'long-callback' || f.kind === 'blocked-callback') && Number(f.evidence.worstMs) >= 350,
    );
    assert.ok(burn, text);
    assert.equal(burn.evidence.startup, undefined, text);
    assert.doesNotMatch(burn.summary, /^start-up/);
    assert.ok(!report.findings.some((f) => f.evidence.startup === 'yes' && Number(f.evidence.maxDelayMs) >= 350), text);
  });
});
