/**
 * `service profile analyze` on traces recorded here: small node:http programs run under the
 * recorder's preload with CPU samples on, each planting one problem (a CPU-burning handler, a
 * request queued behind it, a slow downstream, a busy timer), then the analysis must name it.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { analyzeTracePath, type PathAnalysis } from '../../../src/profile/analyze/load-node.js';
import type { RequestBreakdown } from '../../../src/profile/analyze/types.js';
import { runCli } from '../../helpers/service-process.js';
import { killAll, runToEnd, tempDir } from '../trace-files.js';

const ENV = { DIAL9_ENABLED: 'true', DIAL9_CPU_PROFILE_ENABLED: 'true' };

/** Serves /burn (250 ms of CPU in burnCpu), /fast (5 ms timer), /proxy (a 300 ms downstream call). */
const HANDLERS = `
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
function burnCpu(ms) { const end = performance.now() + ms; let x = 0; while (performance.now() < end) x += Math.sqrt(x + 1); return x; }
let port = 0;
const server = http.createServer(async (req, res) => {
  if (req.url.startsWith('/burn')) { burnCpu(250); res.end('burned'); return; }
  if (req.url.startsWith('/slowdown')) { await sleep(300); res.end('late'); return; }
  if (req.url.startsWith('/proxy')) { const r = await fetch('http://127.0.0.1:' + port + '/slowdown'); res.end(await r.text()); return; }
  await sleep(5);
  res.end('ok');
});
const get = (path) => fetch('http://127.0.0.1:' + port + path).then((r) => r.text());
`;

const BURN_PROGRAM = `${HANDLERS}
server.listen(0, async () => {
  port = server.address().port;
  await sleep(300);
  for (let i = 0; i < 24; i++) {
    await get(i % 6 === 3 ? '/burn?i=' + i : '/fast?i=' + i);
    await sleep(20);
  }
  // A /fast request waiting on its 5 ms timer while /burn holds the loop: queued behind it.
  await Promise.all([get('/fast?queued=1'), sleep(2).then(() => get('/burn?i=head'))]);
  await sleep(50);
  for (let i = 0; i < 3; i++) await get('/proxy?i=' + i);
  server.close();
});
`;

const TIMER_PROGRAM = `${HANDLERS}
function busyTimer() { const end = performance.now() + 120; let x = 0; while (performance.now() < end) x += Math.sqrt(x + 1); return x; }
server.listen(0, async () => {
  port = server.address().port;
  await sleep(300);
  const timer = setInterval(busyTimer, 400);
  const until = performance.now() + 2500;
  let i = 0;
  while (performance.now() < until) { await get('/fast?i=' + i++); await sleep(15); }
  clearInterval(timer);
  server.close();
});
`;

function parts(b: RequestBreakdown): number {
  const p = b.parts;
  return p.ownCpuMs + p.queuedMs + p.gcMs + p.ioWaitMs + p.unknownMs;
}

