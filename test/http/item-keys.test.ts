/**
 * Item keys on the way to a store: dot segments and the empty key are refused (400, recorded)
 * before any store sees them, keys are percent-encoded on the wire to a downstream, the request
 * id travels with them, and a failed downstream call does not tell the client where it lives.
 */
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { parseLogFilter } from '../../src/log/filter.js';
import { Loggers } from '../../src/log/logger.js';
import { MemorySink } from '../../src/record/index.js';
import { DownstreamStore } from '../../src/store/downstream-store.js';
import type { ItemStore } from '../../src/store/store.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { type FakeDownstream, scriptedDownstream } from '../helpers/fake-downstream.js';
import { call } from '../helpers/http.js';
import { metric } from '../helpers/ndjson.js';
import { openSocket, readUntilClose } from '../helpers/raw-http.js';

interface RawAnswer {
  readonly status: number;
  readonly body: string;
}

/** Sends `target` as written (no client-side URL normalization) on a connection of its own. */
async function rawRequest(url: string, method: string, target: string, body = ''): Promise<RawAnswer> {
  const socket = await openSocket(url);
  const length = body === '' ? '' : `content-length: ${Buffer.byteLength(body)}\r\n`;
  socket.write(`${method} ${target} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n${length}\r\n${body}`);
  const text = await readUntilClose(socket);
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
  return { status, body: text.slice(text.indexOf('\r\n\r\n') + 4) };
}

function downstreamStore(url: string, logs: MemorySink): DownstreamStore {
  const loggers = new Loggers(parseLogFilter('info'), logs, 'test');
  return new DownstreamStore({
    url: new URL(url),
    timeoutMs: 2000,
    maxResponseBytes: 1024 * 1024,
    logger: loggers.for('service:downstream'),
    undiciLogger: loggers.for('undici'),
  });
}

const DOT_TARGETS: ReadonlyArray<[string, string]> = [
  ['GET', '/items/..'],
  ['GET', '/items/%2E%2E'],
  ['GET', '/items/%2e.'],
  ['GET', '/items/.'],
  ['GET', '/items/%2E'],
  ['GET', '/items/'],
  ['PUT', '/items/..'],
  ['PUT', '/items/%2E'],
  ['PUT', '/items/'],
];

