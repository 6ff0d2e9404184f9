/**
 * The recorder in real Node programs, through the preload, with real trace files: what a blocked
 * loop, a GC, a slow downstream and a handle leak look like once decoded, and how the files
 * survive signals and kill -9.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { eventRows, stackFrames } from '../../../src/profile/format/index.js';
import { waitFor } from '../../helpers/wait.js';
import { killAll, processDirs, readSegments, runProgram, runToEnd, tempDir } from '../trace-files.js';

const dirs: string[] = [];
/** The recorder's API as a program imports it (the same module instance as the preload's). */
const API_URL = new URL('../../../src/profile/recorder/index.js', import.meta.url).href;
after(() => {
  killAll();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function traceDir(): string {
  const dir = tempDir('dial9-trace');
  dirs.push(dir);
  return dir;
}

/** A server with a blocking route and a CPU-burning one; it requests both, then exits. */
const BLOCKING_PROGRAM = `
import http from 'node:http';
import diagnosticsChannel from 'node:diagnostics_channel';
const opened = diagnosticsChannel.channel('service:request:opened');
const closed = diagnosticsChannel.channel('service:request:closed');
export function burnNamedFunction(ms) { const end = performance.now() + ms; let x = 0; while (performance.now() < end) x++; return x; }
const server = http.createServer((req, res) => {
  const requestId = req.headers['x-request-id'];
  const startMs = performance.now();
  opened.publish({ requestId, operation: 'Block', method: req.method, path: req.url, startMs });
  const blockStart = performance.now();
  if (req.url === '/block') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
  if (req.url === '/burn') burnNamedFunction(300);
  // On a busy machine the thread may wake well after 300 ms: the test compares with this.
  console.log(JSON.stringify({ requestId, blockedMs: performance.now() - blockStart }));
  res.end('ok');
  const endMs = performance.now();
  closed.publish({ requestId, operation: 'Block', statusCode: 200, durationMs: endMs - startMs, errorKind: undefined, endMs });
});
server.listen(0, '127.0.0.1', async () => {
  const url = 'http://127.0.0.1:' + server.address().port;
  await new Promise((r) => setTimeout(r, 300));
  await fetch(url + '/block', { headers: { 'x-request-id': 'req-block-1' } });
  await new Promise((r) => setTimeout(r, 100));
  await fetch(url + '/burn', { headers: { 'x-request-id': 'req-burn-1' } });
  await new Promise((r) => setTimeout(r, 300));
  server.close();
});
`;

describe('the flight recorder in a plain Node program (preload)', () => {
  it('records a blocked loop as a stall of the right duration and request, with CPU samples naming the function', async () => {
    const dir = traceDir();
    const run = await runToEnd(BLOCKING_PROGRAM, {
      DIAL9_ENABLED: 'true',
      DIAL9_TRACE_DIR: dir,
      DIAL9_CPU_PROFILE_ENABLED: 'true',
      DIAL9_CPU_SAMPLE_HZ: '199',
    });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /flight recorder on: stalls over 20 ms.*CPU samples at 199 Hz.*writing to /);
    const segments = readSegments(dir);
    assert.equal(segments.length, 1);
    const file = segments[0] ?? assert.fail('no segment');
    assert.ok(file.name.endsWith('.bin.gz'), 'sealed and gzipped at exit');
    const segment = file.segment;
    assert.match(segment.header.recording.summary, /flight recorder on/);

    const opens = eventRows(segment, 'requestOpen');
    assert.equal(opens.length, 2);
    // node:http's server events stop once the service's channel speaks: the first request's pair is whole.
    const httpIn = [eventRows(segment, 'httpInStart').length, eventRows(segment, 'httpInEnd').length];
    assert.deepEqual(httpIn, [1, 1], 'httpInStart/httpInEnd');
    const seqOf = (id: string) => opens.find((r) => r.requestId === id)?.request;
    const stalls = eventRows(segment, 'stall');
    const blocked = stalls.find((s) => s.request === seqOf('req-block-1'));
    assert.ok(blocked, `a stall for req-block-1 among ${JSON.stringify(stalls)}`);
    const actual = new Map(
      run.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { requestId: string; blockedMs: number })
        .map((r) => [r.requestId, r.blockedMs]),
    );
    const blockedMs = Number(blocked.durationUs) / 1000;
    const waitedMs = actual.get('req-block-1') ?? Number.NaN;
    assert.ok(waitedMs >= 299, `the program waited ${waitedMs} ms`);
    assert.ok(
      blockedMs >= waitedMs && blockedMs <= waitedMs * 1.1,
      `Atomics.wait blocked the loop ${waitedMs} ms, recorded as ${blockedMs} ms`,
    );
    // Blocked, not working: the process used far less CPU than the wall time.
    assert.ok(Number(blocked.cpuWindowUs) >= Number(blocked.durationUs));
    assert.ok(Number(blocked.cpuUs) < Number(blocked.cpuWindowUs) / 2, `cpu ${blocked.cpuUs} µs`);

    const burned = stalls.find((s) => s.request === seqOf('req-burn-1'));
    assert.ok(burned, 'a stall for req-burn-1');
    const burnedMs = Number(burned.durationUs) / 1000;
    const burnMs = actual.get('req-burn-1') ?? Number.NaN;
    assert.ok(burnedMs >= burnMs && burnedMs <= burnMs * 1.1, `a ${burnMs} ms burn recorded as ${burnedMs} ms`);
    // Working rather than blocked (on a shared machine the burn may not get a whole core).
    assert.ok(
      Number(burned.cpuUs) > 2 * Number(blocked.cpuUs),
      `burn cpu ${burned.cpuUs} µs, wait cpu ${blocked.cpuUs} µs`,
    );
    // Each request was alone in flight through its own stall (counted at its start: by the time the
    // late timer fires, the request has closed).
    assert.deepEqual([Number(blocked.inFlight), Number(burned.inFlight)], [1, 1], 'requests in flight');
    // CPU is measured over the stall and at most the loop's last turn before it (the watch reads it
    // at every 10 ms firing), not over up to 100 ms of idle before it: else a burn reads as blocked.
    for (const stall of [blocked, burned]) {
      const extraMs = (Number(stall.cpuWindowUs) - Number(stall.durationUs)) / 1000;
      assert.ok(extraMs >= 0 && extraMs < 40, `CPU window ${extraMs} ms longer than the stall`);
    }

    const samples = eventRows(segment, 'cpuSample');
    const inBurn = samples.filter((s) => s.time >= burned.time && s.time <= burned.time + Number(burned.durationUs));
    const named = inBurn.filter((s) =>
      stackFrames(segment, Number(s.stack)).some(
        (f) => f.functionName === 'burnNamedFunction' && f.url.endsWith('program.mjs'),
      ),
    );
    // A 300 ms burn at 199 Hz: ~60 samples on an idle core, far fewer on a busy shared machine.
    assert.ok(
      named.length >= 5 && named.length >= inBurn.length / 2,
      `${named.length} of ${inBurn.length} samples in the burn name burnNamedFunction`,
    );
    const frame = stackFrames(segment, Number(named[0]?.stack)).find((f) => f.functionName === 'burnNamedFunction');
    assert.equal(frame?.line, 6, 'the line where the function is declared');
  });

  it('with per-callback tracking on, records the blocking handler as a callback of its request and duration', async () => {
    const dir = traceDir();
    const run = await runToEnd(BLOCKING_PROGRAM, {
      DIAL9_ENABLED: 'true',
      DIAL9_TRACE_DIR: dir,
      DIAL9_CALLBACK_TRACKING_ENABLED: 'true',
    });
    assert.equal(run.code, 0, run.stderr);
    const segment = readSegments(dir)[0]?.segment ?? assert.fail('no segment');
    const opens = eventRows(segment, 'requestOpen');
    const blockSeq = opens.find((r) => r.requestId === 'req-block-1')?.request;
    assert.ok(blockSeq !== undefined && Number(blockSeq) > 0, JSON.stringify(opens));
    const waitedMs = new Map(
      run.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { requestId: string; blockedMs: number })
        .map((r) => [r.requestId, r.blockedMs]),
    ).get('req-block-1') as number;
    const mine = eventRows(segment, 'callback').filter((c) => c.request === blockSeq);
    const longest = mine.reduce((a, c) => (Number(c.durationUs) > Number(a?.durationUs ?? 0) ? c : a), mine[0]);
    assert.ok(longest, `no callback of request ${blockSeq}`);
    const ms = Number(longest.durationUs) / 1000;
    // The callback also runs the handler's logging and response: an absolute margin, for a busy machine.
    assert.ok(ms >= waitedMs && ms <= waitedMs + 60, `the handler blocked ${waitedMs} ms, its callback took ${ms} ms`);
    // node:http runs a request's handler in the server's async resource for it.
    assert.equal(longest.type, 'HTTPServerAsyncResource', JSON.stringify(mine));
  });

  it('records a forced GC, and an outgoing request to a slow server while the loop is idle', async () => {
    const dir = traceDir();
    const run = await runToEnd(
      `
      import http from 'node:http';
      const slow = http.createServer((req, res) => setTimeout(() => res.end('late'), req.url === '/slow' ? 400 : 0));
      const get = (url) => new Promise((resolve) => http.get(url, (r) => { r.resume(); r.on('end', resolve); }));
      slow.listen(0, '127.0.0.1', async () => {
        globalThis.gc();
        const base = 'http://127.0.0.1:' + slow.address().port;
        // First use of fetch and of the http client loads code for a while: warm up first.
        await (await fetch(base + '/warm')).text();
        await get(base + '/warm');
        await (await fetch(base + '/slow')).text();
        await get(base + '/slow');
        slow.close();
      });
      `,
      { DIAL9_ENABLED: '1', DIAL9_TRACE_DIR: dir },
      { nodeArgs: ['--expose-gc'] },
    );
    assert.equal(run.code, 0, run.stderr);
    const segment = readSegments(dir)[0]?.segment;
    assert.ok(segment);
    const gcs = eventRows(segment, 'gc');
    // perf_hooks.constants: kind 4 is major, flag 4 is forced (the gc() call).
    assert.ok(
      gcs.some((g) => g.kind === 4 && (Number(g.flags) & 4) === 4),
      `a forced major GC among ${JSON.stringify(gcs)}`,
    );

    const starts = eventRows(segment, 'httpOutStart').filter((s) => s.path === '/slow');
    const ends = eventRows(segment, 'httpOutEnd');
    assert.deepEqual(
      starts.map((s) => [s.client, s.method, s.path]),
      [
        ['undici', 'GET', '/slow'],
        ['http', 'GET', '/slow'],
      ],
    );
    for (const start of starts) {
      const end = ends.find((e) => e.request === start.request);
      assert.ok(end, `an end for ${start.client}`);
      assert.equal(end.status, 200);
      const ms = (end.time - start.time) / 1000;
      assert.ok(ms >= 390 && ms < 2000, `${start.client} request took ${ms} ms`);
      // Waiting on the downstream, not working: stalls where the process worked (a shared machine may
      // also deschedule it: those have little CPU) cover little of the request, if any.
      let stalledUs = 0;
      for (const s of eventRows(segment, 'stall').filter((s) => Number(s.cpuUs) > Number(s.cpuWindowUs) / 2)) {
        stalledUs += Math.max(0, Math.min(end.time, s.time + Number(s.durationUs)) - Math.max(start.time, s.time));
      }
      assert.ok(
        stalledUs < (end.time - start.time) / 4,
        `${stalledUs} µs of stalls during the ${start.client} request`,
      );
    }
    const loop = eventRows(segment, 'loop');
    assert.ok(loop.length >= 5);
  });

  it('records failed outgoing requests of both clients with their error and origin, also when only errors are kept', async () => {
    const program = `
      import http from 'node:http';
      import net from 'node:net';
      // A port with nothing listening: taken, then freed.
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const port = probe.address().port;
        probe.close(async () => {
          const base = 'http://127.0.0.1:' + port;
          await fetch(base + '/refused-fetch').catch(() => {});
          await new Promise((resolve) => http.get(base + '/refused-http').on('error', resolve));
          const ok = http.createServer((req, res) => res.end('ok'));
          // A WebSocket-style upgrade: a success that never publishes http.client.response.finish.
          ok.on('upgrade', (req, socket) => {
            socket.end('HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: x\\r\\nConnection: Upgrade\\r\\n\\r\\n');
          });
          ok.listen(0, '127.0.0.1', async () => {
            const base = 'http://127.0.0.1:' + ok.address().port;
            await new Promise((resolve) => http.get(base + '/fine', (r) => { r.resume(); r.on('end', resolve); }));
            await new Promise((resolve) => {
              const upgrade = http.request(base + '/upgrade', { headers: { connection: 'Upgrade', upgrade: 'x' } });
              upgrade.on('upgrade', (res, socket) => socket.on('close', resolve).resume());
              upgrade.end();
            });
            console.log(JSON.stringify({ refused: port, ok: ok.address().port }));
            ok.close();
          });
        });
      });
    `;
    for (const targets of [undefined, 'error']) {
      const dir = traceDir();
      const run = await runToEnd(program, {
        DIAL9_ENABLED: 'true',
        DIAL9_TRACE_DIR: dir,
        ...(targets === undefined ? {} : { DIAL9_TARGETS: targets }),
      });
      assert.equal(run.code, 0, run.stderr);
      const ports = JSON.parse(run.stdout.trim()) as { refused: number; ok: number };
      const segment = readSegments(dir)[0]?.segment ?? assert.fail('no segment');
      const starts = eventRows(segment, 'httpOutStart');
      const ends = eventRows(segment, 'httpOutEnd');
      const failed = starts
        .filter((s) => String(s.path).startsWith('/refused'))
        .map((s) => {
          const end = ends.find((e) => e.request === s.request);
          return [s.client, s.method, s.origin, s.path, end?.error, end !== undefined && end.time >= s.time];
        });
      const origin = `http://127.0.0.1:${ports.refused}`;
      assert.deepEqual(
        failed,
        [
          ['undici', 'GET', origin, '/refused-fetch', 'ECONNREFUSED', true],
          ['http', 'GET', origin, '/refused-http', 'ECONNREFUSED', true],
        ],
        `DIAL9_TARGETS=${targets}`,
      );
      const fine = starts.filter((s) => s.path === '/fine' || s.path === '/upgrade');
      if (targets === 'error') {
        assert.deepEqual(fine, [], 'requests that succeeded are left out when only errors are kept');
      } else {
        assert.deepEqual(
          fine.map((s) => [s.path, s.origin]),
          [
            ['/fine', `http://127.0.0.1:${ports.ok}`],
            ['/upgrade', `http://127.0.0.1:${ports.ok}`],
          ],
        );
        assert.deepEqual(
          fine.map((s) => {
            const end = ends.find((e) => e.request === s.request);
            return [end?.status, end?.error];
          }),
          [
            [200, ''],
            [101, ''],
          ],
        );
      }
    }
  });

  it('counts the events of blocks a full disk refused, in the trace and in the stats, and every segment still decodes', async () => {
    const dir = traceDir();
    // RLIMIT_FSIZE through prlimit stands in for a full disk: no file may grow past 20 KB, so every
    // segment's third or fourth block is refused (EFBIG, as ENOSPC would be), until it is lifted.
    const run = await runToEnd(
      `
      import { execFileSync } from 'node:child_process';
      import { activeRecorder, mark } from ${JSON.stringify(API_URL)};
      process.on('SIGXFSZ', () => {}); // a refused write fails instead of killing the process
      const fsize = (limit) => execFileSync('prlimit', ['--pid', String(process.pid), '--fsize=' + limit + ':']);
      let n = 0;
      const timer = setInterval(() => { for (let i = 0; i < 20; i++) mark('app', 'm', n++); }, 5);
      setTimeout(() => fsize(20_000), 300);
      setTimeout(() => fsize('unlimited'), 2300);
      setTimeout(() => clearInterval(timer), 3000);
      // The writer reports its counts every second: the last report comes after the last loss.
      setTimeout(() => console.log(JSON.stringify({ marks: n, dropped: activeRecorder().stats().eventsDropped })), 4500);
      `,
      { DIAL9_ENABLED: 'true', DIAL9_TRACE_DIR: dir },
    );
    assert.equal(run.code, 0, run.stderr);
    const { marks, dropped } = JSON.parse(run.stdout.trim()) as { marks: number; dropped: number };
    assert.match(run.stderr, /cannot write trace segment in .*EFBIG/);
    const files = readSegments(dir);
    assert.ok(files.length >= 3, `${files.length} segments`);
    for (const f of files) assert.equal(f.segment.truncated, false, `${f.name} decodes to its end`);
    const recorded = files.reduce((sum, f) => sum + eventRows(f.segment, 'mark').length, 0);
    const droppedInTrace = files.reduce(
      (sum, f) => sum + eventRows(f.segment, 'dropped').reduce((n, d) => n + Number(d.count), 0),
      0,
    );
    assert.ok(recorded < marks && recorded > 0, `${recorded} of ${marks} marks recorded`);
    assert.ok(droppedInTrace > 0);
    assert.equal(dropped, droppedInTrace, 'the stats count what the trace says is missing');
    assert.ok(recorded + droppedInTrace >= marks, `${recorded} recorded + ${droppedInTrace} dropped < ${marks} marks`);
  });

  it('shows a handle leak as a growing handle count', async () => {
    const dir = traceDir();
    const run = await runToEnd(
      `
      const leaked = [];
      const grow = setInterval(() => { leaked.push(setInterval(() => {}, 60_000)); }, 20);
      setTimeout(() => { clearInterval(grow); for (const t of leaked) clearInterval(t); }, 1500);
      `,
      { DIAL9_ENABLED: 'yes', DIAL9_TRACE_DIR: dir },
    );
    assert.equal(run.code, 0, run.stderr);
    const resources = eventRows(readSegments(dir)[0]?.segment ?? assert.fail('no segment'), 'resources');
    assert.ok(resources.length >= 10, `${resources.length} resource samples`);
    const handles = resources.map((r) => Number(r.handles));
    const firstHalf = Math.max(...handles.slice(0, 3));
    const peak = Math.max(...handles);
    assert.ok(peak >= firstHalf + 30, `handles grew from ${firstHalf} to ${peak}: ${handles.join(',')}`);
    assert.ok(resources.every((r) => Number(r.rssKb) > 1000));
  });

  it('task dump: leaked timers and sockets show as pending operations with the function that created them', async () => {
    const dir = traceDir();
    const run = await runToEnd(
      `
      import net from 'node:net';
      function leakTimers() { for (let i = 0; i < 40; i++) setInterval(() => {}, 60_000); }
      function openAndForget(port) { for (let i = 0; i < 20; i++) net.connect(port, '127.0.0.1'); }
      const server = net.createServer(() => {}).listen(0, '127.0.0.1', () => {
        leakTimers();
        openAndForget(server.address().port);
        setTimeout(() => process.exit(0), 2600);
      });
      `,
      {
        DIAL9_ENABLED: 'true',
        DIAL9_TRACE_DIR: dir,
        DIAL9_TASK_DUMP_ENABLED: 'true',
        DIAL9_TASK_DUMP_IDLE_THRESHOLD_MS: '500',
        DIAL9_TASK_DUMP_SAMPLE_EVERY: '2',
      },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /pending operations, with the creation stack of 1 in 2/);
    const segment = readSegments(dir)[0]?.segment ?? assert.fail('no segment');
    const origins = eventRows(segment, 'pendingOrigin');
    const by = (fn: string) =>
      origins.filter((o) =>
        stackFrames(segment, Number(o.stack)).some((f) => f.functionName === fn && f.url.endsWith('program.mjs')),
      );
    const timers = by('leakTimers');
    assert.ok(timers.length >= 1, JSON.stringify(origins));
    const last = timers.at(-1) ?? assert.fail('no timer group');
    assert.equal(last.type, 'Timeout');
    // Each of the 40 timers is remembered with probability 1/2; the count is of those sampled.
    assert.ok(Number(last.count) >= 8 && Number(last.count) <= 32, `count ${last.count}`);
    assert.ok(Number(last.oldestAgeUs) >= 500_000, `age ${last.oldestAgeUs} µs`);
    const frame = stackFrames(segment, Number(last.stack)).find((f) => f.functionName === 'leakTimers');
    assert.equal(frame?.line, 3, 'the line of the setInterval call');
    const sockets = by('openAndForget');
    assert.ok(
      sockets.some((o) => o.type === 'TCPWRAP' && Number(o.count) >= 2),
      `sockets: ${JSON.stringify(sockets)}`,
    );
    // The recorder's own timers are pending by design: never reported.
    assert.ok(
      origins.every((o) => !stackFrames(segment, Number(o.stack)).some((f) => /profile\/recorder\//.test(f.url))),
    );
  });

  it('seals on SIGTERM and still dies of it when the program has no handler', async () => {
    const dir = traceDir();
    const run = runProgram('setInterval(() => {}, 1000);', { DIAL9_ENABLED: 'true', DIAL9_TRACE_DIR: dir });
    const processDir = await waitFor('the process directory', () => processDirs(dir)[0], 10_000);
    await waitFor('the active segment', () => readdirSync(processDir).find((n) => n.endsWith('.active')), 10_000);
    run.child.kill('SIGTERM');
    const result = await run.exited;
    assert.equal(result.signal, 'SIGTERM');
    assert.deepEqual(readdirSync(processDir), ['trace.0.bin.gz']);
    const segment = readSegments(dir)[0]?.segment;
    assert.equal(segment?.truncated, false);
    assert.ok((segment?.events.loop?.count ?? 0) >= 1);
  });

  it('leaves an .active file that still decodes after kill -9', async () => {
    const dir = traceDir();
    const run = runProgram('setInterval(() => { for (let i = 0; i < 1e5; i++); }, 5);', {
      DIAL9_ENABLED: 'true',
      DIAL9_TRACE_DIR: dir,
    });
    const processDir = await waitFor('the process directory', () => processDirs(dir)[0], 10_000);
    await waitFor(
      'a few blocks',
      () => {
        const active = readdirSync(processDir).find((n) => n.endsWith('.active'));
        return active !== undefined && (readSegments(processDir)[0]?.segment.blocks.length ?? 0) >= 3
          ? active
          : undefined;
      },
      10_000,
    );
    run.child.kill('SIGKILL');
    await run.exited;
    const file = readSegments(dir)[0] ?? assert.fail('no segment');
    assert.ok(file.name.endsWith('.bin.active'));
    assert.ok((file.segment.events.loop?.count ?? 0) >= 3);
    assert.ok(file.segment.blocks.length >= 3);
  });

  it('shows a loop that never comes back (a hang, then kill -9) as a stall in progress, from the watchdog', async () => {
    const dir = traceDir();
    const run = runProgram(
      `
      import http from 'node:http';
      const server = http.createServer((req, res) => res.end('ok'));
      server.listen(0, '127.0.0.1', async () => {
        const url = 'http://127.0.0.1:' + server.address().port;
        for (let i = 0; i < 5; i++) await (await fetch(url + '/before')).text();
        await new Promise((r) => setTimeout(r, 300));
        console.log(JSON.stringify({ hangStartMs: performance.now() }));
        for (;;) {}
      });
      `,
      { DIAL9_ENABLED: 'true', DIAL9_TRACE_DIR: dir },
    );
    const line = await waitFor('the program to hang', () => run.stdout().split('\n')[0] || undefined, 15_000);
    const { hangStartMs } = JSON.parse(line) as { hangStartMs: number };
    await new Promise((r) => setTimeout(r, 2500));
    run.child.kill('SIGKILL');
    await run.exited;
    const file = readSegments(dir)[0] ?? assert.fail('no segment');
    assert.ok(file.name.endsWith('.bin.active'));
    assert.equal(eventRows(file.segment, 'httpInStart').length, 5, 'the requests before the hang reached the file');
    assert.equal(eventRows(file.segment, 'httpInEnd').length, 5);
    const markers = eventRows(file.segment, 'stallOngoing');
    assert.ok(markers.length >= 2, `markers: ${JSON.stringify(markers)}`);
    const last = markers.at(-1) ?? assert.fail('no marker');
    // The hang began when the loop last turned: at most one 10 ms watch period (plus scheduling) before the log line.
    const startMs = last.time / 1000;
    assert.ok(
      startMs <= hangStartMs + 1 && startMs >= hangStartMs - 100,
      `marker starts at ${startMs} ms, the hang at ${hangStartMs} ms`,
    );
    const lastedMs = Number(last.durationUs) / 1000;
    assert.ok(lastedMs >= 1000 && lastedMs < 10_000, `the hang had lasted ${lastedMs} ms at the last marker`);
    for (const marker of markers) assert.equal(marker.time, last.time, 'every marker of one hang has its start');
  });

  describe('hands every sealed segment to onSegmentSealed, the last one (sealed at exit) included', () => {
    /** A program whose hook prints each segment's name at once and, when `asyncMs` is set, again after that long. */
    const program = (asyncMs: number, body: string) => `
      import { writeSync } from 'node:fs';
      import { basename } from 'node:path';
      import { onSegmentSealed } from ${JSON.stringify(API_URL)};
      onSegmentSealed(async (segment) => {
        writeSync(1, 'sealed ' + basename(segment.path) + '\\n');
        if (${asyncMs} > 0) {
          await new Promise((r) => setTimeout(r, ${asyncMs}));
          writeSync(1, 'uploaded ' + basename(segment.path) + '\\n');
        }
      });
      ${body}
    `;
    const names = (dir: string) =>
      readdirSync(processDirs(dir)[0] ?? assert.fail('no process directory'))
        .filter((n) => n.endsWith('.gz'))
        .sort();
    const lines = (stdout: string, verb: string) =>
      stdout
        .split('\n')
        .filter((l) => l.startsWith(`${verb} `))
        .map((l) => l.slice(verb.length + 1))
        .sort();

    it('when the loop runs dry: every segment, and the hook may finish asynchronous work', async () => {
      const dir = traceDir();
      const run = await runToEnd(program(200, 'setTimeout(() => {}, 900);'), {
        DIAL9_ENABLED: 'true',
        DIAL9_TRACE_DIR: dir,
        DIAL9_ROTATION_SECS: '0.3',
      });
      assert.equal(run.code, 0, run.stderr);
      const sealed = names(dir);
      assert.ok(sealed.length >= 2, sealed.join(' '));
      assert.deepEqual(lines(run.stdout, 'sealed'), sealed);
      assert.deepEqual(lines(run.stdout, 'uploaded'), sealed);
    });

    it("when the loop runs dry beside another 'beforeExit' listener that starts nothing (pino's transports have one): the hook still finishes", async () => {
      const dir = traceDir();
      const run = await runToEnd(program(200, "process.on('beforeExit', () => {}); setTimeout(() => {}, 500);"), {
        DIAL9_ENABLED: 'true',
        DIAL9_TRACE_DIR: dir,
      });
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(lines(run.stdout, 'uploaded'), names(dir));
      assert.deepEqual(names(dir), ['trace.0.bin.gz']);
    });

    it('on process.exit(): the last segment too (its synchronous part: nothing asynchronous runs in exit)', async () => {
      const dir = traceDir();
      const run = await runToEnd(program(0, 'setTimeout(() => process.exit(3), 300);'), {
        DIAL9_ENABLED: 'true',
        DIAL9_TRACE_DIR: dir,
      });
      assert.equal(run.code, 3, run.stderr);
      assert.deepEqual(names(dir), ['trace.0.bin.gz']);
      assert.deepEqual(lines(run.stdout, 'sealed'), ['trace.0.bin.gz']);
    });

    it('on SIGTERM: the hook finishes before the program dies of the signal', async () => {
      const dir = traceDir();
      const run = runProgram(program(200, 'setInterval(() => {}, 1000);'), {
        DIAL9_ENABLED: 'true',
        DIAL9_TRACE_DIR: dir,
      });
      const processDir = await waitFor('the process directory', () => processDirs(dir)[0], 10_000);
      await waitFor('the active segment', () => readdirSync(processDir).find((n) => n.endsWith('.active')), 10_000);
      run.child.kill('SIGTERM');
      const result = await run.exited;
      assert.equal(result.signal, 'SIGTERM');
      assert.deepEqual(names(dir), ['trace.0.bin.gz']);
      assert.deepEqual(lines(run.stdout(), 'uploaded'), ['trace.0.bin.gz']);
    });

    it('on a second signal while sealing (Ctrl-C twice, SIGTERM then SIGQUIT): the seal and the hook still finish', async () => {
      for (const [first, second] of [
        ['SIGINT', 'SIGINT'],
        ['SIGTERM', 'SIGQUIT'],
        ['SIGUSR2', 'SIGTERM'],
      ] as const) {
        const dir = traceDir();
        const run = runProgram(program(400, 'setInterval(() => {}, 1000);'), {
          DIAL9_ENABLED: 'true',
          DIAL9_TRACE_DIR: dir,
        });
        const processDir = await waitFor('the process directory', () => processDirs(dir)[0], 10_000);
        await waitFor('the active segment', () => readdirSync(processDir).find((n) => n.endsWith('.active')), 10_000);
        run.child.kill(first);
        // The hook has the segment (sealed) and 400 ms of work to go: the second signal lands in it.
        await waitFor('the hook', () => (run.stdout().includes('sealed ') ? true : undefined), 10_000);
        run.child.kill(second);
        const result = await run.exited;
        assert.equal(result.signal, first, `${first} then ${second}`);
        assert.deepEqual(names(dir), ['trace.0.bin.gz']);
        assert.deepEqual(lines(run.stdout(), 'uploaded'), ['trace.0.bin.gz'], `${first} then ${second}`);
      }
    });

    it("with the program's own 'beforeExit' listener starting more work: recorded to the end, sealed at exit", async () => {
      const dir = traceDir();
      const run = await runToEnd(
        program(
          0,
          `
          import { mark } from ${JSON.stringify(API_URL)};
          let rounds = 0;
          process.on('beforeExit', () => {
            if (rounds++ < 2) setTimeout(() => mark('app', 'more work ' + rounds), 300);
          });
          `,
        ),
        { DIAL9_ENABLED: 'true', DIAL9_TRACE_DIR: dir },
      );
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(names(dir), ['trace.0.bin.gz']);
      assert.deepEqual(lines(run.stdout, 'sealed'), ['trace.0.bin.gz']);
      const segment = readSegments(dir)[0]?.segment ?? assert.fail('no segment');
      assert.deepEqual(
        eventRows(segment, 'mark').map((m) => m.name),
        ['more work 1', 'more work 2'],
      );
    });
  });

  it('rotates at the size cap without breaking string references (each segment decodes its strings)', async () => {
    const dir = traceDir();
    const run = await runToEnd(
      `
      import diagnosticsChannel from 'node:diagnostics_channel';
      const opened = diagnosticsChannel.channel('service:request:opened');
      let n = 0;
      const timer = setInterval(() => {
        for (let i = 0; i < 10; i++, n++)
          opened.publish({ requestId: 'id-' + n, operation: 'Op' + (n % 3), method: 'GET', path: '/r' + n, startMs: performance.now() });
        if (n >= 2000) clearInterval(timer);
      }, 5);
      `,
      { DIAL9_ENABLED: 'true', DIAL9_TRACE_DIR: dir, DIAL9_MAX_FILE_SIZE_MB: '0.004', DIAL9_MAX_DISK_USAGE_MB: '10' },
    );
    assert.equal(run.code, 0, run.stderr);
    const files = readSegments(dir);
    assert.ok(files.length >= 3, `${files.length} segments`);
    const rows = files.flatMap((f) => eventRows(f.segment, 'requestOpen'));
    assert.equal(rows.length, 2000);
    for (const row of rows) {
      const n = Number(/^id-(\d+)$/.exec(String(row.requestId))?.[1]);
      assert.deepEqual([row.path, row.method, row.operation], [`/r${n}`, 'GET', `Op${n % 3}`], JSON.stringify(row));
    }
  });

  it('keeps two processes on one trace directory apart', async () => {
    const dir = traceDir();
    const source = 'setTimeout(() => {}, 300);';
    const runs = await Promise.all([
      runToEnd(source, { DIAL9_ENABLED: 'true', DIAL9_TRACE_DIR: dir }),
      runToEnd(source, { DIAL9_ENABLED: 'true', DIAL9_TRACE_DIR: dir }),
    ]);
    for (const run of runs) assert.equal(run.code, 0, run.stderr);
    const subdirs = processDirs(dir);
    assert.equal(subdirs.length, 2);
    const pids = subdirs.map((d) => readSegments(d)[0]?.segment.header.process.pid);
    assert.notEqual(pids[0], pids[1]);
    for (const d of subdirs) assert.ok(existsSync(join(d, 'trace.0.bin.gz')));
  });

  it('pins the segments around a trigger so that eviction keeps them', async () => {
    const dir = traceDir();
    const run = await runToEnd(
      `
      const block = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
      setTimeout(() => block(250), 700);
      // Afterwards: enough events to rotate many times and evict old segments.
      const noise = setInterval(() => { for (let i = 0; i < 50; i++) performance.mark('x'); }, 1);
      setTimeout(() => clearInterval(noise), 4000);
      `,
      {
        DIAL9_ENABLED: 'true',
        DIAL9_TRACE_DIR: dir,
        DIAL9_ROTATION_SECS: '0.3',
        // Each segment is its header (the event schema, ~9 KB) and one block: ~11 KB plain, ~2.5 KB
        // gzipped. While one is gzipped the plain file counts too, so ~10 sealed ones fit beside it.
        DIAL9_MAX_DISK_USAGE_MB: '0.04',
        DIAL9_MAX_FILE_SIZE_MB: '0.004',
        DIAL9_TRIGGER_LOOP_DELAY_MS: '200',
      },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /trigger: loop delay/);
    const files = readSegments(dir);
    const pinned = files.filter((f) => f.name.includes('.pinned.'));
    assert.ok(pinned.length >= 1, files.map((f) => f.name).join(' '));
    const index = (name: string) => Number(/^trace\.(\d+)/.exec(name)?.[1]);
    assert.ok(index(files.at(-1)?.name ?? '') > index(pinned.at(-1)?.name ?? '') + 2, 'later segments were written');
    assert.ok(files[0]?.name !== 'trace.0.bin.gz', 'old unpinned segments were evicted');
    const triggers = pinned.flatMap((f) => eventRows(f.segment, 'trigger'));
    assert.equal(triggers.length, 1);
    assert.equal(triggers[0]?.reason, 'loop delay');
    const stalls = pinned.flatMap((f) => eventRows(f.segment, 'stall'));
    assert.ok(
      stalls.some((s) => Number(s.durationUs) >= 240_000),
      `the incident itself is in the pinned segments: ${JSON.stringify(files.map((f) => [f.name, eventRows(f.segment, 'stall'), eventRows(f.segment, 'trigger')]))}`,
    );
  });

  it("never detaches an ArrayBuffer: the program's typed-array code keeps V8's fast path", async () => {
    // V8 prints this flag's line when a thread's first detach takes away the fast path of every
    // typed-array access in it; the recorder used to transfer (detach) each full ring buffer.
    const dir = traceDir();
    const run = await runToEnd(
      `
      const t = setInterval(() => { for (let i = 0; i < 200; i++) setTimeout(() => {}, 0); }, 2);
      setTimeout(() => clearInterval(t), 1500);
      `,
      // A small interval of events per buffer would need a test-only knob; 1.5 s of timers and the
      // 200 ms ship interval send several batches both ways instead.
      { DIAL9_ENABLED: 'true', DIAL9_TRACE_DIR: dir },
      { nodeArgs: ['--trace-protector-invalidation'] },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stdout, /ArrayBufferDetaching/);
    const segment = readSegments(dir)[0]?.segment ?? assert.fail('no segment');
    const blocks = segment.blocks.length;
    assert.ok(blocks >= 4, `${blocks} blocks: batches went to the writer and back`);
    assert.ok(eventRows(segment, 'resources').length >= 10);
  });

  it('starts through the package export service/recorder/register', async () => {
    const dir = traceDir();
    const run = await runToEnd(
      'setTimeout(() => {}, 200);',
      { DIAL9_ENABLED: 'true', DIAL9_TRACE_DIR: dir },
      { register: 'service/recorder/register' },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.equal(readSegments(dir).length, 1);
  });

  it('runs on, with one warning and the default directory, when the trace directory cannot be written', async () => {
    const tmp = traceDir();
    const run = await runToEnd('setTimeout(() => console.log("ran"), 1500);', {
      DIAL9_ENABLED: 'true',
      DIAL9_TRACE_DIR: '/proc/dial9-cannot-write-here',
      TMPDIR: tmp,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'ran\n');
    assert.equal(run.stderr.split('\n').filter((line) => line.includes('"level":"error"')).length, 0, run.stderr);
    const warnings = run.stderr.split('\n').filter((line) => line.includes('"level":"warn"'));
    assert.equal(warnings.length, 1, run.stderr);
    assert.match(warnings[0] ?? '', /DIAL9_TRACE_DIR=\\"\/proc\/dial9-cannot-write-here\\" is not valid/);
    assert.equal(readSegments(join(tmp, 'dial9-traces')).length, 1);
  });

  it('warns about bad values and records nothing when DIAL9_ENABLED is not true', async () => {
    const dir = traceDir();
    const run = await runToEnd('setTimeout(() => console.log("ran"), 50);', {
      DIAL9_ENABLED: 'sure',
      DIAL9_TRACE_DIR: dir,
    });
    assert.equal(run.code, 0);
    assert.equal(run.stdout, 'ran\n');
    assert.match(run.stderr, /DIAL9_ENABLED=\\"sure\\" is not valid/);
    assert.deepEqual(readdirSync(dir), []);
  });
});