describe('profile analyze: findings on recorded traces', () => {
  const dirs: string[] = [];
  let burnDir = '';
  let burn: PathAnalysis;
  before(async () => {
    burnDir = tempDir('analyze-burn');
    dirs.push(burnDir);
    const run = await runToEnd(BURN_PROGRAM, { ...ENV, DIAL9_TRACE_DIR: burnDir }, { timeoutMs: 60_000 });
    assert.equal(run.code, 0, run.stderr);
    burn = await analyzeTracePath(burnDir);
  });
  after(() => {
    killAll();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('a CPU-burning handler is the first finding, named, with exactly the requests it served', () => {
    const first = burn.report.findings[0];
    assert.ok(first !== undefined);
    assert.equal(first.kind, 'long-callback', first.summary);
    assert.equal(first.stack[0]?.functionName, 'burnCpu', JSON.stringify(first.stack));
    assert.match(first.stack[0]?.url ?? '', /program\.mjs$/);
    assert.ok((first.stack[0]?.line ?? 0) > 0);
    const ran = first.requests.filter((r) => r.role === 'ran').map((r) => r.path);
    const expected = ['/burn?i=3', '/burn?i=9', '/burn?i=15', '/burn?i=21', '/burn?i=head'];
    assert.deepEqual([...ran].sort(), [...expected].sort());
    for (const r of first.requests) assert.equal(r.status, 200);
    assert.equal(first.evidence.count, 5);
    assert.ok(first.durationMs >= 200, String(first.durationMs));
  });

  test('--request: a CPU-bound request is mostly its own CPU, the parts sum to its duration', async () => {
    const id = burn.report.findings[0]?.requests.find((r) => r.path === '/burn?i=9')?.requestId;
    assert.ok(id !== undefined);
    const { request } = await analyzeTracePath(burnDir, { requestId: id });
    assert.ok(request);
    assert.ok(Math.abs(parts(request) - request.durationMs) < 0.01, JSON.stringify(request.parts));
    assert.ok(request.durationMs >= 240);
    // GC inside the handler's work is still the handler's doing; on a crowded machine it can be large.
    assert.ok(request.parts.ownCpuMs + request.parts.gcMs >= 0.8 * request.durationMs, JSON.stringify(request));
    assert.equal(request.parts.ioWaitMs, 0);
  });

  test('--request: a request queued behind another handler names that handler and its request', async () => {
    const id = burn.report.findings.flatMap((f) => f.requests).find((r) => r.path === '/fast?queued=1')?.requestId;
    assert.ok(id !== undefined, 'the queued request is listed as delayed by the burn');
    const { request } = await analyzeTracePath(burnDir, { requestId: id });
    assert.ok(request);
    assert.ok(Math.abs(parts(request) - request.durationMs) < 0.01, JSON.stringify(request.parts));
    assert.ok(request.parts.queuedMs >= 0.6 * request.durationMs, JSON.stringify(request.parts));
    const behind = request.queuedBehind[0];
    assert.ok(behind !== undefined);
    assert.match(behind.site, /^burnCpu /);
    assert.equal(behind.request?.path, '/burn?i=head');
  });

  test('a slow downstream is waiting on the downstream: loop idle, no CPU blame, its requests listed', async () => {
    const finding = burn.report.findings.find((f) => f.kind === 'downstream-wait');
    assert.ok(finding !== undefined, burn.report.findings.map((f) => f.summary).join('\n'));
    assert.equal(finding.evidence.loopIdle, 'yes');
    assert.deepEqual(finding.stack, []);
    assert.match(String(finding.evidence.origin), /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(Number(finding.evidence.slowWhileIdle) >= 3);
    const waited = finding.requests.map((r) => r.path).sort();
    assert.deepEqual(waited, ['/proxy?i=0', '/proxy?i=1', '/proxy?i=2']);
    const { request } = await analyzeTracePath(burnDir, { requestId: finding.requests[0]?.requestId });
    assert.ok(request);
    assert.ok(Math.abs(parts(request) - request.durationMs) < 0.01);
    assert.ok(request.parts.ioWaitMs >= 0.8 * request.durationMs, JSON.stringify(request.parts));
    assert.equal(request.outgoing.length, 1);
    assert.equal(request.outgoing[0]?.path, '/slowdown');
  });

  test('a busy timer is named with no request of its own, listing the requests it delayed', async () => {
    const dir = tempDir('analyze-timer');
    dirs.push(dir);
    const run = await runToEnd(TIMER_PROGRAM, { ...ENV, DIAL9_TRACE_DIR: dir }, { timeoutMs: 60_000 });
    assert.equal(run.code, 0, run.stderr);
    const { report } = await analyzeTracePath(dir);
    const finding = report.findings.find((f) => f.kind === 'long-callback' && f.stack[0]?.functionName === 'busyTimer');
    assert.ok(finding !== undefined, report.findings.map((f) => f.summary).join('\n'));
    assert.equal(finding.requests.filter((r) => r.role === 'ran').length, 0, JSON.stringify(finding.requests));
    const delayed = finding.requests.filter((r) => r.role === 'delayed');
    assert.ok(delayed.length > 0);
    for (const r of delayed) assert.match(r.path ?? '', /^\/fast\?i=\d+$/);
    assert.ok(Number(finding.evidence.count) >= 3);
  });

  test('the CLI: --json keeps the documented names; a bad path is one line and exit 1', async () => {
    const json = await runCli(['profile', 'analyze', burnDir, '--json'], {}, 60_000);
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout) as { findings: Record<string, unknown>[]; slowRequests: unknown[] };
    const finding = report.findings[0] as Record<string, unknown>;
    for (const key of ['kind', 'severity', 'summary', 'startMs', 'durationMs', 'stack', 'requests', 'evidence'])
      assert.ok(key in finding, key);
    const frame = (finding.stack as Record<string, unknown>[])[0] as Record<string, unknown>;
    for (const key of ['functionName', 'url', 'line']) assert.ok(key in frame, key);
    const ref = (finding.requests as Record<string, unknown>[])[0] as Record<string, unknown>;
    for (const key of ['requestId', 'operation', 'status']) assert.ok(key in ref, key);
    assert.ok(report.slowRequests.length > 0);

    const text = await runCli(['profile', 'analyze', burnDir], {}, 60_000);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /1\. \[critical\] long-callback/);
    assert.match(text.stdout, /burnCpu .*program\.mjs:\d+/);

    const missing = await runCli(['profile', 'analyze', join(burnDir, 'nope')], {}, 60_000);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr.trim().split('\n').length, 1, missing.stderr);
    assert.match(missing.stderr, /does not exist/);
    const unknown = await runCli(['profile', 'analyze', burnDir, '--request', 'no-such-id'], {}, 60_000);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /request no-such-id is not in the trace/);
  });
});