describe('item keys: refused before any store, encoded on the wire', () => {
  let downstream: FakeDownstream;
  const seenHeaders: IncomingHttpHeaders[] = [];
  const logs = new MemorySink();
  let store: ItemStore;
  let app: TestApp;
  let memoryApp: TestApp;

  before(async () => {
    downstream = await scriptedDownstream((req, _body, res) => {
      seenHeaders.push(req.headers);
      if (req.method === 'PUT') res.statusCode = 204;
      res.end(req.method === 'GET' ? 'value' : undefined);
    });
    store = downstreamStore(downstream.url, logs);
    app = await startTestApp({ store });
    memoryApp = await startTestApp();
  });
  after(async () => {
    await app.close();
    await memoryApp.close();
    await store.close();
    await downstream.close();
  });

  for (const [name, target] of [
    ['forwarding', () => app],
    ['memory', () => memoryApp],
  ] as const) {
    test(`${name} store: dot segments and the empty key are 400 SVC_ERR_INVALID_KEY, recorded`, async () => {
      const testApp = target();
      const start = testApp.requests().length;
      const before = downstream.requests.length;
      for (const [method, path] of DOT_TARGETS) {
        const answer = await rawRequest(testApp.url, method, path, method === 'PUT' ? 'v' : '');
        assert.equal(answer.status, 400, `${method} ${path}`);
        assert.equal(JSON.parse(answer.body).code, 'SVC_ERR_INVALID_KEY', `${method} ${path}`);
      }
      assert.equal(downstream.requests.length, before, 'nothing reached the downstream');
      const records = (await testApp.settledRequests(start + DOT_TARGETS.length)).slice(start);
      assert.deepEqual(
        records.map((r) => [r.properties?.Operation, r.properties?.StatusCode, r.properties?.ErrorKind]),
        DOT_TARGETS.map(([method]) => [method === 'GET' ? 'GetItem' : 'SetItem', '400', 'InvalidRequest']),
      );
      assert.deepEqual(
        records.map((r) => r.properties?.Path),
        DOT_TARGETS.map(([, path]) => path),
      );
      // A key that merely contains dots is an ordinary key.
      assert.equal((await call(`${testApp.url}/items/...`, { method: 'PUT', body: 'dots' })).status, 204);
      assert.equal((await call(`${testApp.url}/items/a..b`, { method: 'PUT', body: 'dots' })).status, 204);
    });
  }

  test('keys are percent-encoded as one path segment on the wire, and x-request-id goes along', async () => {
    const keys = ['a b', 'a/b', '../up', '?q=1#f', '100%', 'ключ', '...', '.hidden'];
    const before = downstream.requests.length;
    seenHeaders.length = 0;
    for (const key of keys) {
      const res = await call(`${app.url}/items/${encodeURIComponent(key)}`, {
        headers: { 'x-request-id': `id-${keys.indexOf(key)}` },
      });
      assert.equal(res.status, 200, key);
    }
    assert.deepEqual(
      downstream.requests.slice(before).map((r) => r.url),
      keys.map((key) => `/items/${encodeURIComponent(key)}`),
    );
    assert.deepEqual(
      seenHeaders.map((h) => h['x-request-id']),
      keys.map((_key, i) => `id-${i}`),
    );
  });

  test('a generated request id is sent downstream too, the same one the record carries', async () => {
    const start = app.requests().length;
    seenHeaders.length = 0;
    const res = await call(`${app.url}/items/k`, { method: 'PUT', body: 'v' });
    assert.equal(res.status, 204);
    const [record] = (await app.settledRequests(start + 1)).slice(start);
    const id = record?.properties?.RequestId;
    assert.match(String(id), /^[0-9a-hjkmnp-tv-z]{13}-[1-9][0-9]*$/);
    assert.equal(res.headers['x-request-id'], id);
    assert.equal(seenHeaders[0]?.['x-request-id'], id);
  });
});

describe('a failed downstream call: the client gets no internal address', () => {
  test('502 with a generic message and the request id; the detail is in the record and the log', async () => {
    const closed = await scriptedDownstream((_req, _body, res) => res.end());
    const deadUrl = closed.url;
    await closed.close();
    const logs = new MemorySink();
    const store = downstreamStore(deadUrl, logs);
    const app = await startTestApp({ store });
    try {
      const res = await call(`${app.url}/items/k`, { headers: { 'x-request-id': 'trace-502' } });
      assert.equal(res.status, 502);
      const body = JSON.parse(res.text) as { code: string; message: string };
      assert.equal(body.code, 'SVC_ERR_DOWNSTREAM');
      assert.equal(body.message, 'downstream failed (request id trace-502)');
      assert.doesNotMatch(res.text, /127\.0\.0\.1|ECONNREFUSED/);

      const [record] = await app.settledRequests(1);
      assert.equal(record?.properties?.StatusCode, '502');
      assert.equal(record?.properties?.DownstreamErrorKind, 'Connect');
      assert.match(record?.properties?.DownstreamError ?? '', /ECONNREFUSED 127\.0\.0\.1:\d+/);
      assert.equal(metric(record ?? { timestamp: 0 }, 'DownstreamSuccess'), 0);

      const lines = logs.records<{ msg: string; requestId?: string; error?: string; target: string }>();
      const line = lines.find((l) => l.msg === 'downstream call failed');
      assert.ok(line, JSON.stringify(lines));
      assert.equal(line.requestId, 'trace-502');
      assert.equal(line.target, 'service:downstream');
      assert.match(line.error ?? '', /ECONNREFUSED 127\.0\.0\.1:\d+/);
    } finally {
      await app.close();
      await store.close();
    }
  });
});
