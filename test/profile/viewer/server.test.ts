/**
 * `service profile serve`'s server: loopback by default, read-only, and nothing outside the given
 * directories ever leaves it (`..`, encoded, double-encoded, backslashes, NUL, absolute paths,
 * symlinks out), checked with raw request paths that no client normalises first.
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../../helpers/service-process.js';
import { runProgram, tempDir } from '../trace-files.js';
import { killViewers, startViewer, type ViewerProcess } from './viewer-process.js';

const SECRET = 'TOP-SECRET-7f3a';

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request whose path goes on the wire exactly as written. */
function raw(base: string, path: string, method = 'GET', headers: Record<string, string> = {}): Promise<RawAnswer> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port: Number(port), path, method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const dirs: string[] = [];
let viewer: ViewerProcess;
let root: string;

before(async () => {
  root = tempDir('viewer-server');
  dirs.push(root);
  writeFileSync(join(root, 'secret.txt'), `${SECRET}\n`);
  const served = join(root, 'served');
  const traces = join(served, 'traces');
  mkdirSync(join(traces, 'proc.1.20261130T000000Z'), { recursive: true });
  writeFileSync(join(traces, 'proc.1.20261130T000000Z', 'trace.0.bin'), 'segment bytes\n');
  mkdirSync(join(served, 'captures'), { recursive: true });
  // Ways out through the file system: a file and a directory symlinked from inside to outside.
  symlinkSync(join(root, 'secret.txt'), join(traces, 'proc.1.20261130T000000Z', 'trace.1.bin'));
  symlinkSync(root, join(traces, 'out'));
  viewer = await startViewer([traces, '--port', '0', '--capture-dir', join(served, 'captures')]);
});

after(async () => {
  await viewer?.stop();
  killViewers();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('profile serve: what it serves', () => {
  it('listens on loopback by default and says where', () => {
    assert.match(viewer.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.doesNotMatch(viewer.stderr(), /warning/);
  });

  it('serves a file under the trace directory, and HEAD without a body', async () => {
    const get = await raw(viewer.url, '/files/traces/proc.1.20261130T000000Z/trace.0.bin');
    assert.equal(get.status, 200);
    assert.equal(get.body, 'segment bytes\n');
    assert.equal(get.headers['x-content-type-options'], 'nosniff');
    const head = await raw(viewer.url, '/files/traces/proc.1.20261130T000000Z/trace.0.bin', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], '14');
    assert.equal(head.body, '');
  });

  it('answers 404 to every way out of the directories, and never with the file', async () => {
    const attempts = [
      '/files/traces/../../secret.txt',
      '/files/traces/../../../secret.txt',
      '/files/traces/%2e%2e/%2e%2e/secret.txt',
      '/files/traces/%2E%2E/%2E%2E/secret.txt',
      '/files/traces/..%2f..%2fsecret.txt',
      '/files/traces/..%2F..%2Fsecret.txt',
      '/files/traces/%252e%252e/%252e%252e/secret.txt',
      '/files/traces/%252e%252e%252f%252e%252e%252fsecret.txt',
      '/files/traces/..%5c..%5csecret.txt',
      '/files/traces/..\\..\\secret.txt',
      '/files/traces/proc.1.20261130T000000Z/trace.1.bin',
      '/files/traces/out/secret.txt',
      '/files/traces/out/served/traces/out/secret.txt',
      `/files/traces/%2F${encodeURIComponent(join(root, 'secret.txt').slice(1))}`,
      `/files/${encodeURIComponent(join(root, 'secret.txt'))}`,
      `/files/traces/${join(root, 'secret.txt')}`,
      '/files/traces//etc/passwd',
      '/files/traces/proc.1.20261130T000000Z/trace.0.bin%00.txt',
      '/files/traces/%00',
      '/files/traces/%',
      '/files/traces/%zz',
      '/files/captures/../traces/../../secret.txt',
      '/files/metrics/..%2f..%2fsecret.txt',
      '/app/../../../package.json',
      '/app/%2e%2e/%2e%2e/%2e%2e/package.json',
      '/speedscope/../../../../package.json',
      '/speedscope/%2e%2e/%2e%2e/%2e%2e/%2e%2e/package.json',
      '/files/traces/out',
      '/files/traces',
      `/api/wide-event?metrics=${encodeURIComponent('traces/out/secret.txt')}&requestId=${SECRET}`,
      `/api/wide-event?metrics=${encodeURIComponent('traces/../../secret.txt')}&requestId=${SECRET}`,
      '/api/analysis?trace=traces%2Fout',
      '/api/analysis?trace=traces%2F..%2F..',
      '/api/explain?trace=traces%2Fout&requestId=x',
      '/api/headers?trace=traces%2Fout&segments=secret.txt',
      '/api/headers?trace=traces%2Fproc.1.20261130T000000Z&segments=..%2F..%2F..%2Fsecret.txt',
      '/api/headers?trace=traces%2Fproc.1.20261130T000000Z&segments=trace.1.bin',
      '/etc/passwd',
    ];
    for (const path of attempts) {
      const answer = await raw(viewer.url, path);
      assert.equal(answer.status, 404, `${path} → ${answer.status}`);
      assert.ok(!answer.body.includes(SECRET), `${path} leaked the file`);
      assert.ok(!answer.body.includes('root:'), `${path} leaked /etc/passwd`);
    }
  });

  it('is read-only: other methods get 405 with Allow', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const answer = await raw(viewer.url, '/files/traces/proc.1.20261130T000000Z/trace.0.bin', method);
      assert.equal(answer.status, 405, method);
      assert.equal(answer.headers.allow, 'GET, HEAD');
    }
  });

  it('answers to localhost names only while on loopback (no DNS rebinding)', async () => {
    const rebound = await raw(viewer.url, '/api/catalog', 'GET', { host: 'attacker.example:80' });
    assert.equal(rebound.status, 403);
    const local = await raw(viewer.url, '/api/catalog', 'GET', { host: 'localhost' });
    assert.equal(local.status, 200);
  });
});

