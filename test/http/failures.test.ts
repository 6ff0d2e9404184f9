import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HttpError } from '../../src/errors.js';
import type { ItemStore, StoreContext } from '../../src/store/store.js';
import { appsClosedAfter } from '../helpers/app.js';
import { call } from '../helpers/http.js';
import { metric } from '../helpers/ndjson.js';
import { openSocket, readUntilClose } from '../helpers/raw-http.js';
import { waitFor } from '../helpers/wait.js';

/** A store whose behaviour each test scripts. */
class ScriptedStore implements ItemStore {
  onGet: (key: string, context: StoreContext) => Promise<string | undefined> = async () => 'value';
  get(key: string, context: StoreContext) {
    return this.onGet(key, context);
  }
  async set(): Promise<void> {}
  async close(): Promise<void> {}
}

describe('every outcome is recorded exactly once', () => {
  const start = appsClosedAfter();

  test('a handler that throws: 500 Internal, recorded, and the process keeps serving', async () => {
    const store = new ScriptedStore();
    const app = await start({ store });
    store.onGet = async () => {
      throw new Error('boom: store exploded');
    };
    const crashed = await call(`${app.url}/items/x`);
    assert.equal(crashed.status, 500);
    assert.deepEqual(JSON.parse(crashed.text), {
      statusCode: 500,
      code: 'SVC_ERR_INTERNAL',
      error: 'Internal Server Error',
      message: 'internal error',
    });
    // A synchronous throw, not only a rejected promise.
    store.onGet = () => {
      throw new TypeError('sync boom');
    };
    assert.equal((await call(`${app.url}/items/y`)).status, 500);
    store.onGet = async () => 'fine';
    const ok = await call(`${app.url}/items/z`);
    assert.equal(ok.status, 200);

    const records = await app.settledRequests(3);
    assert.deepEqual(
      records.map((r) => [
        r.properties?.StatusCode,
        r.properties?.ErrorKind,
        metric(r, 'Success'),
        metric(r, 'ServerError'),
      ]),
      [
        ['500', 'Internal', 0, 1],
        ['500', 'Internal', 0, 1],
        ['200', undefined, 1, 0],
      ],
    );
    const logged = app.logs.records<{ level: string; msg: string; err?: { message: string } }>();
    assert.ok(logged.some((line) => line.level === 'error' && line.err?.message === 'boom: store exploded'));
  });

  test('a body over the limit: 413, recorded (declared length and streamed)', async () => {
    const app = await start({ bodyLimitBytes: 1024 });
    const declared = await call(`${app.url}/items/big`, { method: 'PUT', body: Buffer.alloc(2048, 97) });
    assert.equal(declared.status, 413);
    assert.equal(JSON.parse(declared.text).code, 'SVC_ERR_BODY_TOO_LARGE');

    // Chunked: no content-length, so the limit must trip while reading.
    const socket = await openSocket(app.url);
    const reply = readUntilClose(socket);
    socket.write('PUT /items/big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
    socket.write(`800\r\n${'b'.repeat(2048)}\r\n`);
    const raw = await reply;
    assert.match(raw, /^HTTP\/1\.1 413 /);

    const records = await app.settledRequests(2);
    assert.deepEqual(
      records.map((r) => [r.properties?.Operation, r.properties?.StatusCode, r.properties?.ErrorKind]),
      [
        ['SetItem', '413', 'InvalidRequest'],
        ['SetItem', '413', 'InvalidRequest'],
      ],
    );
  });

  test('a body that stops arriving: 408 Timeout after the body timeout, connection closed', async () => {
    const app = await start({ bodyTimeoutMs: 200 });
    const socket = await openSocket(app.url);
    const reply = readUntilClose(socket);
    const started = Date.now();
    socket.write('PUT /items/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly part');
    const raw = await reply;
    const elapsed = Date.now() - started;
    assert.match(raw, /^HTTP\/1\.1 408 /);
    assert.match(raw, /SVC_ERR_BODY_TIMEOUT/);
    assert.match(raw, /connection: close/i);
    assert.ok(elapsed >= 180 && elapsed < 3000, `answered after ${elapsed} ms`);
    const [record] = await app.settledRequests(1);
    assert.equal(record?.properties?.StatusCode, '408');
    assert.equal(record?.properties?.ErrorKind, 'Timeout');
    assert.equal(metric(record ?? { timestamp: 0 }, 'ClientError'), 1);
  });

  test('a handler that takes too long: 408 Timeout, and its late slot changes nothing', async () => {
    const store = new ScriptedStore();
    const app = await start({ store, requestTimeoutMs: 200 });
    let aborted: unknown;
    let lateWrite: (() => void) | undefined;
    store.onGet = (_key, context) =>
      new Promise((resolve) => {
        context.signal.addEventListener('abort', () => (aborted = context.signal.reason));
        lateWrite = () => {
          context.metrics.DownstreamError = 'written after the record closed';
          resolve('too late');
        };
      });
    const res = await call(`${app.url}/items/slow`);
    assert.equal(res.status, 408);
    assert.equal(JSON.parse(res.text).code, 'SVC_ERR_REQUEST_TIMEOUT');
    assert.ok(aborted instanceof HttpError, 'the handler was told to stop');
    const [record] = await app.settledRequests(1);
    lateWrite?.();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(app.requests().length, 1, 'still exactly one record');
    assert.equal(record?.properties?.StatusCode, '408');
    assert.equal(record?.properties?.ErrorKind, 'Timeout');
    assert.equal(record?.properties?.DownstreamError, undefined);
    assert.ok((metric(record ?? { timestamp: 0 }, 'Duration') ?? 0) >= 180);
  });

  test('a client that disconnects mid-body: one record, 499 ClientClosed', async () => {
    const app = await start();
    const socket = await openSocket(app.url);
    socket.write('PUT /items/gone HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nfirst bytes');
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.destroy();
    const [record] = await app.settledRequests(1);
    assert.equal(record?.properties?.Operation, 'SetItem');
    assert.equal(record?.properties?.StatusCode, '499');
    assert.equal(record?.properties?.ErrorKind, 'ClientClosed');
    assert.equal(metric(record ?? { timestamp: 0 }, 'ClientError'), 1);
    assert.equal(metric(record ?? { timestamp: 0 }, 'Success'), 1);
  });

  test('a client that disconnects while the handler works: one record, the handler is aborted', async () => {
    const store = new ScriptedStore();
    const app = await start({ store });
    let abortedWith: unknown;
    store.onGet = (_key, context) =>
      new Promise((_resolve, reject) => {
        context.signal.addEventListener('abort', () => {
          abortedWith = context.signal.reason;
          reject(new Error('aborted'));
        });
      });
    const socket = await openSocket(app.url);
    socket.write('GET /items/wait HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor('the handler to start', () => (app.app.recorder.inFlight === 1 ? true : undefined));
    socket.destroy();
    const [record] = await app.settledRequests(1);
    assert.equal(record?.properties?.StatusCode, '499');
    assert.equal(record?.properties?.ErrorKind, 'ClientClosed');
    assert.ok(abortedWith instanceof Error);
    assert.equal(app.app.recorder.inFlight, 0);
  });

  test('InFlight counts concurrent requests', async () => {
    const store = new ScriptedStore();
    const app = await start({ store });
    const release: Array<() => void> = [];
    store.onGet = () => new Promise((resolve) => release.push(() => resolve('v')));
    const pending = [1, 2, 3].map((i) => call(`${app.url}/items/k${i}`));
    await waitFor('three requests in flight', () => (release.length === 3 ? true : undefined));
    assert.equal(app.app.recorder.inFlight, 3);
    for (const go of release) go();
    await Promise.all(pending);
    const records = await app.settledRequests(3);
    assert.deepEqual(records.map((r) => metric(r, 'InFlight')).sort(), [1, 2, 3]);
  });

  test('a downstream error thrown by the store keeps its status: 502 Downstream, 504 Timeout', async () => {
    const store = new ScriptedStore();
    const app = await start({ store });
    store.onGet = async () => {
      throw new HttpError(502, 'SVC_ERR_DOWNSTREAM', 'downstream failed: connect ECONNREFUSED');
    };
    const bad = await call(`${app.url}/items/a`);
    assert.equal(bad.status, 502);
    store.onGet = async () => {
      throw new HttpError(504, 'SVC_ERR_DOWNSTREAM_TIMEOUT', 'downstream timed out');
    };
    const slow = await call(`${app.url}/items/b`);
    assert.equal(slow.status, 504);
    const records = await app.settledRequests(2);
    assert.deepEqual(
      records.map((r) => [r.properties?.StatusCode, r.properties?.ErrorKind, metric(r, 'Success')]),
      [
        ['502', 'Downstream', 0],
        ['504', 'Timeout', 0],
      ],
    );
  });
});
