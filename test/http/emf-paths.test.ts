/**
 * Strict EMF holds for every record the service emits, on every route and error path: nothing the
 * service itself writes is refused, and every line passes the specification-based validator.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HttpError } from '../../src/errors.js';
import type { ItemStore, StoreContext } from '../../src/store/store.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { assertValidEmf } from '../helpers/emf-validator.js';
import { call } from '../helpers/http.js';
import { openSocket, readUntilClose } from '../helpers/raw-http.js';

class PathStore implements ItemStore {
  #items = new Map<string, string>();
  async get(key: string, context: StoreContext): Promise<string | undefined> {
    if (key === 'crash') throw new Error('boom');
    if (key === 'bad-gateway') {
      context.metrics.DownstreamSuccess = false;
      context.metrics.DownstreamErrorKind = 'Connect';
      context.metrics.DownstreamError = 'connect ECONNREFUSED';
      throw new HttpError(502, 'SVC_ERR_DOWNSTREAM', 'downstream failed');
    }
    if (key === 'gateway-timeout') throw new HttpError(504, 'SVC_ERR_DOWNSTREAM_TIMEOUT', 'downstream timed out');
    if (key === 'slow') return new Promise(() => {});
    return this.#items.get(key);
  }
  async set(key: string, value: string): Promise<void> {
    this.#items.set(key, value);
  }
  async close(): Promise<void> {}
}

describe('EMF, strict, on every path', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp({
      store: new PathStore(),
      bodyLimitBytes: 1024,
      bodyTimeoutMs: 150,
      requestTimeoutMs: 300,
      metrics: {
        format: 'emf',
        emf: {
          namespace: 'PathTest',
          dimensions: [['Operation'], ['Operation', 'StatusCode'], ['service_name']],
          logGroupName: undefined,
          validation: 'strict',
        },
      },
    });
  });
  after(() => app.close());

  test('success, client errors, server errors, timeouts and a client that leaves: all valid, none refused', async () => {
    const json = { 'content-type': 'application/json' };
    const statuses = [
      (await call(`${app.url}/items/a`, { method: 'PUT', body: 'x' })).status,
      (await call(`${app.url}/items/a`)).status,
      (await call(`${app.url}/items/missing`)).status,
      (await call(`${app.url}/echo`, { method: 'POST', body: '{"message":"m"}', headers: json })).status,
      (await call(`${app.url}/echo`, { method: 'POST', body: '{bad', headers: json })).status,
      (await call(`${app.url}/echo`, { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } })).status,
      (await call(`${app.url}/echo`, { method: 'POST', body: '{"message":1}', headers: json })).status,
      (await call(`${app.url}/nowhere`)).status,
      (await call(`${app.url}/items/%zz`)).status,
      (await call(`${app.url}/items/${'k'.repeat(1100)}`)).status,
      (await call(`${app.url}/items/big`, { method: 'PUT', body: 'x'.repeat(2000) })).status,
      (await call(`${app.url}/items/crash`)).status,
      (await call(`${app.url}/items/bad-gateway`)).status,
      (await call(`${app.url}/items/gateway-timeout`)).status,
      (await call(`${app.url}/items/slow`)).status,
    ];
    assert.deepEqual(statuses, [204, 200, 404, 200, 400, 415, 422, 404, 400, 414, 413, 500, 502, 504, 408]);

    // A body that stalls (408), and a client that leaves mid-body (499).
    const stalled = await openSocket(app.url);
    const stalledReply = readUntilClose(stalled);
    stalled.write('PUT /items/s HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\npart');
    assert.match(await stalledReply, /^HTTP\/1\.1 408 /);
    const leaving = await openSocket(app.url);
    leaving.write('PUT /items/l HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\npart');
    await new Promise((resolve) => setTimeout(resolve, 50));
    leaving.destroy();

    const records = await app.settledRequests(17);
    assert.deepEqual(app.telemetry.stats().metricsInvalid, 0, 'strict validation refused none of our records');
    for (const entry of app.metrics.entries) assertValidEmf(entry);
    const byStatus = records.map((r) => (r as unknown as Record<string, string>).StatusCode).sort();
    assert.deepEqual(byStatus, [
      '200',
      '200',
      '204',
      '400',
      '400',
      '404',
      '404',
      '408',
      '408',
      '413',
      '414',
      '415',
      '422',
      '499',
      '500',
      '502',
      '504',
    ]);
    const bad = records.find(
      (r) => (r as unknown as Record<string, unknown>).StatusCode === '502',
    ) as unknown as Record<string, unknown>;
    assert.equal(bad.DownstreamErrorKind, 'Connect');
    assert.equal(bad.DownstreamSuccess, 0);
  });

  test('a record strict validation refuses is dropped, counted, and logged at most once a second', async () => {
    const strict = await startTestApp({
      metrics: {
        format: 'emf',
        emf: {
          namespace: 'T',
          dimensions: [['Operation', 'ErrorKind']],
          logGroupName: undefined,
          validation: 'strict',
        },
      },
    });
    try {
      // Successful requests have no ErrorKind, so this dimension set cannot be satisfied.
      for (let i = 0; i < 20; i++)
        assert.equal((await call(`${strict.url}/items/k`, { method: 'PUT', body: 'v' })).status, 204);
      assert.equal((await call(`${strict.url}/items/missing`)).status, 404, 'the service itself is unaffected');
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(strict.telemetry.stats().metricsInvalid, 20);
      assert.equal(strict.metrics.entries.length, 1, 'only the 404, which has an ErrorKind, was written');
      const warnings = strict.logs
        .records<{ level: string; msg: string; record?: string; error?: string }>()
        .filter((l) => l.msg === 'dropped an invalid RequestMetrics record');
      assert.equal(warnings.length, 1, 'rate-limited to one line a second');
      assert.equal(warnings[0]?.level, 'error');
      assert.equal(warnings[0]?.record, 'RequestMetrics');
      assert.equal(warnings[0]?.error, 'RequestMetrics: dimension ErrorKind is missing');
    } finally {
      await strict.close();
    }
  });
});