describe('profile serve: options', () => {
  it('warns when told to listen beyond loopback', async () => {
    const dir = tempDir('viewer-host');
    dirs.push(dir);
    const open = await startViewer([dir, '--port', '0', '--host', '0.0.0.0', '--capture-dir', dir]);
    try {
      assert.match(open.url, /^http:\/\/0\.0\.0\.0:\d+\/$/);
      assert.match(open.stderr(), /^warning: listening on 0\.0\.0\.0, not loopback/m);
      // Not loopback: any Host is answered (it is reached by a LAN name or address).
      const answer = await raw(open.url.replace('0.0.0.0', '127.0.0.1'), '/api/catalog', 'GET', { host: 'box.lan' });
      assert.equal(answer.status, 200);
    } finally {
      await open.stop();
    }
  });

  it('rejects bad values in one line with exit 2', async () => {
    const dir = tempDir('viewer-flags');
    dirs.push(dir);
    writeFileSync(join(dir, 'file.txt'), 'x');
    const cases: Array<[string[], RegExp]> = [
      [['--port', '70000'], /^Error: invalid value "70000" for --port \(VIEWER_PORT\): expected an integer port/],
      [['--port', 'abc'], /--port \(VIEWER_PORT\)/],
      [['--host', 'not a host!'], /^Error: invalid value "not a host!" for --host \(VIEWER_HOST\)/],
      [['--metrics', join(dir, 'missing.log')], /--metrics \(VIEWER_METRICS\): expected an existing metrics.log file/],
      [['--capture-dir', join(dir, 'file.txt')], /--capture-dir \(CAPTURE_DIR\): expected a directory, found a file/],
      [[join(dir, 'file.txt')], /--trace-dir \(DIAL9_TRACE_DIR\): expected a directory, found a file/],
      [['--bogus'], /^Error: Nonexistent flag: --bogus/],
    ];
    for (const [args, expected] of cases) {
      const result = await runCli(['profile', 'serve', ...args]);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      const lines = result.stderr.trim().split('\n');
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0] ?? '', expected);
    }
  });
});

describe('profile serve: catalog', () => {
  it('lists a recorded trace directory: service, pid, segments and sizes', async () => {
    const traceDir = tempDir('viewer-catalog');
    dirs.push(traceDir);
    const run = runProgram('setTimeout(() => {}, 200);', { DIAL9_ENABLED: 'true', DIAL9_TRACE_DIR: traceDir });
    assert.equal((await run.exited).code, 0, run.stderr());
    const own = await startViewer([traceDir, '--port', '0', '--capture-dir', traceDir]);
    try {
      const answer = await raw(own.url, '/api/catalog');
      assert.equal(answer.status, 200);
      const catalog = JSON.parse(answer.body) as {
        traces: {
          id: string;
          service: string;
          pid: number;
          segments: { name: string; bytes: number; url: string; sealed: boolean }[];
        }[];
        captures: unknown[];
      };
      assert.equal(catalog.traces.length, 1);
      const trace = catalog.traces[0];
      assert.ok(trace);
      assert.equal(trace.pid, run.child.pid);
      assert.equal(trace.service, 'service');
      assert.deepEqual(
        trace.segments.map((s) => [s.name, s.sealed]),
        [['trace.0.bin.gz', true]],
      );
      const segment = await raw(own.url, trace.segments[0]?.url ?? '');
      assert.equal(segment.status, 200);
      assert.equal(Number(segment.headers['content-length']), trace.segments[0]?.bytes);
      assert.deepEqual(catalog.captures, []);
    } finally {
      await own.stop();
    }
  });
});
