/**
 * Issue 11's end to end: `service profile record --tool recorder -- node app.js` on a small app with
 * a planted stall (Atomics.wait in plantedStall, 50 ms a request), then `service profile analyze`
 * on the capture directory names the stalling function, as blocked (waiting, not working).
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { runCli, stopAll } from '../../helpers/service-process.js';
import { assertNoStrays, onlyCapture, record, recorderAppArgs, tempDir } from '../sessions/capture-helpers.js';

interface JsonReport {
  findings: {
    kind: string;
    stack: { functionName: string }[];
    requests: { operation: string; role?: string }[];
    evidence: Record<string, number | string>;
  }[];
  trace: { requests: number; cpuSamples: number };
}

describe('profile analyze: a recorder capture', () => {
  const roots: string[] = [];
  after(async () => {
    await stopAll();
    for (const dir of roots) rmSync(dir, { recursive: true, force: true });
  });

  test('record --tool recorder -- node app.js, then analyze names the planted stall', async () => {
    const root = tempDir('analyze-capture');
    roots.push(root);
    const captures = join(root, 'captures');
    const recorded = await record(recorderAppArgs(captures, '2s', 1));
    assert.equal(recorded.code, 0, recorded.stderr);
    const { dir, manifest } = onlyCapture(captures);
    assert.match(manifest.open, /service profile analyze /);

    const analyzed = await runCli(['profile', 'analyze', dir, '--json'], {}, 60_000);
    assert.equal(analyzed.code, 0, analyzed.stderr);
    const report = JSON.parse(analyzed.stdout) as JsonReport;
    assert.ok(report.trace.requests > 0);
    assert.ok(report.trace.cpuSamples > 0, 'a recorder capture samples the CPU');
    const stall = report.findings.find(
      (f) =>
        (f.kind === 'blocked-callback' || f.kind === 'long-callback') && f.stack[0]?.functionName === 'plantedStall',
    );
    assert.ok(stall !== undefined, JSON.stringify(report.findings.map((f) => [f.kind, f.stack[0]?.functionName])));
    // Atomics.wait: the thread waited, it did not work.
    assert.equal(stall.kind, 'blocked-callback');
    assert.ok(Number(stall.evidence.count) >= 5);
    assert.ok(stall.requests.some((r) => r.role === 'ran' && r.operation === 'GET /stall'));
    await assertNoStrays(captures);
  });
});
