import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { describe, test } from 'node:test';
import {
  REQUEST_CLOSED_CHANNEL,
  REQUEST_OPENED_CHANNEL,
  type RequestClosedMessage,
  type RequestOpenedMessage,
} from '../src/request-lifecycle.js';
import { appsClosedAfter } from './helpers/app.js';
import { call } from './helpers/http.js';
import { metric } from './helpers/ndjson.js';
import { openSocket, readUntilClose } from './helpers/raw-http.js';

describe('the request lifecycle on diagnostics_channel', () => {
  const start = appsClosedAfter();

  test('every recorded request is published opened and closed, with the wide event’s values', async () => {
    const app = await start();
    const opened: RequestOpenedMessage[] = [];
    const closed: RequestClosedMessage[] = [];
    const onOpened = (message: unknown) => opened.push(message as RequestOpenedMessage);
    const onClosed = (message: unknown) => closed.push(message as RequestClosedMessage);
    diagnosticsChannel.subscribe(REQUEST_OPENED_CHANNEL, onOpened);
    diagnosticsChannel.subscribe(REQUEST_CLOSED_CHANNEL, onClosed);
    try {
      assert.equal((await call(`${app.url}/items/k`, { method: 'PUT', body: 'v' })).status, 204);
      assert.equal((await call(`${app.url}/items/k?x=1`)).status, 200);
      assert.equal((await call(`${app.url}/nowhere`, { method: 'DELETE' })).status, 404);
      assert.equal((await call(`${app.url}/health`)).status, 200);
      // Refused by Node's parser: recorded by the client-error handler, published all the same.
      const socket = await openSocket(app.url);
      const reply = readUntilClose(socket);
      socket.write('GET /items/k HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n');
      assert.match(await reply, /^HTTP\/1\.1 400 /);
      const records = await app.settledRequests(4);
      // Published synchronously with the record's close: all there once the records are.
      assert.equal(opened.length, 4, 'one opened message per record, none for /health');
      assert.equal(closed.length, 4);

      const methods = ['PUT', 'GET', 'DELETE', 'GET'];
      records.forEach((record, i) => {
        const open = opened[i];
        const close = closed[i];
        const id = record.properties?.RequestId;
        assert.deepEqual(
          { requestId: open?.requestId, operation: open?.operation, method: open?.method, path: open?.path },
          { requestId: id, operation: record.properties?.Operation, method: methods[i], path: record.properties?.Path },
        );
        assert.deepEqual(
          {
            requestId: close?.requestId,
            operation: close?.operation,
            statusCode: close?.statusCode,
            durationMs: close?.durationMs,
            errorKind: close?.errorKind,
          },
          {
            requestId: id,
            operation: record.properties?.Operation,
            statusCode: Number(record.properties?.StatusCode),
            durationMs: metric(record, 'Duration'),
            errorKind: record.properties?.ErrorKind,
          },
        );
        assert.ok(typeof open?.startMs === 'number' && typeof close?.endMs === 'number');
        // Generated ids also come as their number (what the flight recorder keeps), the same in both.
        assert.ok(Number(open?.requestIdNumber) > 0, `${id} is generated`);
        assert.equal(`${open?.requestIdPrefix}${open?.requestIdNumber}`, id);
        assert.equal(close?.requestIdNumber, open?.requestIdNumber);
        assert.ok((close?.endMs ?? 0) >= (open?.startMs ?? Number.POSITIVE_INFINITY));
      });
      assert.deepEqual(
        records.map((r) => [r.properties?.Operation, r.properties?.StatusCode]),
        [
          ['SetItem', '204'],
          ['GetItem', '200'],
          ['Other', '404'],
          ['Other', '400'],
        ],
      );

      // An id the client chose has no number: observers use the text.
      const given = await call(`${app.url}/items/k`, { headers: { 'x-request-id': 'client-7' } });
      assert.equal(given.status, 200);
      await app.settledRequests(5);
      assert.deepEqual(
        [opened[4]?.requestId, opened[4]?.requestIdNumber, opened[4]?.requestIdPrefix, closed[4]?.requestIdNumber],
        ['client-7', 0, '', 0],
      );
    } finally {
      diagnosticsChannel.unsubscribe(REQUEST_OPENED_CHANNEL, onOpened);
      diagnosticsChannel.unsubscribe(REQUEST_CLOSED_CHANNEL, onClosed);
    }
  });
});
