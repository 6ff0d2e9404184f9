import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { call } from '../helpers/http.js';
import { metric } from '../helpers/ndjson.js';

describe('routes: one wide event per request', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(() => app.close());

  test('/health answers ok and emits no record', async () => {
    const before = app.metrics.entries.length;
    const res = await call(`${app.url}/health`);
    assert.equal(res.status, 200);
    assert.equal(res.text, 'ok');
    assert.equal(res.headers['x-request-id'], undefined, '/health is outside the telemetry layer');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(app.metrics.entries.length, before);
  });

  test('PUT then GET an item: SetItem 204 and GetItem 200, one record each', async () => {
    const start = app.requests().length;
    const put = await call(`${app.url}/items/alpha`, { method: 'PUT', body: 'hello wide events' });
    assert.equal(put.status, 204);
    const get = await call(`${app.url}/items/alpha`);
    assert.equal(get.status, 200);
    assert.equal(get.text, 'hello wide events');

    const records = (await app.settledRequests(start + 2)).slice(start);
    assert.equal(records.length, 2);
    const [set, got] = records;
    assert.ok(set && got);
    assert.equal(set.properties?.Operation, 'SetItem');
    assert.equal(set.properties?.StatusCode, '204');
    assert.equal(set.properties?.Path, '/items/alpha');
    assert.equal(set.properties?.RequestId, put.headers['x-request-id']);
    assert.equal(set.properties?.ErrorKind, undefined);
    assert.equal(set.properties?.service_name, 'test-service');
    assert.equal(metric(set, 'PayloadBytes'), 17);
    assert.equal(set.metrics?.PayloadBytes?.unit, 'Bytes');
    assert.equal(metric(set, 'Success'), 1);
    assert.equal(metric(set, 'ClientError'), 0);
    assert.equal(metric(set, 'ServerError'), 0);
    assert.equal(metric(set, 'InFlight'), 1);
    assert.equal(set.metrics?.Duration?.unit, 'Milliseconds');
    assert.ok((metric(set, 'Duration') ?? -1) >= 0);
    assert.equal(metric(set, 'Found'), undefined, 'Found is only set by GetItem');

    assert.equal(got.properties?.Operation, 'GetItem');
    assert.equal(got.properties?.StatusCode, '200');
    assert.equal(metric(got, 'Found'), 1);
    assert.equal(metric(got, 'PayloadBytes'), 17);
    assert.equal(metric(got, 'DownstreamSuccess'), undefined, 'no downstream in memory mode');
    assert.ok(Number.isInteger(got.timestamp) && Math.abs(got.timestamp - Date.now()) < 60000);
  });

  test('GET a missing key: 404, InvalidRequest, ClientError 1, Success 1, Found 0', async () => {
    const start = app.requests().length;
    const res = await call(`${app.url}/items/missing`);
    assert.equal(res.status, 404);
    assert.deepEqual(JSON.parse(res.text), {
      statusCode: 404,
      code: 'SVC_ERR_ITEM_NOT_FOUND',
      error: 'Not Found',
      message: 'no item with key "missing"',
    });
    const [record] = (await app.settledRequests(start + 1)).slice(start);
    assert.ok(record);
    assert.equal(record.properties?.Operation, 'GetItem');
    assert.equal(record.properties?.StatusCode, '404');
    assert.equal(record.properties?.ErrorKind, 'InvalidRequest');
    assert.equal(metric(record, 'ClientError'), 1);
    assert.equal(metric(record, 'ServerError'), 0);
    assert.equal(metric(record, 'Success'), 1);
    assert.equal(metric(record, 'Found'), 0);
  });

  test('keys are taken from the path as sent, percent-decoded', async () => {
    const key = 'a key/with slash';
    const put = await call(`${app.url}/items/${encodeURIComponent(key)}`, { method: 'PUT', body: 'v' });
    assert.equal(put.status, 204);
    const get = await call(`${app.url}/items/${encodeURIComponent(key)}`);
    assert.equal(get.text, 'v');
  });

  test('POST /echo returns the message; Echo 200', async () => {
    const start = app.requests().length;
    const res = await call(`${app.url}/echo`, {
      method: 'POST',
      body: JSON.stringify({ message: 'hi there' }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.text), { message: 'hi there' });
    const [record] = (await app.settledRequests(start + 1)).slice(start);
    assert.equal(record?.properties?.Operation, 'Echo');
    assert.equal(record?.properties?.StatusCode, '200');
    assert.equal(metric(record ?? { timestamp: 0 }, 'PayloadBytes'), 22);
  });

  test('malformed JSON: 400 with a JSON error body, one InvalidRequest record', async () => {
    const start = app.requests().length;
    const res = await call(`${app.url}/echo`, {
      method: 'POST',
      body: '{"message": ',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.status, 400);
    assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
    const body = JSON.parse(res.text) as { code: string; statusCode: number; message: string };
    assert.equal(body.code, 'SVC_ERR_MALFORMED_JSON');
    assert.equal(body.statusCode, 400);
    assert.match(body.message, /^malformed JSON body: /);
    const [record] = (await app.settledRequests(start + 1)).slice(start);
    assert.equal(record?.properties?.StatusCode, '400');
    assert.equal(record?.properties?.ErrorKind, 'InvalidRequest');
  });

  test('echo refuses non-JSON (415) and JSON without a string message (422)', async () => {
    const start = app.requests().length;
    const text = await call(`${app.url}/echo`, {
      method: 'POST',
      body: 'hi',
      headers: { 'content-type': 'text/plain' },
    });
    assert.equal(text.status, 415);
    assert.equal(JSON.parse(text.text).code, 'SVC_ERR_UNSUPPORTED_MEDIA_TYPE');
    const shape = await call(`${app.url}/echo`, {
      method: 'POST',
      body: '{"message": 5}',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(shape.status, 422);
    assert.equal(JSON.parse(shape.text).code, 'SVC_ERR_INVALID_ECHO_BODY');
    const records = (await app.settledRequests(start + 2)).slice(start);
    assert.deepEqual(
      records.map((r) => [r.properties?.StatusCode, r.properties?.ErrorKind]),
      [
        ['415', 'InvalidRequest'],
        ['422', 'InvalidRequest'],
      ],
    );
  });

  test('an unknown route: 404, Operation Other', async () => {
    const start = app.requests().length;
    const res = await call(`${app.url}/nowhere?x=1`, { method: 'DELETE' });
    assert.equal(res.status, 404);
    assert.equal(JSON.parse(res.text).code, 'SVC_ERR_NOT_FOUND');
    const [record] = (await app.settledRequests(start + 1)).slice(start);
    assert.equal(record?.properties?.Operation, 'Other');
    assert.equal(record?.properties?.Path, '/nowhere', 'the query string is not recorded');
    assert.equal(record?.properties?.StatusCode, '404');
    assert.equal(record?.properties?.ErrorKind, 'InvalidRequest');
    assert.equal(metric(record ?? { timestamp: 0 }, 'PayloadBytes'), undefined, 'no handler ran, so no slot');
  });

  test('requests fastify refuses before routing are recorded too: bad URL 400, over-long key 414', async () => {
    const start = app.requests().length;
    const badUrl = await call(`${app.url}/items/%zz`);
    assert.equal(badUrl.status, 400);
    assert.equal(JSON.parse(badUrl.text).code, 'FST_ERR_BAD_URL');
    const longKey = await call(`${app.url}/items/${'k'.repeat(2000)}`);
    assert.equal(longKey.status, 414);
    const records = (await app.settledRequests(start + 2)).slice(start);
    assert.deepEqual(
      records.map((r) => [
        r.properties?.Operation,
        r.properties?.StatusCode,
        r.properties?.ErrorKind,
        metric(r, 'ClientError'),
      ]),
      [
        ['Other', '400', 'InvalidRequest', 1],
        ['Other', '414', 'InvalidRequest', 1],
      ],
    );
    assert.equal(records[0]?.properties?.RequestId, badUrl.headers['x-request-id']);
    assert.equal(records[1]?.properties?.Path?.length, 512, 'paths are cut at 512 characters');
  });

  test('a sane x-request-id is honoured and echoed; an insane one is replaced', async () => {
    const start = app.requests().length;
    const kept = await call(`${app.url}/items/alpha`, { headers: { 'x-request-id': 'req-42.abc' } });
    assert.equal(kept.headers['x-request-id'], 'req-42.abc');
    const replaced = await call(`${app.url}/items/alpha`, { headers: { 'x-request-id': 'has spaces "and quotes"' } });
    const generated = replaced.headers['x-request-id'];
    assert.match(String(generated), /^[0-9a-hjkmnp-tv-z]{13}-[1-9][0-9]*$/);
    const records = (await app.settledRequests(start + 2)).slice(start);
    assert.deepEqual(
      records.map((r) => r.properties?.RequestId),
      ['req-42.abc', generated],
    );
  });
});
