/**
 * 0x and every clinic tool against the service under load. They are installed on first use (into
 * the user's tools cache), so the first of these tests on a fresh machine also covers the install.
 * Kept to one short capture each: clinic's analysis alone takes 10-30 s here.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Summary } from '../../../src/load/summary.js';
import { knownProblem } from '../../../src/profile/sessions/known-problems.js';
import { TOOL_PACKAGES } from '../../../src/profile/sessions/tool-install.js';
import { stopAll } from '../../helpers/service-process.js';
import { assertNoStrays, FIXTURES, oneErrorLine, onlyCapture, record, tempDir } from './capture-helpers.js';

const LOAD = ['--duration', '2s', '--connections', '4'];

describe('service profile record with 0x and clinic', () => {
  const dirs: string[] = [];
  after(async () => {
    await stopAll();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  const captureRoot = (name: string) => {
    const dir = tempDir(name);
    dirs.push(dir);
    return join(dir, 'captures');
  };

  test("0x: the main thread's flamegraph.html", async () => {
    const captures = captureRoot('0x');
    const result = await record(['--tool', '0x', '--capture-dir', captures, ...LOAD], {}, 400_000);
    assert.equal(result.code, 0, result.stderr);
    const { dir, manifest } = onlyCapture(captures);
    assert.equal(manifest.tool.version, TOOL_PACKAGES['0x'].version);
    assert.ok((manifest.load as Summary).completed > 0);
    const html = readFileSync(join(dir, '0x', 'flamegraph.html'), 'utf8');
    assert.match(html, /<html/i);
    assert.match(html, /fastify/, 'the flamegraph is of the main thread, not the writer thread');
    assert.ok(
      manifest.files.some((f) => f.path.startsWith('0x-other-threads/')),
      "the writer thread's log is kept aside",
    );
    await assertNoStrays(captures);
  });

  for (const [tool, report] of [
    ['clinic-doctor', '.clinic-doctor.html'],
    ['clinic-flame', '.clinic-flame.html'],
    ['clinic-bubbleprof', '.clinic-bubbleprof.html'],
    ['clinic-heap', '.clinic-heapprofiler.html'],
  ] as const) {
    const refused = knownProblem(tool);
    if (refused !== undefined) {
      // This Node cannot run it (clinic doctor on Node >= 21.7): what the user gets is the refusal.
      test(`${tool}: refused on Node ${process.versions.node} with the reason, before anything starts`, async () => {
        const captures = captureRoot(tool);
        const result = await record(['--tool', tool, '--capture-dir', captures, ...LOAD], {}, 60_000);
        assert.notEqual(result.code, 0);
        assert.equal(oneErrorLine(result), `Error: ${refused}`);
        assert.equal(existsSync(captures), false);
      });
      continue;
    }
    test(`${tool}: the report page, and the service drained under it`, async () => {
      const captures = captureRoot(tool);
      const result = await record(['--tool', tool, '--capture-dir', captures, ...LOAD], {}, 600_000);
      assert.equal(result.code, 0, result.stderr);
      const { dir, manifest } = onlyCapture(captures);
      assert.equal(manifest.tool.name, tool);
      assert.equal(manifest.tool.version, TOOL_PACKAGES.clinic.version);
      // bubbleprof's program may never exit after SIGINT: then it is killed after --stop-timeout and
      // the report is still written. Every other tool's program drains and exits on its own.
      const drained = !manifest.exit.programKilled;
      if (tool !== 'clinic-bubbleprof') assert.equal(drained, true);
      const html = manifest.files.find((f) => !f.path.includes('/') && f.path.endsWith(report));
      assert.ok(html !== undefined, `no ${report} in ${manifest.files.map((f) => f.path).join(', ')}`);
      assert.match(readFileSync(join(dir, html.path), 'utf8'), /<html/i);
      // Isolated in the capture: no trace-event leftovers, no .clinic folder.
      assert.ok(!manifest.files.some((f) => /^node_trace\.\d+\.log$/.test(f.path) || f.path.startsWith('.clinic/')));
      if (drained) assert.match(readFileSync(join(dir, 'telemetry', 'application.log'), 'utf8'), /"msg":"stopped"/);
      await assertNoStrays(captures);
    });
  }

  test('clinic bubbleprof, a program that dies of SIGSEGV: the error names the crash, not the missing trace', async () => {
    const captures = captureRoot('clinic-crash');
    const result = await record(
      ['--tool', 'clinic-bubbleprof', '--capture-dir', captures, ...LOAD, '--', 'node', join(FIXTURES, 'crash-app.js')],
      { CRASH_AFTER_REQUESTS: '20' },
      400_000,
    );
    assert.equal(result.code, 1, result.stderr);
    // clinic's own last word would be "Error: No files matching the pattern found".
    assert.match(
      oneErrorLine(result),
      /^Error: the program crashed \(SIGSEGV\) under clinic-bubbleprof: clinic bubbleprof wrote no report; removed the capture;/,
    );
    assert.equal(existsSync(captures), false);
    await assertNoStrays(captures);
  });
});
