/** `service load` as a user runs it, against a counting server (and against `service run`). */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { type AddressInfo, createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Summary } from '../../src/load/summary.js';
import { call } from '../helpers/http.js';
import { isRequestRecord, type MetricLine, parseLines } from '../helpers/ndjson.js';
import { BIN, type RunResult, runCli, startService, stopAll } from '../helpers/service-process.js';
import { waitFor } from '../helpers/wait.js';

const SERVER = fileURLToPath(new URL('../fixtures/counting-server.js', import.meta.url));

interface Counts {
  total: number;
  byMethod: Record<string, number>;
  byPath: Record<string, number>;
}

/** A loopback port nothing listens on: bound by the kernel's choice, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

type Report = Summary & { thresholds: Array<{ condition: string; failed: boolean }>; failed: boolean };

describe('service load', () => {
  let server: ChildProcess;
  let url = '';
  before(async () => {
    server = spawn(process.execPath, [SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    server.stdout?.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    url = await waitFor('the counting server', () => out.match(/^(http:\S+)\n/)?.[1]);
  });
  after(async () => {
    server.kill('SIGTERM');
    await stopAll();
  });

  const counts = async (): Promise<Counts> => JSON.parse((await call(`${url}/__counts`)).text) as Counts;
  const load = async (args: string[]): Promise<{ result: RunResult; report: Report }> => {
    const result = await runCli(['load', ...args, '--json'], {}, 60000);
    return { result, report: JSON.parse(result.stdout) as Report };
  };

  test('closed model: the server counted exactly what the generator reports', async () => {
    const before = (await counts()).total;
    const { result, report } = await load([`${url}/a`, '-c', '8', '-n', '3000']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(report.model, 'closed');
    assert.equal(report.sent, 3000);
    assert.equal(report.completed, 3000);
    assert.equal(report.responses2xx, 3000);
    assert.equal(report.transportErrors, 0);
    assert.deepEqual(report.statusCodes, { '200': 3000 });
    assert.equal((await counts()).total - before, report.sent);
    assert.ok(report.latencyMs.p50 > 0 && report.latencyMs.p50 <= report.latencyMs.p99);
    assert.ok(report.latencyMs.p99 <= report.latencyMs['p99.9'] && report.latencyMs['p99.9'] <= report.latencyMs.max);
    assert.equal(
      report.histogram.reduce((n, b) => n + b.count, 0),
      3000,
    );
  });

  // Bounds below hold on a busy 2-core machine (CI): the schedule's invariants are exact, timings generous.
  test('open model: the rate holds, and the server counts agree', async () => {
    const before = (await counts()).total;
    const { report } = await load([`${url}/rate`, '--rate', '400', '-d', '3s', '-c', '10']);
    assert.equal(report.model, 'open');
    assert.equal(report.sent, 1200, 'a fixed schedule sends rate × duration');
    assert.ok(
      Math.abs((report.schedule?.achievedRps ?? 0) - 400) / 400 < 0.1,
      `achieved ${report.schedule?.achievedRps}/s`,
    );
    assert.equal((await counts()).total - before, report.sent);
    // Lateness is the machine's as much as the generator's; a generator that batched its sends (or
    // fell behind for good) would be late by tens to hundreds of ms on most requests, not on a few.
    const late = report.schedule?.lateMs ?? { p50: 999, p99: 999, max: 999 };
    assert.ok(late.p50 <= late.p99 && late.p99 <= late.max, JSON.stringify(late));
    assert.ok(late.p50 < 50 && late.p99 < 250, `the generator kept its schedule: late ${JSON.stringify(late)} ms`);
  });

  test('open model: a 300 ms stall shows in p99 from intended send times; the naive service time misses it', async () => {
    const sentBefore = (await counts()).byPath['/stall'] ?? 0;
    const run = load([`${url}/stall`, '--rate', '500', '-d', '3s', '-c', '4']);
    // Stall once the generator is half a second into its schedule, whatever its start-up took on this
    // machine: the stall then falls well inside the 3 s run.
    await waitFor('the generator sending', async () =>
      ((await counts()).byPath['/stall'] ?? 0) - sentBefore >= 250 ? true : undefined,
    );
    await call(`${url}/__stall?ms=300`, { method: 'POST' });
    const { report } = await run;
    assert.ok(report.latencyMs.p99 >= 250, `corrected p99 ${report.latencyMs.p99} ms`);
    const naiveP99 = report.serviceTimeMs?.p99 ?? 999;
    assert.ok(naiveP99 < report.latencyMs.p99 / 2, `naive p99 ${naiveP99} ms, corrected ${report.latencyMs.p99} ms`);
    // The stalled requests waited for a connection here; timed from their sending, they would look fast.
    assert.ok((report.schedule?.waitedForConnection ?? 0) > 50, `${report.schedule?.waitedForConnection} waited`);
    assert.equal(report.transportErrors, 0);
  });

  test('--mix sends GETs and PUTs in the requested ratio over the key space', async () => {
    const before = await counts();
    const { report } = await load([
      `${url}/svc`,
      '--mix',
      'get=9,put=1',
      '--keys',
      '50',
      '--key-dist',
      'zipf',
      '--seed',
      '7',
      '-n',
      '5000',
      '-c',
      '8',
    ]);
    const after = await counts();
    const gets = (after.byMethod.GET ?? 0) - (before.byMethod.GET ?? 0);
    const puts = (after.byMethod.PUT ?? 0) - (before.byMethod.PUT ?? 0);
    assert.equal(gets + puts, 5000);
    assert.ok(Math.abs(puts / 5000 - 0.1) < 0.02, `${puts} PUTs in 5000`);
    const keyCounts = Object.entries(after.byPath)
      .filter(([path]) => path.startsWith('/svc/items/key-'))
      .map(([path, n]) => [path, n - (before.byPath[path] ?? 0)] as const);
    assert.ok(keyCounts.length <= 50);
    const hottest = keyCounts.find(([path]) => path === '/svc/items/key-0')?.[1] ?? 0;
    assert.ok(hottest / 5000 > 0.15, `zipf: key-0 got ${hottest} of 5000`);
    assert.match(report.workload, /^items mix get=9,put=1 over 50 keys \(zipf 1\)/);
  });

  test('nothing answered (a closed port): exit 1 with one line on stderr, after the report (text and --json)', async () => {
    const target = `http://127.0.0.1:${await closedPort()}/health`;
    const json = await load([target, '-c', '2', '-n', '20']);
    assert.equal(json.result.code, 1);
    assert.equal(
      json.result.stderr,
      `Error: no response from ${target}: 20 requests sent, none answered (20 connect); is the target up and the URL right?\n`,
    );
    assert.equal(json.report.sent, 20);
    assert.equal(json.report.completed, 0);
    assert.equal(json.report.responses2xx, 0);
    assert.equal(json.report.errors.connect, 20);
    const text = await runCli(['load', target, '-c', '2', '-n', '20'], {}, 60000);
    assert.equal(text.code, 1);
    assert.equal(text.stderr, json.result.stderr);
    assert.match(text.stdout, /Requests {4}20 sent, 0 answered \(0 2xx\), 20 failed without an answer/);
    assert.match(text.stdout, /\[connect\] 20/);
  });

  test('errors are counted by kind, never thrown: refused connections and timeouts', async () => {
    const refused = await load([`http://127.0.0.1:${await closedPort()}/`, '-c', '2', '-n', '20']);
    assert.equal(refused.result.code, 1, 'nothing answered');
    assert.equal(refused.report.errors.connect, 20);
    assert.equal(refused.report.completed, 0);
    const hung = await load([`${url}/hang`, '-c', '3', '-n', '3', '--timeout', '300ms']);
    assert.equal(hung.report.errors.timeout, 3);
    // 300 ms, not the 10 s default; the upper bound leaves a busy machine room.
    assert.ok(hung.report.elapsedMs >= 290 && hung.report.elapsedMs < 5000, `${hung.report.elapsedMs} ms`);
    const notFound = await load([`${url}/missing`, '-n', '10', '-c', '1']);
    assert.equal(notFound.result.code, 0, 'answers, even 404s, are not "nothing answered"');
    assert.deepEqual(notFound.report.statusCodes, { '404': 10 });
    assert.equal(notFound.report.non2xx, 10);
    assert.equal(notFound.report.completed, 10, 'responses received...');
    assert.equal(notFound.report.responses2xx, 0, '...none of them 2xx');
    assert.equal(notFound.report.failures, 0, '4xx are answers, not failures');
  });

  test('--fail-on sets the exit code; the text report says which condition failed', async () => {
    const failing = await runCli(['load', `${url}/t`, '-n', '200', '--fail-on', 'p50>0.001ms,errors>1%'], {}, 60000);
    assert.equal(failing.code, 1);
    assert.match(failing.stdout, /FAIL {2}p50>0\.001ms \(actual [\d.]+ ms\)/);
    assert.match(failing.stdout, /pass {2}errors>1% \(actual 0\.00%\)/);
    const passing = await load([`${url}/t`, '-n', '200', '--fail-on', 'p99>10s,non2xx>0']);
    assert.equal(passing.result.code, 0);
    assert.equal(passing.report.failed, false);
  });

  test('the text report has totals, percentiles, a histogram and status codes; no progress line off a terminal', async () => {
    const result = await runCli(['load', `${url}/text`, '-n', '500', '-c', '4'], {}, 60000);
    assert.equal(result.code, 0);
    for (const part of ['Summary', 'Throughput', 'p99.9', 'Latency histogram', '[200] 500 responses']) {
      assert.ok(result.stdout.includes(part), `missing ${part}`);
    }
    assert.equal(result.stderr, '', 'stderr is not a terminal, so no progress line');
  });

  test('on a terminal, a progress line updates in place every second', async () => {
    // util-linux `script` (always on Debian) runs the command on a pseudo-terminal, as a shell would.
    const output = execFileSync(
      'script',
      ['-qec', `${process.execPath} ${BIN} load ${url}/tty -d 3500ms -c 4`, '/dev/null'],
      {
        encoding: 'utf8',
        timeout: 30000,
      },
    );
    const updates = output.match(/\r\[ +\d+\.\d s\] +[\d,]+ req\/s \| [\d,]+ done \| 0 errors \| p99 [\d.]+ ms/g) ?? [];
    assert.ok(updates.length >= 2, `progress updates: ${JSON.stringify(output.slice(0, 300))}`);
    assert.match(output, /Summary/);
  });

  const bad: Array<[string, string[], string]> = [
    [
      'a URL that is not http',
      ['ftp://x/'],
      'Error: invalid URL "ftp://x/": expected an absolute http:// or https:// URL, e.g. http://127.0.0.1:3000/health',
    ],
    [
      'a negative rate',
      ['--rate=-5', '-d', '1s'],
      'Error: invalid value "-5" for --rate (LOAD_RATE): expected requests a second, a number above 0 and at most 1000000',
    ],
    [
      'a rate with no duration',
      ['--rate', '100'],
      'Error: invalid value "100" for --rate (LOAD_RATE): an open-model run needs an end: add --duration (e.g. 30s) or --requests',
    ],
    [
      'an unknown mix op',
      ['--mix', 'get=9,delete=1'],
      'Error: invalid value "get=9,delete=1" for --mix (LOAD_MIX): unknown op "delete"; expected op=weight pairs such as get=9,put=1, with ops from get, put, echo',
    ],
    [
      'a bad duration',
      ['-d', 'soon'],
      'Error: invalid value "soon" for --duration (LOAD_DURATION): expected a duration such as 10s, 500ms or 2m (from 1ms to 24h)',
    ],
    [
      'an unknown HTTP client',
      ['--http-client', 'curl'],
      'Error: invalid value "curl" for --http-client (LOAD_HTTP_CLIENT): expected one of auto, builtin, undici',
    ],
    [
      'the builtin client with https',
      ['https://127.0.0.1:1/', '--http-client', 'builtin'],
      'Error: invalid value "builtin" for --http-client (LOAD_HTTP_CLIENT): the builtin client speaks plain http://; use undici (or auto) for https://',
    ],
    [
      'a header value that cannot be sent as latin-1',
      ['-H', 'x-name: \u0141ukasz'],
      'Error: invalid value "x-name: \u0141ukasz" for --header: expected a value of printable latin-1 characters',
    ],
    [
      'a bad threshold',
      ['--fail-on', 'p99>fast'],
      'Error: invalid value "p99>fast" for --fail-on (LOAD_FAIL_ON): cannot read "p99>fast"; expected <metric><op><value> with metric one of p50 p90 p99 p99.9 max mean errors non2xx rps, op one of > >= < <=, e.g. p99>200ms',
    ],
  ];
  for (const [name, args, message] of bad) {
    test(`bad input: ${name}`, async () => {
      const result = await runCli(['load', ...args]);
      assert.equal(result.code, 2);
      assert.equal(result.stderr, `${message}\n`);
    });
  }
});

describe('service load against service run', () => {
  after(stopAll);

  for (const client of ['builtin', 'undici']) {
    test(`the number of RequestMetrics records equals the generator total (${client} client)`, async () => {
      const service = await startService(['--runtime-metrics-interval-ms', '0']);
      const result = await runCli(
        [
          'load',
          service.url,
          '--mix',
          'get=6,put=3,echo=1',
          '--keys',
          '200',
          '-n',
          '4000',
          '-c',
          '16',
          '-p',
          '2',
          '--http-client',
          client,
          '--json',
        ],
        {},
        60000,
      );
      const report = JSON.parse(result.stdout) as Report;
      assert.equal(report.transportErrors, 0);
      assert.equal(await service.stop(), 0);
      const records = parseLines<MetricLine>(service.stdout()).filter(isRequestRecord);
      assert.equal(records.length, report.sent);
      assert.equal(report.sent, 4000);
      const statuses = new Map<string, number>();
      for (const r of records)
        statuses.set(r.properties?.StatusCode ?? '', (statuses.get(r.properties?.StatusCode ?? '') ?? 0) + 1);
      assert.deepEqual(Object.fromEntries(statuses), report.statusCodes, 'the service recorded what the generator saw');
    });
  }
});
