/**
 * Two real processes: a backing instance (items in memory, metrics on stdout) and a forwarding
 * instance (--downstream-url to the first, --telemetry-dir), driven over loopback HTTP.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { scriptedDownstream, silentDownstream } from '../helpers/fake-downstream.js';
import { call } from '../helpers/http.js';
import { isRequestRecord, type MetricLine, metric, parseLines, readRotated } from '../helpers/ndjson.js';
import { type ServiceProcess, startService, stopAll } from '../helpers/service-process.js';
import { waitFor } from '../helpers/wait.js';

describe('forwarding to a downstream instance', () => {
  const dir = mkdtempSync(join(tmpdir(), 'service-e2e-'));
  let backing: ServiceProcess;
  let forwarding: ServiceProcess;

  before(async () => {
    backing = await startService(['--service-name', 'backing']);
    forwarding = await startService([
      '--downstream-url',
      backing.url,
      '--telemetry-dir',
      dir,
      '--service-name',
      'forwarding',
      '--log-filter',
      'info,service=debug,undici=debug',
    ]);
  });
  after(async () => {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  const forwardedRecords = () => readRotated<MetricLine>(dir, 'metrics.log').filter(isRequestRecord);

  test('PUT then GET through both instances; files appear and parse', async () => {
    const put = await call(`${forwarding.url}/items/${encodeURIComponent('k 1')}`, {
      method: 'PUT',
      body: 'through two hops',
    });
    assert.equal(put.status, 204);
    const get = await call(`${forwarding.url}/items/${encodeURIComponent('k 1')}`);
    assert.equal(get.status, 200);
    assert.equal(get.text, 'through two hops');
    const missing = await call(`${forwarding.url}/items/nope`);
    assert.equal(missing.status, 404);

    const records = await waitFor('3 forwarded records', () => {
      const found = forwardedRecords();
      return found.length >= 3 ? found : undefined;
    });
    assert.deepEqual(
      records.map((r) => [
        r.properties?.Operation,
        r.properties?.StatusCode,
        metric(r, 'DownstreamSuccess'),
        metric(r, 'Found'),
      ]),
      [
        ['SetItem', '204', 1, undefined],
        ['GetItem', '200', 1, 1],
        ['GetItem', '404', 1, 0],
      ],
    );
    for (const r of records) {
      assert.equal(r.properties?.service_name, 'forwarding');
      assert.ok((metric(r, 'DownstreamDuration') ?? -1) > 0);
      assert.equal(r.metrics?.DownstreamDuration?.unit, 'Milliseconds');
    }

    // The backing instance saw the same three requests, with the key percent-encoded on the wire.
    const backingRecords = await waitFor('3 backing records', () => {
      const found = parseLines<MetricLine>(backing.stdout()).filter(isRequestRecord);
      return found.length >= 3 ? found : undefined;
    });
    assert.deepEqual(
      backingRecords.map((r) => [r.properties?.Operation, r.properties?.Path, r.properties?.StatusCode]),
      [
        ['SetItem', '/items/k%201', '204'],
        ['GetItem', '/items/k%201', '200'],
        ['GetItem', '/items/nope', '404'],
      ],
    );

    // Logs go to application.log, not stderr; stderr only says where things are. The log writer
    // never blocks, so on a busy machine its lines reach the file a moment after the requests.
    const logs = await waitFor('the start-up lines in application.log', () => {
      const lines = parseLines<{ msg: string; target: string; level: string }>(
        readFileSync(join(dir, 'application.log'), 'utf8'),
      );
      return lines.some((l) => l.msg.startsWith('listening on http://127.0.0.1:') && l.target === 'service')
        ? lines
        : undefined;
    });
    assert.ok(logs.some((l) => l.msg === 'downstream health probe passed'));
    assert.ok(
      logs.some((l) => l.target === 'undici' && l.msg === 'connected'),
      'undici=debug lets connection events through',
    );
    const stderr = parseLines<{ msg: string }>(forwarding.stderr());
    assert.equal(stderr.length, 1);
    assert.match(stderr[0]?.msg ?? '', new RegExp(`metrics to ${dir}/metrics.log`));
  });

  test('default output: metrics on stdout and logs on stderr, never mixed', async () => {
    const stdout = parseLines<MetricLine & { level?: string }>(backing.stdout());
    const stderr = parseLines<{ level?: string; msg?: string }>(backing.stderr());
    assert.ok(stdout.length >= 3);
    for (const line of stdout) {
      assert.equal(line.level, undefined);
      assert.equal(typeof line.timestamp, 'number');
    }
    for (const line of stderr) assert.equal(typeof line.level, 'string');
  });

  test('a stopped downstream: 502 with DownstreamErrorKind Connect', async () => {
    assert.equal(await backing.stop(), 0);
    const start = forwardedRecords().length;
    const res = await call(`${forwarding.url}/items/k`);
    assert.equal(res.status, 502);
    assert.equal(JSON.parse(res.text).code, 'SVC_ERR_DOWNSTREAM');
    const [record] = await waitFor('the 502 record', () => {
      const found = forwardedRecords().slice(start);
      return found.length >= 1 ? found : undefined;
    });
    assert.equal(record?.properties?.StatusCode, '502');
    assert.equal(record?.properties?.ErrorKind, 'Downstream');
    assert.equal(record?.properties?.DownstreamErrorKind, 'Connect');
    assert.match(record?.properties?.DownstreamError ?? '', /ECONNREFUSED/);
    assert.equal(metric(record ?? { timestamp: 0 }, 'DownstreamSuccess'), 0);
    assert.equal(metric(record ?? { timestamp: 0 }, 'Success'), 0);
  });
});

describe('downstream failure modes', () => {
  after(stopAll);

  test('a downstream that never answers: 504 Timeout after about 5 s', async () => {
    const silent = await silentDownstream();
    const service = await startService(['--downstream-url', silent.url]);
    try {
      const started = Date.now();
      const res = await call(`${service.url}/items/k`);
      const elapsed = Date.now() - started;
      assert.equal(res.status, 504);
      assert.equal(JSON.parse(res.text).code, 'SVC_ERR_DOWNSTREAM_TIMEOUT');
      assert.ok(elapsed >= 4900 && elapsed < 9000, `answered after ${elapsed} ms`);
      const [record] = await waitFor('the 504 record', () => {
        const found = parseLines<MetricLine>(service.stdout()).filter(isRequestRecord);
        return found.length >= 1 ? found : undefined;
      });
      assert.equal(record?.properties?.StatusCode, '504');
      assert.equal(record?.properties?.ErrorKind, 'Timeout');
      assert.equal(record?.properties?.DownstreamErrorKind, 'Timeout');
      const downstreamMs = metric(record ?? { timestamp: 0 }, 'DownstreamDuration') ?? 0;
      assert.ok(downstreamMs >= 4900 && downstreamMs < 9000, `DownstreamDuration ${downstreamMs}`);
    } finally {
      await service.stop();
      await silent.close();
    }
  });

  test('503 is retried twice: success on the third attempt, 502 when all three fail', async () => {
    let failuresLeft = 2;
    const flaky = await scriptedDownstream((req, _body, res) => {
      if (req.url === '/health') return void res.end('ok');
      if (req.url?.startsWith('/items/always') || failuresLeft-- > 0) {
        res.statusCode = 503;
        return void res.end('busy');
      }
      res.end('value');
    });
    const service = await startService(['--downstream-url', `${flaky.url}/`]);
    try {
      const ok = await call(`${service.url}/items/sometimes`);
      assert.equal(ok.status, 200);
      assert.equal(ok.text, 'value');
      const bad = await call(`${service.url}/items/always`);
      assert.equal(bad.status, 502);
      const items = flaky.requests.filter((r) => r.url.startsWith('/items/'));
      assert.deepEqual(
        items.map((r) => r.url),
        ['/items/sometimes', '/items/sometimes', '/items/sometimes', '/items/always', '/items/always', '/items/always'],
      );
      const records = await waitFor('two records', () => {
        const found = parseLines<MetricLine>(service.stdout()).filter(isRequestRecord);
        return found.length >= 2 ? found : undefined;
      });
      assert.equal(metric(records[0] ?? { timestamp: 0 }, 'DownstreamSuccess'), 1);
      assert.equal(records[1]?.properties?.DownstreamErrorKind, 'Status');
      assert.equal(records[1]?.properties?.DownstreamError, 'unexpected status 503 after 3 attempts');
    } finally {
      await service.stop();
      await flaky.close();
    }
  });

  test('a failing startup probe only warns; the service still starts', async () => {
    const service = await startService(['--downstream-url', 'http://127.0.0.1:9']);
    try {
      await waitFor('the probe warning', () =>
        parseLines<{ msg?: string; level?: string }>(service.stderr()).find(
          (l) => l.msg === 'downstream health probe failed' && l.level === 'warn',
        ),
      );
      assert.equal((await call(`${service.url}/health`)).status, 200);
    } finally {
      assert.equal(await service.stop(), 0);
    }
  });
});
